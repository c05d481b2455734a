#pragma once
// Characterized ADC models for other tools (`nladc export`), from a `nladc characterize`
// output directory (docs/export.md):
//   json      "nladc-adc-model" v1 (documents/adc_model.hpp): level set, target/measured
//             thresholds with mean and sigma, INL/DNL, conditions, seed, nladc version
//   csv       DNN+NeuroSim V1.5's ADC output-noise table (`--output_noise -1
//             --output_noise_file`): row i is the ideal partial sum i = 0 .. 2^b, with
//             the mean and sigma of the ADC output for it, in partial-sum counts
//   spice     ngspice subcircuit: B-source staircase, code and level outputs
//   veriloga  Verilog-A module for commercial simulators (not simulable in ngspice 39)
//
// The model's thresholds are the characterized ones: the Monte Carlo mean when the
// characterization aggregated a study, else the nominal chip's (bisection).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nladc/documents/adc_model.hpp"

namespace nladc {

/// Reads DIR/characterization.json. Throws InputError naming the file and key.
AdcModel model_from_characterization(const std::filesystem::path& dir);

/// What a writer needs besides the model; every field has a default.
struct ExportOptions {
    std::string name = "nladc_adc";  ///< spice, veriloga: subcircuit / module name
    /// csv: input units per partial-sum count (partial sum i is the input i * scale);
    /// empty: the level set's LSB, (hi - lo) / 2^bits.
    std::optional<double> partial_sum_scale;
};

/// The csv's scale: options.partial_sum_scale or the level set's LSB. Throws Error when
/// it is not a positive finite number.
double partial_sum_scale(const AdcModel& model, const ExportOptions& options);

/// One row of the NeuroSim table: the ADC's output for the ideal partial sum i, whose
/// input is x = i * scale. With the thresholds independent normals N(mean[k], sigma[k])
/// (sigma 0: fixed) and code(x) = #{k : t_k < x}, the output level(code(x)) / scale has
/// mean `mean` and standard deviation `stddev`, computed exactly (Poisson-binomial code
/// distribution); `output` is the nominal chip's level(code(x)) / scale.
struct PartialSumRow {
    int partial_sum = 0;
    double input = 0, output = 0, mean = 0, stddev = 0;
};
/// Partial sums 0 .. 2^bits (one more row than codes); `mean` never decreases.
std::vector<PartialSumRow> partial_sum_table(const AdcModel& model, double scale);

/// `partial_sum,input,output,mean,std`, one row per partial_sum_table() row.
std::string model_csv(const AdcModel& model, const ExportOptions& options = {});

/// What check_neurosim_csv() read.
struct NeuroSimCsvCheck {
    std::size_t rows = 0;  ///< data rows (partial sums 0 .. rows - 1)
    double max_std = 0;    ///< the largest `std`
};
/// Reads csv text back the way DNN+NeuroSim V1.5's reader does (a header row naming
/// `output`, `mean` and `std`, looked up by name; then one number per column and row, no
/// comments or blank lines) and checks the contract: exactly `rows` data rows, every value
/// finite, `mean` non-decreasing, `std` >= 0. Throws Error naming the line.
NeuroSimCsvCheck check_neurosim_csv(const std::string& text, std::size_t rows);

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
    std::string (*write)(const AdcModel& model, const ExportOptions& options);
    /// Checks the model's text before it is written; throws Error when it misses.
    ExportCheck (*check)(const AdcModel& model, const std::string& text, const ExportOptions& options);
    std::string_view description;
};

/// Every format, in documentation order: the one list the CLI, the flow and Python read.
const std::vector<ExportFormatInfo>& export_formats();
const ExportFormatInfo& export_format(ExportFormat format);
/// Throws UsageError listing the formats for an unknown name.
ExportFormat parse_export_format(std::string_view name);
std::vector<std::string> export_format_names();

}  // namespace nladc
