#pragma once
// Step `export`: a characterized ADC model written in one format (export/export.hpp's
// table), then checked the format's way (SPICE: an ngspice DC sweep; JSON: read back;
// CSV: read back as DNN+NeuroSim V1.5 reads it).

#include <optional>
#include <string>

#include "nladc/export/export.hpp"

namespace nladc::steps {

struct ExportRequest {
    std::string from;  ///< an `nladc characterize` output directory
    ExportFormat format = ExportFormat::json;
    std::string out;
    std::string name = "nladc_adc";  ///< subcircuit / module name: letters, digits, '_'
    /// csv only (UsageError otherwise): input units per partial-sum count; empty: the LSB.
    std::optional<double> partial_sum_scale;
    bool check = false;  ///< run the format's check (UsageError if it has none)
};

struct ExportResult {
    AdcModel model;
    std::optional<ExportCheck> check;
};

/// Writes request.out atomically; a model that fails its check is not written.
ExportResult run_export(const ExportRequest& request);

/// The model of a characterization directory in every listed format into `dir`, each under
/// its table file name and checked when the format has a check (the flow's export stage).
struct ExportedFile {
    const ExportFormatInfo* format = nullptr;
    std::string file;
    std::string check;  ///< the check's verdict, or the format's description
};
std::vector<ExportedFile> export_all(const AdcModel& model, const std::vector<ExportFormat>& formats,
                                     const std::filesystem::path& dir, const ExportOptions& options = {});

}  // namespace nladc::steps
