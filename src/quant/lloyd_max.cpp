// Lloyd-Max quantizer, BRIEF §3: from uniform levels, alternate nearest-level
// thresholds and cell centroids until the relative MSE change < 1e-9 (converged),
// or for a fixed number of iterations (capped, the weaker literature baseline).
#include "methods.hpp"
#include "nladc/quant/clustering.hpp"

namespace nladc::detail {

namespace {

class LloydMax final : public Quantizer {
public:
    std::string_view method() const override { return "lloyd-max"; }
    std::vector<std::string_view> variants() const override { return {"converged", "capped"}; }

    LevelSet fit(const SampleSummary& summary, const QuantizerOptions& options) const override
    {
        const std::size_t count = std::size_t{1} << options.bits;
        std::vector<double> start;
        const double step = (summary.hi() - summary.lo()) / static_cast<double>(count - 1);
        for (std::size_t k = 0; k < count; ++k) start.push_back(summary.lo() + static_cast<double>(k) * step);

        LloydStop stop;
        LevelSet set;
        if (options.variant == "capped") {
            stop.max_iterations = options.lloyd_max_cap_iterations;
            stop.relative_sse_tolerance = 0.0;
            set.parameters.emplace_back("max_iterations", options.lloyd_max_cap_iterations);
        } else {
            stop.max_iterations = options.lloyd_max_max_iterations;
            stop.relative_sse_tolerance = options.lloyd_max_tolerance;
            set.parameters.emplace_back("relative_tolerance", options.lloyd_max_tolerance);
        }
        const LloydResult result = lloyd_refine(summary, std::move(start), stop);
        set.parameters.emplace_back("iterations", result.iterations);
        set.parameters.emplace_back("converged", result.converged ? 1.0 : 0.0);
        set.levels = result.levels;
        set.thresholds = midpoint_thresholds(set.levels);
        return set;
    }
};

}  // namespace

std::unique_ptr<Quantizer> make_lloyd_max() { return std::make_unique<LloydMax>(); }

}  // namespace nladc::detail
