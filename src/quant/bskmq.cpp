// BS-KMQ, Boundary-Suppressed K-Means Quantization (BRIEF §3). ReLU (exact zeros)
// and clamping (values at the clamp) pile samples onto the boundaries lo and hi;
// plain k-means spends levels on those pile-ups. The paper's rule is not public,
// so three labelled suppression variants are offered:
//   drop-pin  remove the boundary samples, cluster the interior into L - n_pinned
//             levels, and add lo and hi as exact levels;
//   weight    boundary samples weigh alpha in the clustering;
//   cap       boundary masses are capped at the adjacent interior density.
#include <algorithm>

#include "methods.hpp"

namespace nladc::detail {

namespace {

class BsKmq final : public Quantizer {
public:
    std::string_view method() const override { return "bs-kmq"; }
    std::vector<std::string_view> variants() const override { return {"drop-pin", "weight", "cap"}; }

    LevelSet fit(const SampleSummary& summary, const QuantizerOptions& options) const override
    {
        const std::size_t count = std::size_t{1} << options.bits;
        LevelSet set;
        if (options.variant == "weight") {
            set.parameters.emplace_back("alpha", options.bskmq_alpha);
            set.levels = kmeans_levels(summary.reweighted(boundary_factors(summary, options.bskmq_alpha)), count, set);
        } else if (options.variant == "cap") {
            const double window = options.bskmq_cap_window_lsb * (summary.hi() - summary.lo()) / static_cast<double>(count);
            set.parameters.emplace_back("cap_window_lsb", options.bskmq_cap_window_lsb);
            set.levels = kmeans_levels(summary.reweighted(cap_factors(summary, window)), count, set);
        } else {
            set.levels = drop_pin(summary, count, options.bskmq_pin_min_fraction, set);
        }
        set.thresholds = midpoint_thresholds(set.levels);
        return set;
    }

private:
    static std::vector<double> boundary_factors(const SampleSummary& summary, double alpha)
    {
        std::vector<double> factors;
        for (const Atom& atom : summary.atoms()) factors.push_back(atom.boundary == Boundary::none ? 1.0 : alpha);
        return factors;
    }

    static std::vector<double> cap_factors(const SampleSummary& summary, double window)
    {
        double near_lo = 0.0, near_hi = 0.0;
        for (std::size_t i = 0; i < summary.size(); ++i) {
            if (summary.atoms()[i].boundary != Boundary::none) continue;
            const double x = summary.value(i);
            if (x > summary.lo() && x <= summary.lo() + window) near_lo += summary.atoms()[i].weight;
            if (x < summary.hi() && x >= summary.hi() - window) near_hi += summary.atoms()[i].weight;
        }
        std::vector<double> factors;
        for (const Atom& atom : summary.atoms()) {
            const double cap = atom.boundary == Boundary::lo ? near_lo : near_hi;
            factors.push_back(atom.boundary == Boundary::none ? 1.0 : std::min(1.0, cap / atom.weight));
        }
        return factors;
    }

    static std::vector<double> drop_pin(const SampleSummary& summary, std::size_t count, double min_fraction,
                                        LevelSet& set)
    {
        // Pin a boundary only when it carries a real pile-up.
        std::vector<double> pinned, factors;
        const double total = summary.total_weight();
        for (const Atom& atom : summary.atoms()) {
            const bool pin = atom.boundary != Boundary::none && atom.weight >= min_fraction * total;
            if (pin) pinned.push_back(atom.boundary == Boundary::lo ? summary.lo() : summary.hi());
            factors.push_back(pin ? 0.0 : 1.0);
        }
        set.parameters.emplace_back("pin_min_fraction", min_fraction);
        set.parameters.emplace_back("pinned", static_cast<double>(pinned.size()));
        if (pinned.size() >= count) {
            // 1 bit with two pile-ups: the two boundaries are the levels.
            return fill_levels(pinned, count, summary.lo(), summary.hi());
        }
        const SampleSummary interior = summary.reweighted(factors);
        std::vector<double> levels =
            interior.size() > 0 ? kmeans_levels(interior, count - pinned.size(), set) : std::vector<double>{};
        levels.insert(levels.end(), pinned.begin(), pinned.end());
        return fill_levels(std::move(levels), count, summary.lo(), summary.hi());
    }
};

}  // namespace

std::unique_ptr<Quantizer> make_bs_kmq() { return std::make_unique<BsKmq>(); }

}  // namespace nladc::detail
