#pragma once
// Characterized ADC models for other tools (`nladc export`), from a `nladc characterize`
// output directory (docs/export.md):
//   json      "nladc-adc-model" v1 (documents/adc_model.hpp): level set, target/measured
//             thresholds with mean and sigma, INL/DNL, conditions, seed, nladc version
//   csv       per code `output,mean,std` (NeuroSim-style lookup: the output level and the
//             mean and sigma of the transition level into that code)
//   spice     ngspice subcircuit: B-source staircase, code and level outputs
//   veriloga  Verilog-A module for commercial simulators (not simulable in ngspice 39)
//
// The model's thresholds are the characterized ones: the Monte Carlo mean when the
// characterization aggregated a study, else the nominal chip's (bisection).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "nladc/documents/adc_model.hpp"

namespace nladc {

/// Reads DIR/characterization.json. Throws InputError naming the file and key.
AdcModel model_from_characterization(const std::filesystem::path& dir);

std::string model_csv(const AdcModel& model);

/// `.subckt <name> in code level params: in_per_unit=1`: v(in) / in_per_unit is the
/// input in the level set's units; v(code) = 0 .. L-1; v(level) = the output level.
std::string model_spice(const AdcModel& model, const std::string& name = "nladc_adc");

/// Module `<name>(in, code, level)` with the same ports, the thresholds as parameters.
std::string model_veriloga(const AdcModel& model, const std::string& name = "nladc_adc");

struct SpiceModelCheck {
    std::vector<double> thresholds;  ///< found by an ngspice DC sweep of the subcircuit
    double max_error_lsb = 0.0;      ///< against the model's thresholds
    double sweep_step_lsb = 0.0;     ///< resolution of the sweep (the error bound is half of it)
};

/// Simulates the exported subcircuit in ngspice (a worker process): a DC sweep of the
/// input over the range, the thresholds taken at the code steps. Throws NgspiceError.
SpiceModelCheck check_spice_model(const AdcModel& model, const std::string& subckt, const std::string& name = "nladc_adc");

/// The largest |T_spice - T_model| an exported SPICE model may show, LSB.
inline constexpr double kSpiceModelToleranceLsb = 0.01;

enum class ExportFormat { json, csv, spice, veriloga };

/// What a format's check found in a written model.
struct ExportCheck {
    std::string verdict;        ///< one line for tables and logs
    double max_error_lsb = -1;  ///< spice: max |T_spice - T_model|; -1 when not simulated
    double sweep_step_lsb = 0;  ///< spice: the DC sweep's step
};

/// One export format: its name, the file name the flow gives it, its writer and its
/// check (null: nothing to run; `description` says what the file is instead).
struct ExportFormatInfo {
    ExportFormat format;
    std::string_view name;       ///< as on the command line and in flow configs
    std::string_view file_name;  ///< the flow's file
    std::string (*write)(const AdcModel& model, const std::string& name);
    /// Checks the model's text before it is written; throws Error when it misses.
    ExportCheck (*check)(const AdcModel& model, const std::string& text, const std::string& name);
    std::string_view description;
};

/// Every format, in documentation order: the one list the CLI, the flow and Python read.
const std::vector<ExportFormatInfo>& export_formats();
const ExportFormatInfo& export_format(ExportFormat format);
/// Throws UsageError listing the formats for an unknown name.
ExportFormat parse_export_format(std::string_view name);
std::vector<std::string> export_format_names();

}  // namespace nladc
