#pragma once
// Step `map`: a level set onto the replica column (mapping/mapping.hpp), optionally
// compensated for the nominal circuit (study/compensation.hpp) and scored on activation
// data before and after mapping.

#include <optional>
#include <string>

#include "nladc/documents/design_file.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/mapping/mapping.hpp"
#include "nladc/study/compensation.hpp"

namespace nladc::steps {

struct MapRequest {
    std::string levels_file;
    std::optional<LevelSet> levels;  ///< in memory instead of levels_file (the Python API)
    std::string layer;       ///< of a multi-layer level-set file
    std::string tech_file;   ///< "" = the built-in technology
    MappingOptions mapping;
    bool compensate = false; ///< pre-distort the steps for the nominal behavioral model
    std::string input;       ///< activations scored with the target and the realized thresholds ("" = none)
    io::NonFinitePolicy nonfinite = io::NonFinitePolicy::error;
    std::string out;         ///< design JSON to write ("" = none)
};

struct MapResult {
    io::DesignRecord record;  ///< hash filled when written; before/after_mapping when scored
    std::optional<CompensationResult> compensation;
    std::string input_label;  ///< the scored data, as ActivationLayer labels it
};

/// Throws InputError naming the level-set file when the level set cannot be realized.
MapResult run_map(const MapRequest& request);

}  // namespace nladc::steps
