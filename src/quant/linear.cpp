// Linear (uniform) quantizers, BRIEF §3.
#include "methods.hpp"

namespace nladc::detail {

namespace {

class Linear final : public Quantizer {
public:
    std::string_view method() const override { return "linear"; }
    std::vector<std::string_view> variants() const override { return {"midtread", "floor"}; }

    LevelSet fit(const SampleSummary& summary, const QuantizerOptions& options) const override
    {
        const std::size_t count = std::size_t{1} << options.bits;
        const double lo = summary.lo(), hi = summary.hi();
        LevelSet set;
        if (options.variant == "floor") {
            // code = floor((x - lo) / D), D = (hi - lo) / L; code k reconstructs to lo + k D.
            const double step = (hi - lo) / static_cast<double>(count);
            for (std::size_t k = 0; k < count; ++k) set.levels.push_back(lo + static_cast<double>(k) * step);
            for (std::size_t k = 1; k < count; ++k) set.thresholds.push_back(lo + static_cast<double>(k) * step);
        } else {
            // Mid-tread: L levels spanning [lo, hi] with both ends as levels.
            const double step = (hi - lo) / static_cast<double>(count - 1);
            for (std::size_t k = 0; k < count; ++k) set.levels.push_back(lo + static_cast<double>(k) * step);
            set.levels.back() = hi;
            set.thresholds = midpoint_thresholds(set.levels);
        }
        return set;
    }
};

}  // namespace

std::unique_ptr<Quantizer> make_linear() { return std::make_unique<Linear>(); }

}  // namespace nladc::detail
