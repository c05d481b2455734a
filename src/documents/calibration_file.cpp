#include "nladc/documents/calibration_file.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/adc/calibration_params.hpp"
#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::io {

namespace {

/// JSON has no infinity: an unreachable threshold is written as null.
OrderedJson number(double v) { return std::isfinite(v) ? OrderedJson(v) : OrderedJson(nullptr); }

OrderedJson numbers(const std::vector<double>& values)
{
    OrderedJson a = OrderedJson::array();
    for (double v : values) a.push_back(number(v));
    return a;
}

OrderedJson blocks_to_json(const spice::BlockCharacterization& b)
{
    OrderedJson j;
    j["corner"] = std::string(choice_name(b.corner));
    j["temperature_C"] = b.temperature_C;
    j["ota_output_stage_scale"] = b.ota_k;
    j["capacitance_F"] = b.capacitance_F;
    j["load_conductance_S"] = numbers(b.load_conductance_S);
    j["ota_dc_gain"] = b.dc_gain;
    j["ota_unity_gain_Hz"] = numbers(b.unity_gain_Hz);
    j["integrator_loop_unity_gain_Hz"] = numbers(b.loop_unity_gain_Hz);
    j["integrator_phase_margin_deg"] = numbers(b.phase_margin_deg);
    j["ota_offset_V"] = b.offset_V;
    j["ota_supply_A"] = b.supply_A;
    j["ota_slew_fall_V_per_s"] = b.slew_fall_V_per_s;
    j["ota_slew_rise_V_per_s"] = b.slew_rise_V_per_s;
    j["ota_linear_output_V"] = numbers({b.swing_low_V, b.swing_high_V});
    j["ota_operating_point"] = {{"gm_in_S", b.gm_in_S},       {"gds_in_S", b.gds_in_S},
                                {"gds_load_S", b.gds_load_S}, {"gm_driver_S", b.gm_driver_S},
                                {"gds_driver_S", b.gds_driver_S}, {"gds_sink_S", b.gds_sink_S},
                                {"tail_A", b.tail_A},         {"sink_A", b.sink_A}};
    j["single_pole_fit"] = {{"frequency_Hz", b.fit_frequency_Hz}, {"ac_gbw_Hz", b.ac_gbw_Hz},
                            {"ac_output_ohm", b.ac_output_ohm},   {"gbw_Hz", b.gbw_Hz},
                            {"step_fit_rms", b.step_fit_rms}};
    j["reset_switch_ohm_at_0.3_0.6_0.9_V"] = numbers(b.reset_switch_ohm);
    j["select_switch_ohm"] = b.select_switch_ohm;
    j["injected_charge_C"] = {
        {"reset", b.reset_injection_C}, {"select", b.select_injection_C}, {"mirror", b.mirror_injection_C}};
    j["mirror_gain"] = b.mirror_gain;
    j["mirror_raw_gain"] = b.mirror_raw_gain;
    j["conveyor_input_error_V"] = b.conveyor_input_error_V;
    j["conveyor_supply_A"] = b.conveyor_supply_A;
    j["mirror_settling_s"] = b.mirror_settling_s;
    j["comparator_offset_per_mismatch"] = b.comparator_offset_per_mismatch;
    j["simulations"] = b.simulations;
    j["wall_s"] = b.wall_s;
    return j;
}

OrderedJson extracted_to_json(const std::vector<spice::ExtractedParameter>& extracted)
{
    OrderedJson j = OrderedJson::object();
    for (const auto& e : extracted) j[e.key] = {{"value", e.value}, {"unit", e.unit}, {"testbench", e.testbench}};
    return j;
}

}  // namespace

OrderedJson calibration_params_to_json(const CalibrationParams& params)
{
    OrderedJson parameters = OrderedJson::object();
    for (const auto& name : calibration_parameter_names()) parameters[name] = get_calibration_parameter(params, name);
    return parameters;
}

OrderedJson calibration_report_to_json(const CalibrationReport& r)
{
    OrderedJson j;
    j["circuit"] = r.circuit;
    j["max_threshold_error_lsb_nominal"] = r.max_threshold_error_lsb_nominal;
    j["max_threshold_error_lsb_before"] = r.max_threshold_error_lsb_before;
    j["max_threshold_error_lsb_after"] = r.max_threshold_error_lsb_after;
    j["max_threshold_error_lsb_bisection"] = r.max_threshold_error_lsb_bisection;
    j["max_threshold_error_lsb_validation"] = r.max_threshold_error_lsb_validation;
    j["spice_resolution_lsb"] = r.spice_resolution_lsb;
    j["bisection_bracket_lsb"] = r.bisection_bracket_lsb;
    j["tolerance_resolution_lsb"] = r.tolerance_resolution_lsb;
    j["thresholds_checked"] = r.thresholds_checked;
    j["code_agreement"] = r.code_agreement;
    j["code_agreement_all"] = r.code_agreement_all;
    j["code_agreement_near_thresholds"] = r.code_agreement_near;
    j["speedup"] = r.speedup;
    j["speedup_per_conversion_with_setup"] = r.speedup_per_conversion_with_setup;
    j["speedup_per_chip"] = r.speedup_per_chip;
    j["rms_threshold_error_lsb_before"] = r.rms_before_lsb;
    j["rms_threshold_error_lsb_after"] = r.rms_after_lsb;
    j["max_fast_extractor_vs_bisection_lsb"] = r.max_fast_vs_bisection_lsb;
    j["agreement_samples"] = r.agreement_samples;
    j["agreement_samples_far_from_thresholds"] = r.agreement_filtered;
    j["agreement_samples_near_thresholds"] = r.agreement_near;
    j["spice_conversion_s"] = r.spice_conversion_s;
    j["behavioral_conversion_s"] = r.behavioral_conversion_s;
    j["behavioral_setup_s"] = r.behavioral_setup_s;
    j["spice_chip_s"] = r.spice_chip_s;
    j["behavioral_chip_s"] = r.behavioral_chip_s;
    j["timing_note"] = "SPICE on one worker process; behavioral on one thread; setup = model construction and one chip "
                       "instance; a chip = all thresholds (SPICE: the fast extractor)";
    OrderedJson fit;
    fit["parameters"] = r.fitted;
    OrderedJson correlation = OrderedJson::array();
    for (const auto& row : r.fit.correlation) correlation.push_back(numbers(row));
    fit["correlation"] = correlation;
    fit["alone_max_shift_lsb"] = numbers(r.fit.alone_lsb);
    fit["combined_max_shift_lsb"] = r.fit.combined_lsb;
    fit["parameters_cancel"] = r.fit.cancelling;
    fit["verdict"] = r.fit.verdict;
    j["fit"] = fit;
    OrderedJson thresholds = OrderedJson::array();
    for (std::size_t k = 0; k < r.thresholds.size(); ++k) {
        const ThresholdComparison& c = r.thresholds[k];
        thresholds.push_back({{"k", k + 1},
                              {"target", number(c.target)},
                              {"spice", number(c.spice)},
                              {"spice_bracket_lsb", number(c.bracket_lsb)},
                              {"behavioral_before", number(c.before)},
                              {"behavioral_after", number(c.after)},
                              {"error_lsb_before", number(c.before_error_lsb)},
                              {"error_lsb_after", number(c.after_error_lsb)}});
    }
    j["thresholds"] = thresholds;
    OrderedJson validation = OrderedJson::array();
    for (const ValidationResult& v : r.validation)
        validation.push_back({{"name", v.name},
                              {"method", v.method},
                              {"bits", v.bits},
                              {"corner", std::string(choice_name(v.corner))},
                              {"temperature_C", v.temperature_C},
                              {"block_parameters", v.block_parameters},
                              {"max_threshold_error_lsb_before", number(v.max_threshold_error_lsb_before)},
                              {"max_threshold_error_lsb_after", number(v.max_threshold_error_lsb_after)},
                              {"spice_resolution_lsb", number(v.spice_resolution_lsb)},
                              {"improved", v.improved},
                              {"spice", numbers(v.spice)},
                              {"behavioral_before", numbers(v.before)},
                              {"behavioral_after", numbers(v.after)}});
    j["validation"] = validation;
    j["validation_verdict"] = r.validation_verdict;
    OrderedJson ablation = OrderedJson::array();
    for (const AblationEntry& a : r.ablation)
        ablation.push_back({{"nonideality_on_alone", a.nonideality},
                            {"max_spice_error_vs_target_lsb", number(a.max_spice_error_lsb)},
                            {"max_behavioral_before_vs_spice_lsb", number(a.max_behavioral_vs_spice_lsb)}});
    j["ablation"] = ablation;
    j["ablation_circuit"] = "macro";
    if (!r.extracted.empty()) j["block_characterization"] = blocks_to_json(r.blocks);
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
    j["corner"] = std::string(choice_name(conditions.corner));
    j["temperature_C"] = conditions.temperature_C;
    j["circuit"] = report.circuit;
    j["extracted"] = extracted_to_json(report.extracted);
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
                        {"format", "version", "nladc_version", "design_hash", "corner", "temperature_C", "circuit",
                         "extracted", "parameters", "fitted", "report"});
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
    if (document.contains("extracted")) {
        const Json& extracted = document["extracted"];
        const JsonPlace at = place.key("extracted");
        if (!extracted.is_object()) at.fail("expected an object of technology keys");
        Technology probe;
        for (const auto& item : extracted.items()) {
            const JsonPlace entry = at.key(item.key());
            const Json& value = item.value().is_object() ? require(item.value(), entry, "value") : item.value();
            const double v = as_number(value, entry);
            try {
                set_technology_number(probe, item.key(), v);  // unknown key or out of range
            } catch (const Error& e) {
                entry.fail(e.what());
            }
            params.block_parameters.emplace_back(item.key(), v);
        }
    }
    return params;
}

}  // namespace nladc::io
