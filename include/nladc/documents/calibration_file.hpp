#pragma once
// Calibration files (format "nladc-calibration", version 1): the fitted behavioral
// parameters, the conditions (design hash, corner, temperature) and the report.
// The report alone is also written next to it as "<name>.report.json".

#include <filesystem>
#include <string>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/io/json.hpp"
#include "nladc/spice/blocks.hpp"
#include "nladc/spice/extract.hpp"

namespace nladc {

/// The report of `nladc calibrate` (study/calibration.hpp explains each step).
struct ThresholdComparison {
    double target = 0, spice = 0, before = 0, after = 0;  ///< input units
    double before_error_lsb = 0, after_error_lsb = 0;     ///< |behavioral - SPICE| / LSB
    double bracket_lsb = 0;                               ///< SPICE bracket width / LSB
};

struct AblationEntry {
    std::string nonideality;           ///< "none", "finite A0 and bandwidth", ...
    double max_spice_error_lsb = 0;    ///< max |T_spice - T_target| / LSB
    double max_behavioral_vs_spice_lsb = 0;  ///< nominal behavioral model against that SPICE
};

struct ValidationResult {
    std::string name, method;  ///< e.g. "other method", "linear/midtread"
    int bits = 0;
    Corner corner = Corner::tt;
    double temperature_C = 27.0;
    std::string block_parameters;  ///< "re-extracted at SS 27 C" or "as extracted at TT 27 C"
    std::vector<double> spice, before, after;
    double max_threshold_error_lsb_before = 0, max_threshold_error_lsb_after = 0;
    double spice_resolution_lsb = 0;
    bool improved = false;
};

struct FitQuality {
    std::vector<std::vector<double>> correlation;  ///< of the fitted parameters, in `fitted` order
    /// Per fitted parameter: max |threshold shift| / LSB it causes alone at its fitted value.
    std::vector<double> alone_lsb;
    double combined_lsb = 0;  ///< max |threshold shift| / LSB of all together
    bool cancelling = false;  ///< a pair correlates beyond 0.95 and together they undo >= 80 % of each other
    std::string verdict;
};

struct CalibrationReport {
    std::string circuit = "transistor";
    spice::BlockCharacterization blocks;
    std::vector<spice::ExtractedParameter> extracted;
    CalibrationParams parameters;  ///< the extracted block parameters and the fitted corrections
    std::vector<std::string> fitted;
    FitQuality fit;
    std::vector<ThresholdComparison> thresholds;
    double max_threshold_error_lsb_nominal = 0;  ///< the technology as given, no extraction
    double max_threshold_error_lsb_before = 0, max_threshold_error_lsb_after = 0;
    double rms_before_lsb = 0, rms_after_lsb = 0;
    std::vector<int> thresholds_checked;  ///< bracketed on full conversions (1-based)
    double bisection_bracket_lsb = 0;     ///< widest bracket of the checked thresholds
    double tolerance_resolution_lsb = 0;  ///< simulator tolerances, widest over the checked thresholds
    double spice_resolution_lsb = 0;      ///< the larger of the two
    double max_threshold_error_lsb_bisection = 0;  ///< calibrated behavioral vs the bracketed thresholds
    double max_fast_vs_bisection_lsb = 0;          ///< fast extractor vs the bracketed thresholds
    std::vector<ValidationResult> validation;
    double max_threshold_error_lsb_validation = 0;  ///< the worst `after` of `validation`
    std::string validation_verdict;
    double code_agreement = 0, code_agreement_all = 0, code_agreement_near = 0;  ///< fractions
    int agreement_samples = 0, agreement_filtered = 0, agreement_near = 0;
    // Speed (SPICE on one worker; behavioral static conversions on one thread).
    double spice_conversion_s = 0, behavioral_conversion_s = 0, behavioral_setup_s = 0;
    double speedup = 0;                            ///< per conversion, without setup
    double speedup_per_conversion_with_setup = 0;  ///< behavioral model and one chip built per conversion
    double spice_chip_s = 0, behavioral_chip_s = 0, speedup_per_chip = 0;  ///< all thresholds of one chip
    std::vector<AblationEntry> ablation;
    int simulations = 0;
    double wall_s = 0;
};

}  // namespace nladc

namespace nladc::io {

struct CalibrationConditions {
    std::string design_hash;
    Corner corner = Corner::tt;
    double temperature_C = 27.0;
};

/// The fitted parameters as {name: value}, as in the file's "parameters" object.
OrderedJson calibration_params_to_json(const CalibrationParams& params);
OrderedJson calibration_report_to_json(const CalibrationReport& report);
/// Writes the calibration and its report (both atomically). Returns the report's path.
std::filesystem::path write_calibration(const std::filesystem::path& file, const CalibrationReport& report,
                                        const CalibrationConditions& conditions);
/// The fitted parameters. Throws InputError naming the key and value.
CalibrationParams read_calibration(const std::filesystem::path& file);

}  // namespace nladc::io
