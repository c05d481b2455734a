#pragma once
// Calibration of the behavioral model against ngspice (docs/spice.md).
//
// 1. Extraction: the block parameters (op-amp, switches, mirror, comparator offset per
//    mismatch) are measured on the circuit's own testbenches (spice/blocks.hpp) and
//    written into the technology the behavioral model uses (`extracted`).
// 2. SPICE transition levels: the fast extractor's estimates (spice/extract.hpp), then
//    every checked threshold bracketed on full conversions until the bracket is narrower
//    than `bracket_lsb` (the SPICE reference the fit and the checks use).
// 3. The global fit: least squares (Levenberg-Marquardt) over at most six physical
//    parameters of the behavioral model (CalibrationParams), residuals (T_behav - T_spice)
//    / LSB; their correlation matrix, and a flag when they cancel each other.
// 4. Checks, none used by the fit: held-out designs (another method, another bit width,
//    the same design at another corner or temperature; block parameters re-extracted
//    there), before and after the fit; code agreement on full SPICE conversions far from
//    and within 0.2 LSB of the thresholds; speed-up with and without setup and per
//    Monte Carlo chip (SPICE on one worker); an ablation on the macromodel.
//
// Resolution: a SPICE threshold is only known to within its bracket and to the voltage
// resolution the simulator tolerances give at the comparator inputs,
// 2 (reltol VCM + vntol), converted to input units through the local slope du/dT.
// spice_resolution_lsb is the larger of the two over every checked threshold; no
// agreement finer than it is claimed.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/spice/blocks.hpp"
#include "nladc/spice/extract.hpp"

namespace nladc {

struct CalibrationOptions {
    spice::NetlistOptions netlist;  ///< corner, temperature, circuits directory, circuit
    int workers = 2;
    int agreement_samples = 30;          ///< full SPICE conversions at MAC values drawn uniformly
    int near_threshold_samples = 1;      ///< more per threshold, within 0.2 LSB of it
    int bisection_thresholds = 0;        ///< thresholds bracketed on full conversions (0: all)
    double bracket_lsb = 0.0015;         ///< bracket width of the checked thresholds, LSB
    double reference_reltol = 1e-5;      ///< ngspice reltol of the bracketing conversions (at most the technology's)
    double validation_bracket_lsb = 0.01;
    /// Held-out designs: "method" (linear at the same bits), "bits" (every other threshold
    /// of the design: one bit fewer), both on the same circuit (the design's technology,
    /// sense capacitor and MAC scale: only the replica column is reprogrammed); "corner"
    /// (the design at validation_corner / validation_temperature_C, block parameters
    /// re-extracted there).
    std::vector<std::string> validations = {"method", "bits", "corner"};
    std::string validation_corner = "SS";
    double validation_temperature_C = 27.0;
    bool ablation = false;
    std::uint64_t seed = 1;  ///< draws of the agreement MAC values
    /// Parameters to fit (names of CalibrationParams members), at most six.
    std::vector<std::string> fit = {"offset_V", "gain_error", "mac_compression"};
    std::function<void(const std::string&)> progress;  ///< stage messages (stderr in the CLI)
};

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
    std::string corner;
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

/// Runs the whole calibration of `design` (netlists from `tech`). `extra_validation`
/// (optional) is one more held-out design. Throws Error when SPICE fails.
CalibrationReport calibrate(const ReplicaDesign& design, const Technology& tech,
                            const std::optional<ReplicaDesign>& extra_validation, const CalibrationOptions& options);

/// A linear mid-tread level set of `bits` bits over the design's range on the same circuit
/// (`tech` with the design's sense capacitor, the design's MAC scale), compensated.
ReplicaDesign linear_design(const ReplicaDesign& design, const Technology& tech, int bits);
/// The design's own level set with every other threshold (one bit fewer), the same way.
ReplicaDesign coarser_design(const ReplicaDesign& design, const Technology& tech);

/// Sets a CalibrationParams member by name; throws UsageError for an unknown name.
void set_calibration_parameter(CalibrationParams& params, const std::string& name, double value);
double get_calibration_parameter(const CalibrationParams& params, const std::string& name);
const std::vector<std::string>& calibration_parameter_names();

}  // namespace nladc
