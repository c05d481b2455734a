// The export format table (export/export.hpp): writer and check per format.
#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "nladc/export/export.hpp"

namespace nladc {

namespace {

ExportCheck read_back(const AdcModel&, const std::string& text, const std::string&)
{
    // The reader accepts what the writer wrote.
    const AdcModel back = adc_model_from_json(io::Json::parse(text), "the exported JSON model");
    return {fmt::format("read back: {} thresholds", back.mean.size()), -1, 0};
}

ExportCheck simulate(const AdcModel& model, const std::string& text, const std::string& name)
{
    const SpiceModelCheck c = check_spice_model(model, text, name);
    if (c.max_error_lsb > kSpiceModelToleranceLsb)
        throw Error(fmt::format("the exported model misses its thresholds by {:.4f} LSB (> {:g})", c.max_error_lsb,
                                kSpiceModelToleranceLsb));
    return {fmt::format("ngspice DC sweep: thresholds within {:.4f} LSB", c.max_error_lsb), c.max_error_lsb,
            c.sweep_step_lsb};
}

std::string write_json(const AdcModel& model, const std::string&) { return model_json(model); }
std::string write_csv(const AdcModel& model, const std::string&) { return model_csv(model); }

}  // namespace

const std::vector<ExportFormatInfo>& export_formats()
{
    static const std::vector<ExportFormatInfo> formats = {
        {ExportFormat::json, "json", "adc_model.json", write_json, read_back, "nladc-adc-model JSON"},
        {ExportFormat::csv, "csv", "adc_model.csv", write_csv, nullptr, "NeuroSim `output,mean,std` per code"},
        {ExportFormat::spice, "spice", "adc_model.sp", model_spice, simulate, "ngspice subcircuit"},
        {ExportFormat::veriloga, "veriloga", "adc_model.va", model_veriloga, nullptr,
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
