// The export format table (export/export.hpp): writer and check per format.
#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "nladc/export/export.hpp"

namespace nladc {

namespace {

ExportCheck read_back(const AdcModel&, const std::string& text, const ExportOptions&)
{
    // The reader accepts what the writer wrote.
    const AdcModel back = adc_model_from_json(io::Json::parse(text), "the exported JSON model");
    return {fmt::format("read back: {} thresholds", back.mean.size()), -1, 0};
}

ExportCheck neurosim_contract(const AdcModel& model, const std::string& text, const ExportOptions&)
{
    // NeuroSim indexes the table by the ideal partial sum 0 .. 2^bits: one row more than codes.
    const NeuroSimCsvCheck c = check_neurosim_csv(text, model.target.levels.size() + 1);
    return {fmt::format("NeuroSim reader contract: {} rows (partial sums 0..{}), mean non-decreasing, std >= 0", c.rows,
                        c.rows - 1),
            -1, 0};
}

ExportCheck simulate(const AdcModel& model, const std::string& text, const ExportOptions& options)
{
    const SpiceModelCheck c = check_spice_model(model, text, options.name);
    if (c.max_error_lsb > kSpiceModelToleranceLsb)
        throw Error(fmt::format("the exported model misses its thresholds by {:.4f} LSB (> {:g})", c.max_error_lsb,
                                kSpiceModelToleranceLsb));
    return {fmt::format("ngspice DC sweep: thresholds within {:.4f} LSB", c.max_error_lsb), c.max_error_lsb,
            c.sweep_step_lsb};
}

std::string write_json(const AdcModel& model, const ExportOptions&) { return model_json(model); }
std::string write_csv(const AdcModel& model, const ExportOptions& options) { return model_csv(model, options); }
std::string write_spice(const AdcModel& model, const ExportOptions& options) { return model_spice(model, options.name); }
std::string write_veriloga(const AdcModel& model, const ExportOptions& options)
{
    return model_veriloga(model, options.name);
}

}  // namespace

const std::vector<ExportFormatInfo>& export_formats()
{
    static const std::vector<ExportFormatInfo> formats = {
        {ExportFormat::json, "json", "adc_model.json", write_json, read_back, "nladc-adc-model JSON"},
        {ExportFormat::csv, "csv", "adc_model.csv", write_csv, neurosim_contract,
         "DNN+NeuroSim V1.5 output-noise table: ADC output mean, std per partial sum 0..2^bits"},
        {ExportFormat::spice, "spice", "adc_model.sp", write_spice, simulate, "ngspice subcircuit"},
        {ExportFormat::veriloga, "veriloga", "adc_model.va", write_veriloga, nullptr,
         "module `nladc_adc(in, code, level)`"},
    };
    return formats;
}

const ExportFormatInfo& export_format(ExportFormat format)
{
    for (const ExportFormatInfo& info : export_formats())
        if (info.format == format) return info;
    throw Error("unknown export format");  // unreachable: every enumerator is in the table
}

std::vector<std::string> export_format_names()
{
    std::vector<std::string> names;
    for (const ExportFormatInfo& info : export_formats()) names.emplace_back(info.name);
    return names;
}

ExportFormat parse_export_format(std::string_view name)
{
    for (const ExportFormatInfo& info : export_formats())
        if (info.name == name) return info.format;
    throw UsageError(fmt::format("\"{}\" is not one of: {}", name, fmt::join(export_format_names(), ", ")));
}

}  // namespace nladc
