// Step `export` (steps/export.hpp).
#include "nladc/steps/export.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::steps {

namespace {

/// Runs the format's check on `text`, then writes it: a model that fails is never written.
std::optional<ExportCheck> write_checked(const ExportFormatInfo& info, const AdcModel& model, const std::string& text,
                                         const std::filesystem::path& file, const ExportOptions& options, bool check)
{
    std::optional<ExportCheck> result;
    if (check && info.check) result = info.check(model, text, options);
    io::write_file_atomic(file, text);
    return result;
}

}  // namespace

ExportResult run_export(const ExportRequest& request)
{
    if (request.name.empty() ||
        request.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
            std::string::npos)
        throw UsageError(fmt::format("--name '{}': use letters, digits and '_'", request.name));
    const ExportFormatInfo& info = export_format(request.format);
    if (request.check && !info.check)
        throw UsageError(fmt::format("--check: the {} format has nothing to simulate or read back", info.name));
    if (request.partial_sum_scale) {
        if (request.format != ExportFormat::csv)
            throw UsageError(fmt::format("--partial-sum-scale: only the csv format has partial sums, not {}", info.name));
        if (!(std::isfinite(*request.partial_sum_scale) && *request.partial_sum_scale > 0))
            throw UsageError(fmt::format("--partial-sum-scale {}: must be a positive number of input units per count",
                                         *request.partial_sum_scale));
    }
    const ExportOptions options{request.name, request.partial_sum_scale};
    ExportResult result;
    result.model = model_from_characterization(request.from);
    const std::string text = info.write(result.model, options);
    result.check = write_checked(info, result.model, text, request.out, options, request.check);
    return result;
}

std::vector<ExportedFile> export_all(const AdcModel& model, const std::vector<ExportFormat>& formats,
                                     const std::filesystem::path& dir, const ExportOptions& options)
{
    std::vector<ExportedFile> files;
    for (ExportFormat format : formats) {
        const ExportFormatInfo& info = export_format(format);
        const auto check = write_checked(info, model, info.write(model, options), dir / info.file_name, options, true);
        files.push_back({&info, std::string(info.file_name), check ? check->verdict : std::string(info.description)});
    }
    return files;
}

}  // namespace nladc::steps
