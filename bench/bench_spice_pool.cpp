// WorkerPool throughput (target: 2 workers >= 1.6x the throughput of 1 worker on 2 cores).
// A batch of 40 transient netlists: a 16-row resistor ladder with per-row RC loads and
// a 16-column resistive mesh under it, driven by a PWL ramp, a few hundred time steps.
// Baselines measured in the same run: the in-process NgspiceSession, and 1 worker.
// Usage: build/bench/bench_spice_pool [netlists] [repeats]
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bench_common.hpp"
#include "nladc/spice/ngspice.hpp"

using namespace nladc;
using namespace nladc::spice;

namespace {

/// 16 rows x 16 columns: a ladder down the rows, a mesh along each row, RC to ground.
std::string mesh_netlist(int variant)
{
    const int rows = 16, cols = 16;
    std::string n = fmt::format("ladder mesh {}\nVin in 0 PWL(0 0 2u {} 4u {})\nRs in r0c0 50\n", variant,
                                1.0 + 0.05 * variant, 0.2 + 0.01 * variant);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const std::string node = fmt::format("r{}c{}", r, c);
            if (c + 1 < cols) n += fmt::format("Rh{}_{} {} r{}c{} {}\n", r, c, node, r, c + 1, 500 + 13 * ((r + c + variant) % 7));
            if (c == 0 && r + 1 < rows) n += fmt::format("Rv{} {} r{}c0 {}\n", r, node, r + 1, 1000 + 17 * ((r + variant) % 5));
            n += fmt::format("Rg{}_{} {} 0 {}\nCg{}_{} {} 0 {}f\n", r, c, node, 50000 + 100 * c, r, c, node, 50 + r + c);
        }
    n += ".tran 10n 4u 0 10n\n.end\n";
    return n;
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
    std::vector<SimulationRequest> batch;
    for (int i = 0; i < count; ++i) {
        SimulationRequest r;
        r.netlist = mesh_netlist(i);
        r.vectors = {"time", "v(r15c15)", "v(r8c8)", "i(vin)"};
        batch.push_back(std::move(r));
    }

    fmt::print("{} transient netlists (16x16 RC ladder mesh, 400 steps); {} hardware threads; median of {} interleaved runs\n", count,
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
