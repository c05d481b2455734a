#pragma once
// The embedded default: the synthetic ReLU-and-clamp data of `nladc synth` (its
// defaults), a 4-bit BS-KMQ level set on it over [0, 6], mapped with the default
// technology. Deterministic; what commands use when no design or data is given.

#include <vector>

#include "nladc/mapping/mapping.hpp"

namespace nladc {

/// The default activation samples (1e6, seed 1).
std::vector<float> default_activations();
/// The default design (4-bit BS-KMQ drop-pin on the default activations, default technology).
ReplicaDesign default_design();

}  // namespace nladc
