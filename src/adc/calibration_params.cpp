// The calibration parameters by name (adc/calibration_params.hpp).
#include "nladc/adc/calibration_params.hpp"

#include <fmt/format.h>

#include "nladc/core/error.hpp"

namespace nladc {

const std::vector<CalibrationParameterInfo>& calibration_parameter_table()
{
    static const std::vector<CalibrationParameterInfo> table = {
        {"offset_V", &CalibrationParams::offset_V, 1e-4},
        {"gain_error", &CalibrationParams::gain_error, 1e-3},
        {"mac_compression", &CalibrationParams::mac_compression, 1e-3},
        {"access_resistance_delta_ohm", &CalibrationParams::access_resistance_delta_ohm, 2.0},
        {"gbw_scale", &CalibrationParams::gbw_scale, 0.01},
        {"leakage_S", &CalibrationParams::leakage_S, 1e-7},
    };
    return table;
}

const CalibrationParameterInfo& calibration_parameter_info(const std::string& name)
{
    for (const auto& info : calibration_parameter_table())
        if (name == info.name) return info;
    std::string names;
    for (const auto& info : calibration_parameter_table()) names += (names.empty() ? "" : ", ") + std::string(info.name);
    throw UsageError(fmt::format("unknown calibration parameter '{}' (expected one of: {})", name, names));
}

const std::vector<std::string>& calibration_parameter_names()
{
    static const std::vector<std::string> names = [] {
        std::vector<std::string> list;
        for (const auto& info : calibration_parameter_table()) list.push_back(info.name);
        return list;
    }();
    return names;
}

void set_calibration_parameter(CalibrationParams& params, const std::string& name, double value)
{
    params.*calibration_parameter_info(name).member = value;
}

double get_calibration_parameter(const CalibrationParams& params, const std::string& name)
{
    return params.*calibration_parameter_info(name).member;
}

}  // namespace nladc
