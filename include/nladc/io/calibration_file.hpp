#pragma once
// Calibration files (format "nladc-calibration", version 1): the fitted behavioral
// parameters, the conditions (design hash, corner, temperature) and the report.
// The report alone is also written next to it as "<name>.report.json".

#include <filesystem>
#include <string>

#include "nladc/io/json.hpp"
#include "nladc/study/calibration.hpp"

namespace nladc::io {

struct CalibrationConditions {
    std::string design_hash, corner = "TT";
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
