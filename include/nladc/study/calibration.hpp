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
#include "nladc/documents/calibration_file.hpp"
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
    Corner validation_corner = Corner::ss;
    double validation_temperature_C = 27.0;
    bool ablation = false;
    std::uint64_t seed = 1;  ///< draws of the agreement MAC values
    /// Parameters to fit (names of CalibrationParams members), at most six.
    std::vector<std::string> fit = {"offset_V", "gain_error", "mac_compression"};
    std::function<void(const std::string&)> progress;  ///< stage messages (stderr in the CLI)
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

}  // namespace nladc
