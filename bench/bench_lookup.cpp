// Threshold lookup speed (quant/lookup.hpp), the hot path of an NL-ADC layer in a network:
// 10^8 float32 values through a 4-bit level set (15 thresholds) into float32 output levels,
// on 1 and 2 threads. Target (issue 16): >= 2e8 values/s on 2 cores. Baseline measured in
// the same run: copying the same 10^8 floats (memcpy, the memory-bound floor any
// elementwise layer pays) and the scalar binary search of LevelSet::quantize on one thread.
// Usage: build/bench/bench_lookup [values]
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_common.hpp"
#include "nladc/core/random.hpp"
#include "nladc/quant/levelset.hpp"
#include "nladc/quant/lookup.hpp"

using namespace nladc;

int main(int argc, char** argv)
{
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000'000;
    const LevelSet set = bench::example_levels();
    const LookupTable table{set.thresholds, set.levels};

    std::vector<float> values(n), out(n);
    RandomStream random(1, 0);
    for (auto& v : values) v = static_cast<float>(7.0 * random.uniform() - 0.5);

    const double t_copy = bench::median_seconds(5, [&] {
        std::memcpy(out.data(), values.data(), n * sizeof(float));
        bench::keep(out);
    });
    const std::size_t scalar_n = n / 10;
    const double t_scalar = bench::median_seconds(3, [&] {
        for (std::size_t i = 0; i < scalar_n; ++i) out[i] = static_cast<float>(set.quantize(values[i]));
        bench::keep(out);
    }) * 10;
    double t_threads[3] = {0, 0, 0};
    for (int threads : {1, 2}) {
        t_threads[threads] = bench::median_seconds(5, [&] {
            if (lookup_levels(values, table, out, threads) >= 0) std::abort();
            bench::keep(out);
        });
    }
    // Correctness on the way: the lookup's levels are LevelSet::quantize's.
    for (std::size_t i = 0; i < n; i += 9973)
        if (out[i] != static_cast<float>(set.quantize(values[i]))) {
            fmt::print(stderr, "mismatch at {}\n", i);
            return 1;
        }

    auto rate = [&](double seconds) { return static_cast<double>(n) / seconds; };
    fmt::print("threshold lookup, {:.0e} float32 values, 4 bits (15 thresholds) -> float32 levels\n",
               static_cast<double>(n));
    fmt::print("  baseline memcpy            {:8.3f} s  {:.3g} values/s\n", t_copy, rate(t_copy));
    fmt::print("  baseline scalar search, 1T {:8.3f} s  {:.3g} values/s\n", t_scalar, rate(t_scalar));
    fmt::print("  lookup, 1 thread           {:8.3f} s  {:.3g} values/s  ({:.2f}x memcpy time, {:.1f}x faster than scalar)\n",
               t_threads[1], rate(t_threads[1]), t_threads[1] / t_copy, t_scalar / t_threads[1]);
    fmt::print("  lookup, 2 threads          {:8.3f} s  {:.3g} values/s  ({:.2f}x memcpy time, {:.2f}x the 1-thread rate)\n",
               t_threads[2], rate(t_threads[2]), t_threads[2] / t_copy, t_threads[1] / t_threads[2]);
    fmt::print("  target >= 2e8 values/s on 2 cores: {}\n", rate(t_threads[2]) >= 2e8 ? "met" : "MISSED");
    return 0;
}
