// Monte Carlo speed: 1e5 trials of the default 4-bit design with ideal wires, each with
// the full per-trial work (draw, transition levels, INL/DNL, effective MSE, trim),
// through the same block runner as `nladc mc`, then 2e4 trials of the default study
// (1 ohm wires, the active array). Targets (docs/performance.md): ideal wires <= 3 s of
// compute for 1e5 trials on 2 cores; default wires >= 5000 trials/s with the results
// written. Reported: trials per second with 1 and 2 threads (the scaling), and the ratio
// to the bare nominal transition-level search (the baseline: the one step every trial
// cannot avoid), all measured in this run.
// Usage: build/bench/bench_mc [ideal-wire trials] [default-wire trials]
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "bench_common.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/json.hpp"
#include "nladc/montecarlo/engine.hpp"

using namespace nladc;
namespace fs = std::filesystem;

namespace {

/// Wall seconds of running every block (and, with `merge`, writing trials.csv and summary.json).
double run_study(const MonteCarlo& engine, const fs::path& dir, int threads, bool merge)
{
    fs::remove_all(dir);
    RunOptions options;
    options.threads = threads;
    const auto start = std::chrono::steady_clock::now();
    const RunOutcome outcome = run_blocks(engine, dir, options);
    if (merge) merge_blocks({dir}, dir);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!outcome.complete) throw std::runtime_error("study incomplete");
    return seconds;
}

}  // namespace

int main(int argc, char** argv)
{
    const int trials = argc > 1 ? std::atoi(argv[1]) : 100000;
    const int wire_trials = argc > 2 ? std::atoi(argv[2]) : 20000;
    const fs::path scratch = fs::temp_directory_path() / fmt::format("nladc-bench-mc-{}", ::getpid());
    fs::create_directories(scratch);
    Technology tech;
    tech.array.wire_resistance_ohm = 0.0;
    io::write_file_atomic(scratch / "tech.json", io::dump_json(io::technology_to_json(tech)));

    StudySpec spec;
    spec.technology = (scratch / "tech.json").string();
    spec.trials = trials;
    const MonteCarlo engine(load_study_inputs(spec));
    StudySpec small_spec = spec;
    small_spec.trials = std::max(1000, trials / 5);
    const MonteCarlo small_engine(load_study_inputs(small_spec));

    const int bisections = 2000;
    const double lsb = engine.inputs().design.levels.lsb();
    const double t_bisection = bench::median_seconds(3, [&] {
        for (int i = 0; i < bisections; ++i) bench::keep(engine.nominal().transition_levels(lsb * 1e-6));
    }) / bisections;

    // Scaling on the same trials, blocks only; the target run includes writing the results.
    // Each twice, keeping the faster: the first pass also warms caches and the allocator.
    const auto best_of_two = [&](int threads) {
        return std::min(run_study(small_engine, scratch / "small", threads, false),
                        run_study(small_engine, scratch / "small", threads, false)) /
               small_spec.trials;
    };
    const double t_one = best_of_two(1);
    const double t_two_small = best_of_two(2);
    const double compute_two = run_study(engine, scratch / "two", 2, false);
    const double wall_two = run_study(engine, scratch / "two", 2, true);

    // The default study: the default technology's 1 ohm wires and active array.
    StudySpec wire_spec;
    wire_spec.trials = wire_trials;
    const MonteCarlo wire_engine(load_study_inputs(wire_spec));
    const double t_wire_bisection = bench::median_seconds(3, [&] {
        for (int i = 0; i < 20; ++i) bench::keep(wire_engine.nominal().with_chip(draw_chip(wire_engine.inputs(), 0)).transition_levels(lsb * 1e-6));
    }) / 20;
    const double wire_wall = run_study(wire_engine, scratch / "wires", 2, true);
    fs::remove_all(scratch);

    fmt::print("Monte Carlo, default 4-bit BS-KMQ design, ideal wires, default variation and trim\n");
    fmt::print("{:<44} {:>12} {:>12}\n", "path", "trials/s", "x bisection");
    fmt::print("{:<44} {:>12.0f} {:>12.2f}\n", "nominal bisection only (baseline)", 1 / t_bisection, 1.0);
    fmt::print("{:<44} {:>12.0f} {:>12.2f}\n", fmt::format("full trial, 1 thread ({} trials)", small_spec.trials),
               1 / t_one, t_one / t_bisection);
    fmt::print("{:<44} {:>12.0f} {:>12.2f}\n", fmt::format("full trial, 2 threads ({} trials)", small_spec.trials),
               1 / t_two_small, t_two_small / t_bisection);
    fmt::print("1 -> 2 thread scaling: {:.2f}x\n", t_one / t_two_small);
    fmt::print("{} trials on 2 threads: compute {:.2f} s (target <= 3 s: {}), results written {:.2f} s\n", trials,
               compute_two, compute_two <= 3.0 ? "met" : "MISSED", wall_two);
    fmt::print("\nMonte Carlo, the default study (1 ohm wires, active array), default variation and trim\n");
    fmt::print("{:<44} {:>12} {:>12}\n", "path", "trials/s", "x ideal");
    fmt::print("{:<44} {:>12.0f} {:>12.2f}\n", "one chip built, transition levels", 1 / t_wire_bisection,
               t_wire_bisection / t_bisection);
    fmt::print("{:<44} {:>12.0f} {:>12.2f}\n", fmt::format("full trial, 2 threads, written ({} trials)", wire_trials),
               wire_trials / wire_wall, (wire_wall / wire_trials) / (wall_two / trials));
    fmt::print("{} trials on 2 threads, results written: {:.2f} s = {:.0f} trials/s (target >= 5000: {})\n", wire_trials,
               wire_wall, wire_trials / wire_wall, wire_trials / wire_wall >= 5000 ? "met" : "MISSED");
    return 0;
}
