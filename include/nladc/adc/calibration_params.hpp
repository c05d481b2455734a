#pragma once
// The behavioral model's calibration parameters by name (CalibrationParams in
// adc/behavioral.hpp): the table the fit (study/calibration.hpp), the calibration file
// (documents/calibration_file.hpp) and the characterization all read.

#include <string>
#include <vector>

#include "nladc/adc/behavioral.hpp"

namespace nladc {

struct CalibrationParameterInfo {
    const char* name;
    double CalibrationParams::*member;
    double step;  ///< finite-difference step of the fit's Jacobian (the member's unit)
};

/// Every fittable parameter, in file order.
const std::vector<CalibrationParameterInfo>& calibration_parameter_table();
/// Throws UsageError naming the expected names for an unknown name.
const CalibrationParameterInfo& calibration_parameter_info(const std::string& name);

const std::vector<std::string>& calibration_parameter_names();
/// Sets a CalibrationParams member by name; throws UsageError for an unknown name.
void set_calibration_parameter(CalibrationParams& params, const std::string& name, double value);
double get_calibration_parameter(const CalibrationParams& params, const std::string& name);

}  // namespace nladc
