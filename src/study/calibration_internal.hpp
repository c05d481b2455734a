#pragma once
// Private to src/study: the SPICE side of the calibration (study/calibration.hpp, step 2):
// thresholds bracketed on full conversions, and the resolution the simulator
// tolerances allow.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "nladc/study/calibration.hpp"

namespace nladc::calibration_detail {

struct Bracket {
    double low = -INFINITY, high = INFINITY;  ///< decision 0 at low, 1 at high
    double width() const { return high - low; }
    double middle() const { return 0.5 * (low + high); }
};

/// Brackets thresholds ks (1-based) on full conversions until each is narrower than
/// `width` (input units): round 1 converts on both sides of each estimate, `reach` away
/// (the fast extractor errs by up to ~0.01 LSB); then each round bisects a closed bracket
/// or steps out of an open one (doubling the step). Every round is one batch on the pool.
std::vector<Bracket> bracket_thresholds(const ReplicaDesign& design, const Technology& tech, const spice::SpiceChip& chip,
                                        const std::vector<int>& ks, const std::vector<double>& estimates, double width,
                                        spice::WorkerPool& pool, const spice::NetlistOptions& base, int& simulations,
                                        const std::function<void(const std::string&)>& progress);

/// The SPICE thresholds of a design: the fast extractor, then every threshold bracketed.
struct SpiceLevels {
    spice::FastExtraction fast;
    std::vector<double> levels;        ///< bracket middles
    std::vector<double> bracket_lsb;   ///< widths / LSB
};

SpiceLevels spice_levels(const ReplicaDesign& design, const Technology& tech, double width_lsb,
                         spice::WorkerPool& pool, spice::WorkerPool& estimate_pool, const spice::NetlistOptions& options,
                         int& simulations, const std::function<void(const std::string&)>& progress);

/// The voltage resolution of the simulator tolerances at the comparator inputs (both
/// inputs off by reltol |V| + vntol, in opposite directions), in LSB at each threshold.
std::vector<double> tolerance_resolution_lsb(const ReplicaDesign& design, const Technology& tech,
                                             const CalibrationParams& params, const std::vector<double>& levels);

}  // namespace nladc::calibration_detail
