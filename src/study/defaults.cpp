#include "nladc/study/defaults.hpp"

#include "nladc/data/synthetic.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc {

std::vector<float> default_activations() { return generate_synthetic(SyntheticSpec{}); }

ReplicaDesign default_design()
{
    const std::vector<float> samples = default_activations();
    QuantizerOptions options;
    options.bits = 4;
    options.method = "bs-kmq";
    SummaryOptions range;
    range.lo = 0.0;
    range.hi = 6.0;
    LevelSet set = fit_in_memory(samples, options, range);
    set.bits = 4;
    return map_levels(set, Technology{}, {});
}

}  // namespace nladc
