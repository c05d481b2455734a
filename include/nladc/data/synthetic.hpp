#pragma once
// The embedded default data: ReLU-and-clamp activation mixtures (BRIEF §3).
// Exactly round(zeros_fraction * n) samples equal lo (ReLU zeros) and exactly
// round(clamp_fraction * n) equal hi (the clamp); the rest come from the interior
// distribution truncated to the open interval (lo, hi) by rejection (after
// rounding to float32, so no interior sample lands on a boundary). The order is
// shuffled. Every draw comes from Philox keyed by the seed: same seed, same file.

#include <cstdint>
#include <string>
#include <vector>

namespace nladc {

struct SyntheticSpec {
    std::uint64_t samples = 1000000;
    double zeros_fraction = 0.4;   ///< fraction of samples at lo
    double clamp_fraction = 0.05;  ///< fraction of samples at hi
    double lo = 0.0;               ///< ReLU floor
    double hi = 6.0;               ///< clamp value
    std::string distribution = "halfnormal";  ///< halfnormal | lognormal | uniform
    double sigma = 2.0;  ///< halfnormal: scale; lognormal: sigma of log
    double mu = 0.0;     ///< lognormal: mean of log
    std::uint64_t seed = 1;
};

/// Checks the spec; throws UsageError naming the field and value.
void validate(const SyntheticSpec& spec);

/// Draws the samples (float32, as activation dumps are).
std::vector<float> generate_synthetic(const SyntheticSpec& spec);

}  // namespace nladc
