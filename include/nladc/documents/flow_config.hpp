#pragma once
// The `nladc flow` config file ("format": "nladc-flow", version 2; docs/flow-config.md):
// every stage's knobs, read, validated and written here.

#include <filesystem>
#include <string>
#include <vector>

#include "nladc/device/corner.hpp"
#include "nladc/documents/dnn_config.hpp"
#include "nladc/documents/study_file.hpp"
#include "nladc/io/json.hpp"

namespace nladc {

/// SPICE co-simulation of the flow (the calibration stage).
struct FlowSpiceParams {
    bool enabled = true;          ///< false: no netlist simulation, calibration or SPICE Monte Carlo
    Corner corner = Corner::tt;
    double temperature_C = 27.0;
    int workers = 2;              ///< ngspice worker processes
    std::string circuit = "transistor";  ///< transistor | macro
    int agreement_samples = 10;   ///< full SPICE conversions at uniform MAC values for the code agreement
    int near_threshold_samples = 0;  ///< more per threshold, within 0.2 LSB of it
    int bisection_thresholds = 3; ///< thresholds bracketed on full conversions (0 = all)
    std::string validations = "bits";  ///< held-out designs, comma-separated: method, bits, corner
    bool ablation = false;        ///< each nonideality alone in SPICE (macromodel)
};

struct FlowConfig {
    std::string activations;       ///< .npy/.npz/.csv/.f32; "" = the embedded synthetic data
    std::vector<std::string> layers;  ///< npz members to design for; empty = every layer
    bool drop_nonfinite = false;
    bool range_given = false;      ///< `range` present: [lo, hi]; else the data's min and max
    double lo = 0.0, hi = 0.0;
    int bits = 4;                  ///< ADC resolution of the designed NL-ADC, 1..8
    std::string method = "bs-kmq";
    std::string variant;           ///< "" = the method's default
    std::vector<int> compare_bits = {3, 4, 5, 6};
    std::string technology;        ///< technology JSON; "" = the defaults
    int calibration_cells = 5;     ///< spare bias cells per replica column
    bool compensate = true;        ///< pre-distort the mapping for the nominal circuit (study/compensation.hpp)
    FlowSpiceParams spice;
    StudySpec monte_carlo;         ///< trials, seed, variation, trim, spice.trials (files are the flow's)
    int ramp_points = 1000000;     ///< characterization code-density ramp
    std::vector<std::string> exports = {"json", "csv", "spice", "veriloga"};
    std::vector<int> area_bits = {3, 4, 5, 6};
    int threads = 0;               ///< Monte Carlo threads; 0 = all cores (results do not depend on it)
    /// Optional last stage: network-level accuracy on Fashion-MNIST (`nladc dnn`); off by default.
    bool dnn_enabled = false;
    dnn::DnnConfig dnn;            ///< its technology defaults to the flow's
};

namespace io {
/// Reads and validates a flow config (relative paths against the file's directory);
/// checks that the files it names exist. Throws InputError naming the key and value.
FlowConfig read_flow_config(const std::filesystem::path& file);
FlowConfig flow_config_from_json(const Json& object, const JsonPlace& place);
OrderedJson flow_config_to_json(const FlowConfig& config);
/// Markdown reference of every key (unit, default, range, meaning).
std::string describe_flow_config();
}  // namespace io

}  // namespace nladc
