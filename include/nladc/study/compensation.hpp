#pragma once
// Systematic-error compensation of a mapping (`nladc map --compensate`, flow key
// `compensate`). The ideal mapping (docs/adc.md) puts the replica steps where an ideal
// circuit would hit the target thresholds; IR drop that differs between the MAC and the
// replica columns and the integrators' finite gain move the real thresholds by up to
// about 1.6 LSB at the top of the default 4-bit design. Here the thresholds handed to the
// mapping are pre-distorted, at the same MAC scale, until the nominal behavioral model
// (every nonideality on, no variation) lands on the targets:
//     p_k <- p_k * T_target,k / T_model,k      (fixed-point iteration, p_k = T_target,k first)
// The pre-distorted cells are what gets programmed; the level set keeps the targets.

#include <string>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/mapping/mapping.hpp"

namespace nladc {

struct CompensationOptions {
    AdcOptions adc;                  ///< the model to compensate against (calibration included)
    double tolerance_lsb = 0.002;    ///< stop when every threshold is this close
    int max_iterations = 10;
};

struct CompensationResult {
    ReplicaDesign design;                         ///< the compensated mapping (levels = the targets)
    std::vector<double> before_lsb, after_lsb;    ///< nominal model error per threshold, (T - target) / LSB
    std::vector<double> model_thresholds;         ///< nominal model transition levels after compensation
    int iterations = 0;
    std::string stopped;                          ///< why it stopped early ("" = converged)
};

/// Maps `levels` with `tech` and compensates the mapping. The scale is fixed by the first,
/// uncompensated mapping (options.scale_per_S, if given, is kept).
CompensationResult compensate_mapping(const LevelSet& levels, const Technology& tech, MappingOptions options,
                                      const CompensationOptions& compensation = {});

}  // namespace nladc
