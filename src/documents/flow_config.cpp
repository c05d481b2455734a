// The flow configuration (`nladc-flow`, version 2): parameter tables for the scalar keys,
// explicit handling of the lists, the nested SPICE section and the embedded study.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/documents/flow_config.hpp"
#include "nladc/io/params_json.hpp"
#include "nladc/quant/quantizer.hpp"

namespace nladc {

namespace {

const ParamTable<FlowConfig>& flow_table()
{
    using F = FlowConfig;
    static const ParamTable<F> table = {
        {"activations", &F::activations, "", "activation file (.npy/.npz/.csv/.f32); empty = the embedded synthetic data",
         "-"},
        {"drop_nonfinite", &F::drop_nonfinite, "", "skip NaN/Inf samples (counted) instead of failing", "choice"},
        {"bits", &F::bits, "", "resolution of the designed NL-ADC", "choice", 1, 8},
        {"method", &F::method, "", "quantizer of the designed level set", "BS-KMQ (the paper's method)", -INFINITY,
         INFINITY, quantizer_names()},
        {"variant", &F::variant, "", "variant of the method; empty = its default (docs/levels.md)", "-"},
        {"technology", &F::technology, "", "technology JSON; empty = the defaults (docs/technology.md)", "-"},
        {"calibration_cells", &F::calibration_cells, "", "spare bias cells per replica column", "Yang 2025 (5 per column)",
         0, 65536},
        {"compensate", &F::compensate, "",
         "pre-distort the replica steps so the nominal behavioral model hits the targets (IR drop, integrators)",
         "choice"},
        {"ramp_points", &F::ramp_points, "", "characterization code-density ramp length", "choice (>= 1e6)", 1000,
         1e8},
        {"threads", &F::threads, "", "Monte Carlo threads; 0 = all cores (results do not depend on it)", "-", 0, 4096},
    };
    return table;
}

const ParamTable<FlowSpiceParams>& flow_spice_table()
{
    using P = FlowSpiceParams;
    static const ParamTable<P> table = {
        {"enabled", &P::enabled, "", "simulate netlists in ngspice: calibration and SPICE Monte Carlo", "-"},
        {"corner", choice_member<&P::corner>(), "", "process corner", "-"},
        {"temperature_C", &P::temperature_C, "C", "simulation temperature", "-", -55, 150},
        {"workers", &P::workers, "", "ngspice worker processes", "2 cores", 1, 256},
        {"circuit", &P::circuit, "", "SPICE circuit of the netlists, calibration and SPICE Monte Carlo: transistor "
         "(OTA integrators, switches, conveyor, BSIM4 access devices) or macro (single-pole macromodels)",
         "-", -INFINITY, INFINITY, {"transistor", "macro"}},
        {"agreement_samples", &P::agreement_samples, "", "full SPICE conversions at uniform MAC values for the code agreement",
         "choice (about 8 s each, transistor level)", 0, 100000},
        {"near_threshold_samples", &P::near_threshold_samples, "",
         "more full SPICE conversions per threshold, within 0.2 LSB of it", "choice (nladc calibrate: 2)", 0, 100},
        {"bisection_thresholds", &P::bisection_thresholds, "",
         "thresholds bracketed on full conversions to 0.0015 LSB (0 = all; nladc calibrate brackets all)",
         "choice (keeps the flow within 5 minutes)", 0, 65536},
        {"validations", &P::validations, "",
         "held-out designs checked without refitting, comma-separated: method, bits, corner (nladc calibrate: all three)",
         "choice (keeps the flow within 5 minutes)"},
        {"ablation", &P::ablation, "", "each nonideality alone in SPICE (macromodel)", "choice (about 30 s)"},
    };
    return table;
}

using io::Json;
using io::JsonPlace;

/// The keys of an `nladc-study` that the flow sets itself.
constexpr std::string_view kStudyFileKeys[] = {"design", "technology", "calibration", "activations"};


}  // namespace

namespace io {

FlowConfig flow_config_from_json(const Json& object, const JsonPlace& place)
{
    if (!object.is_object()) place.fail("expected an object");
    // Keys outside the parameter table: lists, the range and the nested sections.
    const std::vector<std::string_view> special = {"format",  "version",   "layers", "range",      "compare_bits",
                                                   "exports", "area_bits", "spice",  "monte_carlo", "dnn"};
    std::vector<std::string_view> keys = special;
    for (const auto& field : flow_table()) keys.push_back(field.key);
    reject_unknown_keys(object, place, keys);
    // Version 2: the Monte Carlo section is a version-2 study (the device's spreads come
    // from the technology); a version-1 config's study is read as version 1.
    const int version = format_version(object, place, "nladc-flow", 2);

    FlowConfig config;
    Json top = Json::object();
    for (const auto& item : object.items())
        if (std::find(special.begin(), special.end(), item.key()) == special.end()) top[item.key()] = item.value();
    load_params(top, place, flow_table(), config);
    if (object.contains("layers")) config.layers = io::list_of<std::string>(object["layers"], place.key("layers"), io::as_string);
    if (object.contains("range")) {
        const JsonPlace at = place.key("range");
        const Json& range = object["range"];
        if (!range.is_array() || range.size() != 2) at.fail(fmt::format("{} is not [lo, hi]", range.dump()));
        config.lo = as_number(range[0], at.index(0));
        config.hi = as_number(range[1], at.index(1));
        if (!(config.lo < config.hi)) at.fail(fmt::format("{} is not an interval with lo < hi", range.dump()));
        config.range_given = true;
    }
    if (object.contains("compare_bits"))
        config.compare_bits = io::list_of<int>(object["compare_bits"], place.key("compare_bits"), io::as_bit_width);
    if (object.contains("area_bits")) config.area_bits = io::list_of<int>(object["area_bits"], place.key("area_bits"), io::as_bit_width);
    if (object.contains("exports")) {
        config.exports = io::list_of<std::string>(object["exports"], place.key("exports"), io::as_string);
        for (std::size_t i = 0; i < config.exports.size(); ++i) {
            const std::string& f = config.exports[i];
            if (f != "json" && f != "csv" && f != "spice" && f != "veriloga")
                place.key("exports").index(i).fail(fmt::format("\"{}\" is not one of: json, csv, spice, veriloga", f));
        }
    }
    for (const auto* list : {&config.compare_bits, &config.area_bits})
        if (list->empty()) place.key(list == &config.compare_bits ? "compare_bits" : "area_bits").fail("is empty");
    if (object.contains("spice")) load_params(object["spice"], place.key("spice"), flow_spice_table(), config.spice);
    if (object.contains("dnn")) {
        // An nladc-dnn config without format and version, plus "enabled".
        const JsonPlace at = place.key("dnn");
        Json section = object["dnn"];
        if (!section.is_object()) at.fail("expected an object");
        if (section.contains("enabled")) {
            config.dnn_enabled = as_bool(section["enabled"], at.key("enabled"));
            section.erase("enabled");
        }
        for (const char* key : {"format", "version"})
            if (section.contains(key)) at.key(key).fail("belongs to a standalone nladc-dnn file, not the flow's dnn section");
        config.dnn = dnn_config_from_json(section, at);
    }
    const JsonPlace study_at = place.key("monte_carlo");
    const Json study = object.contains("monte_carlo") ? object["monte_carlo"] : Json::object();
    if (!study.is_object()) study_at.fail("expected an object");
    for (std::string_view key : kStudyFileKeys)
        if (study.contains(key)) study_at.key(key).fail("is set by the flow (from its own stages)");
    config.monte_carlo = study_from_json(study, study_at, version);
    if (!object.contains("monte_carlo")) {
        // A transistor-level chip takes ~15 s of the flow's two SPICE workers: with four the
        // default flow took 314 s on 2 cores, with two it stays within 5 minutes.
        config.monte_carlo.spice.trials = 2;
    }
    if (!config.spice.enabled) config.monte_carlo.spice.trials = 0;
    config.monte_carlo.spice.circuit = config.spice.circuit;
    return config;
}

FlowConfig read_flow_config(const std::filesystem::path& file)
{
    FlowConfig config = flow_config_from_json(read_json_file(file), JsonPlace(file.string()));
    for (std::string* path : {&config.activations, &config.technology}) {
        if (path->empty()) continue;
        if (std::filesystem::path(*path).is_relative())
            *path = (file.parent_path() / *path).lexically_normal().string();
        // Fail now, not after the long stages.
        std::error_code error;  // the non-throwing overload: a bad path is an input error, not a crash
        if (!std::filesystem::is_regular_file(*path, error))
            throw InputError(file.string(), path == &config.activations ? "activations" : "technology",
                             fmt::format("\"{}\" does not exist or is not a file", *path));
    }
    resolve_dnn_paths(config.dnn, file.parent_path(), JsonPlace(file.string()).key("dnn"));
    return config;
}

OrderedJson flow_config_to_json(const FlowConfig& config)
{
    OrderedJson j;
    j["format"] = "nladc-flow";
    j["version"] = 2;
    const OrderedJson top = dump_params(config, flow_table());
    for (const auto& item : top.items()) {
        j[item.key()] = item.value();
        if (item.key() == "drop_nonfinite") {
            j["layers"] = config.layers;
            if (config.range_given) j["range"] = {config.lo, config.hi};
        }
    }
    j["compare_bits"] = config.compare_bits;
    j["exports"] = config.exports;
    j["area_bits"] = config.area_bits;
    j["spice"] = dump_params(config.spice, flow_spice_table());
    OrderedJson study = study_to_json(config.monte_carlo);
    study.erase("format");
    study.erase("version");
    for (std::string_view key : kStudyFileKeys) study.erase(std::string(key));
    j["monte_carlo"] = study;
    OrderedJson dnn = dnn_config_to_json(config.dnn);
    dnn.erase("format");
    dnn.erase("version");
    j["dnn"] = {{"enabled", config.dnn_enabled}};
    for (const auto& item : dnn.items()) j["dnn"][item.key()] = item.value();
    return j;
}

std::string describe_flow_config()
{
    std::string out = "| key | unit | default | range | provenance | meaning |\n|---|---|---|---|---|---|\n";
    const FlowConfig defaults = flow_config_from_json(Json::object(), JsonPlace("defaults"));
    std::string top = describe_params("", defaults, flow_table());
    // Top-level keys have no section prefix.
    for (std::size_t at = top.find("`."); at != std::string::npos; at = top.find("`.", at)) top.erase(at + 1, 1);
    out += top;
    out += "| `layers` | – | [] | npz members | - | layers to design for; empty = every layer of the file |\n";
    out += "| `range` | input units | data min, max | lo < hi | - | level range [lo, hi] |\n";
    out += "| `compare_bits` | – | [3, 4, 5, 6] | 1..16 each | - | bit widths of the quantizer comparison |\n";
    out += "| `exports` | – | [\"json\", \"csv\", \"spice\", \"veriloga\"] | those | - | exported model formats |\n";
    out += "| `area_bits` | – | [3, 4, 5, 6] | 1..16 each | - | bit widths of the area/energy comparison |\n";
    out += describe_params("spice", defaults.spice, flow_spice_table());
    // The Monte Carlo section is an nladc-study without its file keys (docs/montecarlo.md).
    std::string study = describe_params("monte_carlo", defaults.monte_carlo, study_table());
    std::string kept;
    std::size_t start = 0;
    while (start < study.size()) {
        const std::size_t end = study.find('\n', start);
        const std::string line = study.substr(start, end - start + 1);
        bool file_key = false;
        for (std::string_view key : kStudyFileKeys) file_key = file_key || line.find(fmt::format("`monte_carlo.{}`", key)) != std::string::npos;
        if (!file_key) kept += line;
        start = end + 1;
    }
    out += kept;
    out += describe_params("monte_carlo.variation", defaults.monte_carlo.variation, variation_table());
    out += "| `monte_carlo.technology_overrides` | SI per key | {} | variation keys of the technology | - | this "
           "study's values of the technology's cell and comparator spreads (`device.program_sigma_S`, ..., "
           "`comparator.offset_sigma_V`); absent keys keep the technology's (docs/montecarlo.md) |\n";
    out += describe_params("monte_carlo.trim", defaults.monte_carlo.trim, trim_table());
    out += describe_params("monte_carlo.spice", defaults.monte_carlo.spice, spice_mc_table());
    out += "| `dnn.enabled` | – | false | - | issue 8 (off in the default flow) | run the network-level accuracy "
           "stage (`nladc dnn`, docs/dnn.md); its technology defaults to the flow's |\n";
    out += describe_dnn_config_rows("dnn");
    return out;
}

}  // namespace io

}  // namespace nladc
