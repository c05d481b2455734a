#include "nladc/documents/study_file.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nladc/core/error.hpp"
#include "nladc/device/technology.hpp"
#include "nladc/io/params_json.hpp"

namespace nladc {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

const ParamTable<StudySpec>& study_table()
{
    using S = StudySpec;
    static const ParamTable<S> table = {
        {"design", &S::design, "", "design JSON (nladc map); empty = the embedded default design", "-"},
        {"technology", &S::technology, "", "technology JSON; empty = the design's", "-"},
        {"calibration", &S::calibration, "", "calibrated.json (nladc calibrate); empty = none", "-"},
        {"activations", &S::activations, "", "activations for the effective MSE; empty = the embedded synthetic set",
         "-"},
        {"trials", &S::trials, "", "number of Monte Carlo chips", "choice", 1, 1e9},
        {"seed", &S::seed, "", "seed of every draw (Philox keyed by seed and trial)", "choice"},
        {"block_size", &S::block_size, "", "trials per result block (unit of resuming and sharding)", "choice", 1, 1e7},
    };
    return table;
}

const ParamTable<VariationParams>& variation_table()
{
    using V = VariationParams;
    static const ParamTable<V> table = {
        {"v_read_sigma_rel", &V::v_read_sigma_rel, "", "chip-to-chip read-voltage spread (relative)", "choice", 0, 1},
        {"drift_factor_sigma", &V::drift_factor_sigma, "", "spread of the drift factor common to a chip's cells",
         "choice", 0, 1},
        {"wire_resistance_sigma_rel", &V::wire_resistance_sigma_rel, "", "chip-to-chip wire-resistance spread (relative)",
         "choice", 0, 1},
    };
    return table;
}

const ParamTable<TrimParams>& trim_table()
{
    using T = TrimParams;
    static const ParamTable<T> table = {
        {"policy", &T::policy, "", "per-chip trim with the calibration (spare) cells", "Yang et al., Nat. Commun. 2025",
         -kInf, kInf, {"none", "spares"}},
        {"inl_spec_lsb", &T::inl_spec_lsb, "LSB", "yield spec: max |INL|", "choice", 0, 1e6},
        {"dnl_spec", &T::dnl_spec, "", "yield spec: max |DNL| (relative to the target code width)", "choice", 0, 1e6},
        {"rounds", &T::rounds, "", "measure-and-trim rounds", "choice", 1, 10},
    };
    return table;
}

const ParamTable<SpiceMcParams>& spice_mc_table()
{
    using P = SpiceMcParams;
    static const ParamTable<P> table = {
        {"trials", &P::trials, "", "the first N trials also run in SPICE (0 = none)", "choice", 0, 1e6},
        {"corner", choice_member<&P::corner>(), "", "process corner of the SPICE trials", "choice"},
        {"workers", &P::workers, "", "ngspice worker processes", "choice", 1, 256},
        {"circuit", &P::circuit, "", "SPICE circuit of the trials: transistor or macro (single-pole macromodels)",
         "choice", -kInf, kInf, {"transistor", "macro"}},
    };
    return table;
}

namespace {

using namespace io;

/// Version 1 held the device's and the comparator's spreads in "variation", with these
/// defaults (ReADC; StrongARM, 65 nm); they become technology overrides.
struct LegacyVariationKey {
    std::string_view key, technology_key;
    double default_value;
};
constexpr LegacyVariationKey kVersion1Keys[] = {
    {"program_sigma_S", "device.program_sigma_S", 2.73e-6},
    {"program_sigma_rel", "device.program_sigma_rel", 0.0},
    {"verify_tolerance_S", "device.verify_tolerance_S", 5e-6},
    {"read_noise_sigma_S", "device.read_noise_sigma_S", 0.14e-6},
    {"stuck_off_probability", "device.stuck_off_probability", 1e-3},
    {"stuck_on_probability", "device.stuck_on_probability", 5e-4},
    {"comparator_offset_sigma_V", "comparator.offset_sigma_V", 2e-3},
    {"drift_sigma_rel", "device.drift_sigma_rel", 0.0},
};

/// A version-1 "variation" object: the chip-level keys stay, the others become overrides.
Json split_version1_variation(const Json& variation, const JsonPlace& place, StudySpec& spec)
{
    if (!variation.is_object()) place.fail("expected an object");
    Json chip_level = Json::object();
    for (const auto& [key, value] : variation.items()) {
        bool legacy = false;
        for (const auto& old : kVersion1Keys) legacy = legacy || old.key == key;
        if (!legacy) chip_level[key] = value;
    }
    for (const auto& old : kVersion1Keys) {
        const std::string key(old.key);
        double value = variation.contains(key) ? as_number(variation[key], place.key(key)) : old.default_value;
        Technology check;  // range-checked by the technology's own table
        try {
            set_technology_number(check, old.technology_key, value);
        } catch (const Error& e) {
            place.key(key).fail(e.what());
        }
        if (old.key == "verify_tolerance_S" && value == 0.0) {
            // "0 = a single write" in version 1: one programming pulse, whatever it reads.
            spec.technology_overrides.emplace_back("device.verify_max_iterations", 1.0);
            continue;
        }
        spec.technology_overrides.emplace_back(std::string(old.technology_key), value);
    }
    return chip_level;
}

/// One entry per key, the last given value winning, in technology_variation_keys() order:
/// the same overrides always read, write and hash the same.
std::vector<std::pair<std::string, double>> canonical(const std::vector<std::pair<std::string, double>>& overrides)
{
    std::vector<std::pair<std::string, double>> out;
    for (std::string_view key : technology_variation_keys())
        for (auto it = overrides.rbegin(); it != overrides.rend(); ++it)
            if (it->first == key) {
                out.emplace_back(it->first, it->second);
                break;
            }
    return out;
}

void load_overrides(const Json& overrides, const JsonPlace& place, StudySpec& spec)
{
    if (!overrides.is_object()) place.fail("expected an object of technology keys, e.g. {\"device.program_sigma_S\": 3e-6}");
    const auto& allowed = technology_variation_keys();
    for (const auto& [key, value] : overrides.items()) {
        const JsonPlace at = place.key(key);
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            at.fail(fmt::format("is not a variation key of the technology (one of: {})", fmt::join(allowed, ", ")));
        const double number = as_number(value, at);
        Technology check;  // range-checked by the technology's own table
        try {
            set_technology_number(check, key, number);
        } catch (const Error& e) {
            at.fail(e.what());
        }
        spec.technology_overrides.emplace_back(key, number);
    }
}

}  // namespace

namespace io {

StudySpec study_from_json(const Json& object, const JsonPlace& place, int version)
{
    std::vector<std::string_view> keys = {"format", "version", "variation", "technology_overrides", "trim", "spice"};
    for (const auto& field : study_table()) keys.push_back(field.key);
    reject_unknown_keys(object, place, keys);
    if (object.contains("format") || object.contains("version")) version = format_version(object, place, "nladc-study", 2);
    StudySpec spec;
    Json top = Json::object();
    for (const auto& [key, value] : object.items())
        if (std::find(keys.begin(), keys.begin() + 6, key) == keys.begin() + 6) top[key] = value;
    load_params(top, place, study_table(), spec);
    Json variation = object.contains("variation") ? object["variation"] : Json::object();
    if (version == 1) {
        if (object.contains("technology_overrides"))
            place.key("technology_overrides").fail("is a version 2 key (this file says version 1)");
        variation = split_version1_variation(variation, place.key("variation"), spec);
    }
    load_params(variation, place.key("variation"), variation_table(), spec.variation);
    if (object.contains("technology_overrides"))
        load_overrides(object["technology_overrides"], place.key("technology_overrides"), spec);
    if (object.contains("trim")) load_params(object["trim"], place.key("trim"), trim_table(), spec.trim);
    if (object.contains("spice")) load_params(object["spice"], place.key("spice"), spice_mc_table(), spec.spice);
    spec.technology_overrides = canonical(spec.technology_overrides);
    Technology overridden;
    for (const auto& [key, value] : spec.technology_overrides) set_technology_number(overridden, key, value);
    if (overridden.device.stuck_off_probability + overridden.device.stuck_on_probability > 1)
        place.key(version == 1 ? "variation" : "technology_overrides")
            .key(version == 1 ? "stuck_on_probability" : "device.stuck_on_probability")
            .fail("stuck-at-OFF and stuck-at-ON add up to more than 1");
    if (spec.spice.trials > spec.trials)
        place.key("spice").key("trials").fail(fmt::format("{} exceeds trials = {}", spec.spice.trials, spec.trials));
    return spec;
}

StudySpec read_study(const std::filesystem::path& file)
{
    StudySpec spec = study_from_json(read_json_file(file), JsonPlace(file.string()));
    for (std::string* path : {&spec.design, &spec.technology, &spec.calibration, &spec.activations})
        if (!path->empty() && std::filesystem::path(*path).is_relative())
            *path = (file.parent_path() / *path).lexically_normal().string();
    return spec;
}

OrderedJson study_to_json(const StudySpec& spec)
{
    OrderedJson j;
    j["format"] = "nladc-study";
    j["version"] = 2;
    const OrderedJson top = dump_params(spec, study_table());
    for (const auto& item : top.items()) j[item.key()] = item.value();
    j["variation"] = dump_params(spec.variation, variation_table());
    j["technology_overrides"] = OrderedJson::object();
    for (const auto& [key, value] : canonical(spec.technology_overrides)) j["technology_overrides"][key] = value;
    j["trim"] = dump_params(spec.trim, trim_table());
    j["spice"] = dump_params(spec.spice, spice_mc_table());
    return j;
}

}  // namespace io

}  // namespace nladc
