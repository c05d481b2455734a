// WorkerPool throughput (target: 2 workers >= 1.6x the throughput of 1 worker on 2 cores).
// A batch of 40 full NL-ADC conversions: the 3-bit example design of netlists/ on a
// 32-row array (1T1R cells, integrators, transistor-level StrongARM), at 40 MAC values.
// Baselines measured in the same run: the in-process NgspiceSession, and 1 worker.
// Usage: build/bench/bench_spice_pool [netlists] [repeats]
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bench_common.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/spice/netlist.hpp"
#include "nladc/spice/ngspice.hpp"

using namespace nladc;
using namespace nladc::spice;

namespace {

/// One conversion netlist of the small example design per MAC value.
std::vector<SimulationRequest> conversion_batch(int count)
{
    const ReplicaDesign example =
        io::read_design(std::filesystem::path(NLADC_SOURCE_DIR) / "netlists" / "bskmq3_design.json").design;
    Technology tech = example.tech;
    tech.array.rows = 32;
    tech.sense.capacitance_F = 0.0;
    const ReplicaDesign design = map_levels(example.levels, tech, {});
    const SpiceChip chip = nominal_spice_chip(design, design.tech);
    std::vector<SimulationRequest> batch;
    for (int i = 0; i < count; ++i) {
        NetlistOptions options;
        options.mac_value = 6.0 * (i + 0.5) / count;
        const Netlist net = generate_netlist(design, design.tech, chip, options);
        batch.push_back({net.text, net.vectors, 600.0});
    }
    return batch;
}

/// A fixed amount of pure arithmetic on `threads` threads: measures how much parallelism
/// the machine gives right now (a shared or throttled VM may give far less than 2x).
void burn(int threads)
{
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([] {
            double x = 0;
            for (long i = 1; i <= 60'000'000; ++i) x += 1.0 / static_cast<double>(i);
            bench::keep(x);
        });
    for (auto& t : pool) t.join();
}

bool identical(const SimulationResult& a, const SimulationResult& b)
{
    if (a.vectors.size() != b.vectors.size()) return false;
    for (const auto& [name, v] : a.vectors) {
        const auto it = b.vectors.find(name);
        if (it == b.vectors.end() || it->second.size() != v.size()) return false;
        if (v.size() && std::memcmp(v.data(), it->second.data(), sizeof(double) * static_cast<std::size_t>(v.size())) != 0)
            return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv)
{
    const int count = argc > 1 ? std::atoi(argv[1]) : 40;
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
    const std::vector<SimulationRequest> batch = conversion_batch(count);

    fmt::print("{} full NL-ADC conversions (3-bit, 32 rows, StrongARM); {} hardware threads; median of {} interleaved runs\n", count,
               std::thread::hardware_concurrency(), repeats);

    // Reference results (and warm-up) from the in-process session.
    std::vector<SimulationResult> reference;
    NgspiceSession session;
    for (const auto& r : batch) reference.push_back(session.run(r));
    double steps = 0;
    for (const auto& r : reference) steps += static_cast<double>(r.vectors.at("time").size());

    // Pool start-up (ngspice load) is excluded; each pool runs the batch once to warm up.
    WorkerPool pool1(1), pool2(2);
    pool1.run_batch(batch);
    pool2.run_batch(batch);
    bool all_identical = true;
    auto run_pool = [&](WorkerPool& pool) {
        const auto out = pool.run_batch(batch);
        for (std::size_t i = 0; i < out.size(); ++i)
            if (!out[i].ok || !identical(out[i].result, reference[i])) all_identical = false;
    };
    // The three runners alternate within each repeat, so that a load change on a shared
    // machine hits them alike; medians per runner.
    std::vector<double> times_session, times_pool1, times_pool2, times_burn1, times_burn2;
    for (int k = 0; k < repeats; ++k) {
        times_burn1.push_back(bench::median_seconds(1, [] { burn(1); }));
        times_burn2.push_back(bench::median_seconds(1, [] { burn(2); }));
        times_session.push_back(bench::median_seconds(1, [&] {
            for (const auto& r : batch) bench::keep(session.run(r));
        }));
        times_pool1.push_back(bench::median_seconds(1, [&] { run_pool(pool1); }));
        times_pool2.push_back(bench::median_seconds(1, [&] { run_pool(pool2); }));
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double t_session = median(times_session), t_pool1 = median(times_pool1), t_pool2 = median(times_pool2);
    const bool same1 = all_identical, same2 = all_identical;

    fmt::print("mean time points per netlist: {:.0f}\n", steps / count);
    fmt::print("{:<34} {:>10} {:>14} {:>16}\n", "runner", "batch ms", "ms / netlist", "netlists / s");
    auto row = [&](const char* name, double t) {
        fmt::print("{:<34} {:>10.1f} {:>14.2f} {:>16.1f}\n", name, t * 1e3, t * 1e3 / count, count / t);
    };
    row("in-process NgspiceSession", t_session);
    row("WorkerPool, 1 worker", t_pool1);
    row("WorkerPool, 2 workers", t_pool2);
    fmt::print("pool overhead, 1 worker vs in-process: {:.2f}x\n", t_pool1 / t_session);
    fmt::print("throughput ratio, 2 workers / 1 worker: {:.2f}x (target >= 1.6x on 2 cores)\n", t_pool1 / t_pool2);
    fmt::print("machine's parallelism now (same arithmetic on 2 threads vs 1, x2 work): {:.2f}x\n",
               2 * median(times_burn1) / median(times_burn2));
    fmt::print("pool results bit-identical to in-process: {}\n", same1 && same2 ? "yes" : "NO");
    return same1 && same2 ? 0 : 1;
}
