#pragma once
// Calibration of the behavioral model against ngspice (BRIEF §5).
//
// 1. SPICE transition levels T_spice[k] of the design by the fast extractor
//    (spice/extract.hpp), the reference the fit is made to.
// 2. Least squares (Levenberg-Marquardt, Eigen) over at most six global physical
//    parameters of the behavioral model (CalibrationParams; no per-threshold terms),
//    residuals (T_behav[k] - T_spice[k]) / LSB.
// 3. Checks, none of them used by the fit: thresholds found by plain bisection on
//    full transistor-level conversions; codes of many full SPICE conversions at MAC
//    values drawn uniformly over the range; a second level set (validation, no refit);
//    and an ablation: each named nonideality switched on alone in SPICE.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/spice/extract.hpp"

namespace nladc {

struct CalibrationOptions {
    spice::NetlistOptions netlist;  ///< corner, temperature, circuits directory
    int workers = 2;
    int agreement_samples = 200;    ///< full SPICE conversions for the code agreement
    int bisection_thresholds = 3;   ///< thresholds re-found by bisection
    bool ablation = true;
    std::uint64_t seed = 1;         ///< draws of the agreement MAC values
    /// Parameters to fit (names of CalibrationParams members), at most six.
    std::vector<std::string> fit = {"offset_V", "gain_error", "mac_compression"};
    std::function<void(const std::string&)> progress;  ///< stage messages (stderr in the CLI)
};

struct ThresholdComparison {
    double target = 0, spice = 0, before = 0, after = 0;  ///< input units
    double before_error_lsb = 0, after_error_lsb = 0;     ///< |behavioral - SPICE| / LSB
};

struct AblationEntry {
    std::string nonideality;           ///< "none", "finite A0 and bandwidth", ...
    double max_spice_error_lsb = 0;    ///< max |T_spice - T_target| / LSB
    double max_behavioral_vs_spice_lsb = 0;  ///< nominal behavioral model against that SPICE
};

struct CalibrationReport {
    CalibrationParams parameters;
    std::vector<std::string> fitted;
    std::vector<ThresholdComparison> thresholds;
    double max_threshold_error_lsb_before = 0, max_threshold_error_lsb_after = 0;
    std::vector<int> bisection_k;                  ///< which thresholds were bisected (1-based)
    std::vector<double> bisection_T, bisection_fast_T;
    double max_threshold_error_lsb_bisection = 0;  ///< calibrated behavioral vs bisection
    double max_fast_vs_bisection_lsb = 0;          ///< fast extractor vs bisection
    double max_threshold_error_lsb_validation = 0;
    std::string validation_label;
    double code_agreement = 0, code_agreement_all = 0;  ///< fractions
    int agreement_samples = 0, agreement_filtered = 0;
    double spice_conversion_s = 0, behavioral_conversion_s = 0, speedup = 0;
    std::vector<AblationEntry> ablation;
    int simulations = 0;
    double wall_s = 0;
    double rms_before_lsb = 0, rms_after_lsb = 0;
};

/// Runs the whole calibration. `validation` is the second level set's design (mapped
/// with the same technology). Throws Error when SPICE fails.
CalibrationReport calibrate(const ReplicaDesign& design, const Technology& tech,
                            const std::optional<ReplicaDesign>& validation, const CalibrationOptions& options);

/// The default validation design: a linear mid-tread level set one bit smaller (one
/// larger for 1 bit) over the same range, mapped with `tech`, its sense capacitor sized
/// for its own range top.
ReplicaDesign default_validation_design(const ReplicaDesign& design, const Technology& tech);

/// Sets a CalibrationParams member by name; throws UsageError for an unknown name.
void set_calibration_parameter(CalibrationParams& params, const std::string& name, double value);
double get_calibration_parameter(const CalibrationParams& params, const std::string& name);
const std::vector<std::string>& calibration_parameter_names();

}  // namespace nladc
