#include "nladc/documents/study_file.hpp"

#include <fmt/format.h>

#include "nladc/io/params_json.hpp"

namespace nladc {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::string_view kReadc = "ReADC, Nat. Commun. 2025";
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
        {"program_sigma_S", &V::program_sigma_S, "S", "programming error sigma of each replica cell", kReadc, 0, 1},
        {"program_sigma_rel", &V::program_sigma_rel, "", "relative programming error sigma", "choice", 0, 1},
        {"verify_tolerance_S", &V::verify_tolerance_S, "S", "program-and-verify band; 0 = a single write", kReadc, 0, 1},
        {"read_noise_sigma_S", &V::read_noise_sigma_S, "S", "read noise seen by program-and-verify", kReadc, 0, 1},
        {"stuck_off_probability", &V::stuck_off_probability, "", "probability a cell is stuck at OFF", "choice", 0, 1},
        {"stuck_on_probability", &V::stuck_on_probability, "", "probability a cell is stuck at ON", "choice", 0, 1},
        {"comparator_offset_sigma_V", &V::comparator_offset_sigma_V, "V", "comparator mismatch offset sigma",
         "choice (StrongARM, 65 nm)", 0, 1},
        {"v_read_sigma_rel", &V::v_read_sigma_rel, "", "chip-to-chip read-voltage spread (relative)", "choice", 0, 1},
        {"drift_factor_sigma", &V::drift_factor_sigma, "", "spread of the drift factor common to a chip's cells",
         "choice", 0, 1},
        {"drift_sigma_rel", &V::drift_sigma_rel, "", "per-cell drift spread (relative)", "choice", 0, 1},
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

namespace io {

StudySpec study_from_json(const Json& object, const JsonPlace& place)
{
    std::vector<std::string_view> keys = {"format", "version", "variation", "trim", "spice"};
    for (const auto& field : study_table()) keys.push_back(field.key);
    reject_unknown_keys(object, place, keys);
    check_format_version(object, place, "nladc-study");
    StudySpec spec;
    Json top = Json::object();
    for (const auto& [key, value] : object.items())
        if (key != "format" && key != "version" && key != "variation" && key != "trim" && key != "spice") top[key] = value;
    load_params(top, place, study_table(), spec);
    if (object.contains("variation")) load_params(object["variation"], place.key("variation"), variation_table(), spec.variation);
    if (object.contains("trim")) load_params(object["trim"], place.key("trim"), trim_table(), spec.trim);
    if (object.contains("spice")) load_params(object["spice"], place.key("spice"), spice_mc_table(), spec.spice);
    if (spec.variation.stuck_off_probability + spec.variation.stuck_on_probability > 1)
        place.key("variation").key("stuck_on_probability").fail("stuck-at-OFF and stuck-at-ON add up to more than 1");
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
    j["version"] = 1;
    const OrderedJson top = dump_params(spec, study_table());
    for (const auto& item : top.items()) j[item.key()] = item.value();
    j["variation"] = dump_params(spec.variation, variation_table());
    j["trim"] = dump_params(spec.trim, trim_table());
    j["spice"] = dump_params(spec.spice, spice_mc_table());
    return j;
}

}  // namespace io

}  // namespace nladc
