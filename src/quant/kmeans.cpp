// k-means quantizers, BRIEF §3: the exact 1-D dynamic program over the summary's
// atoms, and the literature-style k-means++ + Lloyd baseline.
#include <algorithm>

#include "methods.hpp"
#include "nladc/quant/clustering.hpp"

namespace nladc::detail {

std::vector<double> fill_levels(std::vector<double> levels, std::size_t count, double lo, double hi)
{
    std::sort(levels.begin(), levels.end());
    while (levels.size() < count) {
        // Candidate gaps: between consecutive levels, and from the range ends.
        double best_width = -1.0, best_value = 0.0;
        auto consider = [&](double a, double b) {
            if (b - a > best_width) {
                best_width = b - a;
                best_value = 0.5 * (a + b);
            }
        };
        if (levels.empty()) {
            consider(lo, hi);
        } else {
            if (lo < levels.front()) consider(lo - (levels.front() - lo), levels.front());
            for (std::size_t k = 0; k + 1 < levels.size(); ++k) consider(levels[k], levels[k + 1]);
            if (hi > levels.back()) consider(levels.back(), hi + (hi - levels.back()));
        }
        if (best_width <= 0) {
            // All levels coincide and the range is empty: spread by the value's ulp scale.
            const double base = levels.empty() ? lo : levels.back();
            best_value = base + std::max(1.0, std::abs(base)) * 1e-9 * static_cast<double>(levels.size());
        }
        levels.insert(std::upper_bound(levels.begin(), levels.end(), best_value), best_value);
    }
    return levels;
}

std::vector<double> kmeans_levels(const SampleSummary& summary, std::size_t clusters, LevelSet& set)
{
    const std::size_t atoms = summary.size();
    if (clusters >= atoms) {
        // Every distinct value is a level; the remaining levels are never used.
        std::vector<double> levels;
        for (std::size_t i = 0; i < atoms; ++i) levels.push_back(summary.value(i));
        set.parameters.emplace_back("solver_exact_dp", 1.0);
        return fill_levels(std::move(levels), clusters, summary.lo(), summary.hi());
    }
    if (clusters * atoms <= kMaxDpCells) {
        set.parameters.emplace_back("solver_exact_dp", 1.0);
        return group_means(summary, optimal_partition(summary, clusters));
    }
    // Above the DP budget (beyond ~8 bits): Lloyd iteration to convergence from uniform levels.
    std::vector<double> start;
    const double step = (summary.hi() - summary.lo()) / static_cast<double>(clusters - 1);
    for (std::size_t k = 0; k < clusters; ++k) start.push_back(summary.lo() + static_cast<double>(k) * step);
    const LloydResult result = lloyd_refine(summary, std::move(start), LloydStop{});
    set.parameters.emplace_back("solver_exact_dp", 0.0);
    set.parameters.emplace_back("lloyd_iterations", result.iterations);
    return result.levels;
}

namespace {

class KMeans final : public Quantizer {
public:
    std::string_view method() const override { return "kmeans"; }
    std::vector<std::string_view> variants() const override { return {"exact", "lloyd++"}; }

    LevelSet fit(const SampleSummary& summary, const QuantizerOptions& options) const override
    {
        const std::size_t count = std::size_t{1} << options.bits;
        LevelSet set;
        if (options.variant == "lloyd++") {
            if (count > summary.size()) {
                set.levels = kmeans_levels(summary, count, set);
            } else {
                LloydStop stop;
                stop.max_iterations = options.kmeans_literature_max_iterations;
                stop.relative_sse_tolerance = 0.0;
                stop.shift_tolerance = options.kmeans_literature_tolerance;
                const auto seeds = kmeans_plus_plus(summary, count, options.seed);
                const LloydResult result = lloyd_refine(summary, seeds, stop);
                set.levels = result.levels;
                set.parameters.emplace_back("seed", static_cast<double>(options.seed));
                set.parameters.emplace_back("iterations", result.iterations);
            }
        } else {
            set.levels = kmeans_levels(summary, count, set);
        }
        set.thresholds = midpoint_thresholds(set.levels);
        return set;
    }
};

}  // namespace

std::unique_ptr<Quantizer> make_kmeans() { return std::make_unique<KMeans>(); }

}  // namespace nladc::detail
