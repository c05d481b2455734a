// Level-design speed (issue: BS-KMQ fit <= 10x a plain summation pass).
// 1e7 float32 samples of the reference ReLU+clamp mix, at 4 and 6 bits.
// Usage: build/bench/bench_levels [samples]
#include <fmt/format.h>

#include <cstdlib>
#include <span>

#include "bench_common.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/quant/clustering.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/study/level_design.hpp"

using namespace nladc;

int main(int argc, char** argv)
{
    const std::uint64_t samples = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000000;
    SyntheticSpec spec;
    spec.samples = samples;
    const std::vector<float> data = generate_synthetic(spec);
    const std::span<const float> x(data);
    const int repeats = 7;

    // The memory-bound reference: one plain pass summing the array.
    const double t_sum = bench::median_seconds(repeats, [&] {
        double sum = 0;
        for (float v : x) sum += v;
        bench::keep(sum);
    });
    fmt::print("{} float32 samples (ReLU+clamp mix, lo = 0, hi = 6); median of {} runs\n", samples, repeats);
    fmt::print("{:<44} {:>10} {:>10}\n", "stage", "ms", "/ sum");
    fmt::print("{:<44} {:>10.2f} {:>10.2f}\n", "plain summation pass (baseline)", t_sum * 1e3, 1.0);

    for (int bits : {4, 6}) {
        const std::size_t bins = default_histogram_bins(bits);
        SampleSummary summary = [&] {
            HistogramBuilder builder(0.0, 6.0, 0.0, 6.0, bins);
            builder.add(x);
            return builder.finish();
        }();
        const double t_hist = bench::median_seconds(repeats, [&] {
            HistogramBuilder builder(0.0, 6.0, 0.0, 6.0, bins);
            builder.add(x);
            bench::keep(builder);
        });
        const double t_dp = bench::median_seconds(repeats, [&] {
            bench::keep(optimal_partition(summary, std::size_t{1} << bits));
        });
        QuantizerOptions options;
        options.bits = bits;
        options.method = "bs-kmq";
        SummaryOptions range;
        range.lo = 0.0;
        range.hi = 6.0;
        const double t_fit = bench::median_seconds(repeats, [&] { bench::keep(fit_in_memory(x, options, range)); });
        fmt::print("{} bits ({} histogram bins)\n", bits, bins);
        fmt::print("{:<44} {:>10.2f} {:>10.2f}\n", "  histogram pass", t_hist * 1e3, t_hist / t_sum);
        fmt::print("{:<44} {:>10.2f} {:>10.2f}\n", "  exact k-means DP on the histogram", t_dp * 1e3, t_dp / t_sum);
        fmt::print("{:<44} {:>10.2f} {:>10.2f}\n", "  whole BS-KMQ fit (range, histogram, DP, refine)", t_fit * 1e3,
                   t_fit / t_sum);
    }
    return 0;
}
