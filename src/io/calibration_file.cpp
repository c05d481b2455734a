#include "nladc/io/calibration_file.hpp"

#include <fmt/format.h>

#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::io {

OrderedJson calibration_params_to_json(const CalibrationParams& params)
{
    OrderedJson parameters = OrderedJson::object();
    for (const auto& name : calibration_parameter_names()) parameters[name] = get_calibration_parameter(params, name);
    return parameters;
}

OrderedJson calibration_report_to_json(const CalibrationReport& r)
{
    OrderedJson j;
    j["max_threshold_error_lsb_before"] = r.max_threshold_error_lsb_before;
    j["max_threshold_error_lsb_after"] = r.max_threshold_error_lsb_after;
    j["max_threshold_error_lsb_bisection"] = r.max_threshold_error_lsb_bisection;
    j["max_threshold_error_lsb_validation"] = r.max_threshold_error_lsb_validation;
    j["code_agreement"] = r.code_agreement;
    j["code_agreement_all"] = r.code_agreement_all;
    j["speedup"] = r.speedup;
    j["rms_threshold_error_lsb_before"] = r.rms_before_lsb;
    j["rms_threshold_error_lsb_after"] = r.rms_after_lsb;
    j["max_fast_extractor_vs_bisection_lsb"] = r.max_fast_vs_bisection_lsb;
    j["validation_level_set"] = r.validation_label;
    j["agreement_samples"] = r.agreement_samples;
    j["agreement_samples_far_from_thresholds"] = r.agreement_filtered;
    j["spice_conversion_s"] = r.spice_conversion_s;
    j["behavioral_conversion_s"] = r.behavioral_conversion_s;
    OrderedJson thresholds = OrderedJson::array();
    for (std::size_t k = 0; k < r.thresholds.size(); ++k) {
        const ThresholdComparison& c = r.thresholds[k];
        thresholds.push_back({{"k", k + 1},
                              {"target", c.target},
                              {"spice", c.spice},
                              {"behavioral_before", c.before},
                              {"behavioral_after", c.after},
                              {"error_lsb_before", c.before_error_lsb},
                              {"error_lsb_after", c.after_error_lsb}});
    }
    j["thresholds"] = thresholds;
    OrderedJson bisection = OrderedJson::array();
    for (std::size_t i = 0; i < r.bisection_k.size(); ++i)
        bisection.push_back({{"k", r.bisection_k[i]}, {"bisection", r.bisection_T[i]}, {"fast", r.bisection_fast_T[i]}});
    j["bisection"] = bisection;
    OrderedJson ablation = OrderedJson::array();
    for (const AblationEntry& a : r.ablation)
        ablation.push_back({{"nonideality_on_alone", a.nonideality},
                            {"max_spice_error_vs_target_lsb", a.max_spice_error_lsb},
                            {"max_behavioral_before_vs_spice_lsb", a.max_behavioral_vs_spice_lsb}});
    j["ablation"] = ablation;
    j["simulations"] = r.simulations;
    j["wall_s"] = r.wall_s;
    return j;
}

std::filesystem::path write_calibration(const std::filesystem::path& file, const CalibrationReport& report,
                                        const CalibrationConditions& conditions)
{
    OrderedJson j;
    j["format"] = "nladc-calibration";
    j["version"] = 1;
    j["nladc_version"] = std::string(version());
    j["design_hash"] = conditions.design_hash;
    j["corner"] = conditions.corner;
    j["temperature_C"] = conditions.temperature_C;
    j["parameters"] = calibration_params_to_json(report.parameters);
    j["fitted"] = report.fitted;
    const OrderedJson report_json = calibration_report_to_json(report);
    j["report"] = report_json;
    std::filesystem::path report_file = file;
    report_file.replace_extension(".report.json");
    write_file_atomic(report_file, dump_json(report_json));
    write_file_atomic(file, dump_json(j));
    return report_file;
}

CalibrationParams read_calibration(const std::filesystem::path& file)
{
    const Json document = read_json_file(file);
    const JsonPlace place(file.string());
    reject_unknown_keys(document, place,
                        {"format", "version", "nladc_version", "design_hash", "corner", "temperature_C", "parameters",
                         "fitted", "report"});
    require(document, place, "format");
    check_format_version(document, place, "nladc-calibration");
    const Json& parameters = require(document, place, "parameters");
    std::vector<std::string_view> names;
    for (const auto& name : calibration_parameter_names()) names.push_back(name);
    reject_unknown_keys(parameters, place.key("parameters"), names);
    CalibrationParams params;
    for (const auto& item : parameters.items())
        set_calibration_parameter(params, item.key(), as_number(item.value(), place.key("parameters").key(item.key())));
    if (!(params.gbw_scale > 0)) place.key("parameters").key("gbw_scale").fail(fmt::format("{:g} must be positive", params.gbw_scale));
    return params;
}

}  // namespace nladc::io
