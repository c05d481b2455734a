// Characterization files, read side (documents/characterization_file.hpp).
#include "nladc/documents/characterization_file.hpp"

#include "nladc/documents/levelset_file.hpp"
#include "nladc/io/json.hpp"

namespace nladc::io {

CharacterizationRecord read_characterization_file(const std::filesystem::path& dir)
{
    const std::filesystem::path file = dir / "characterization.json";
    const Json doc = read_json_file(file);
    const JsonPlace place(file.string());
    const auto format = doc.find("format");
    if (format == doc.end() || !format->is_string() || format->get<std::string>() != "nladc-characterization")
        place.key("format").fail("is not \"nladc-characterization\" (is DIR an `nladc characterize` output?)");
    CharacterizationRecord r;
    if (const auto hash = doc.find("design_hash"); hash != doc.end() && hash->is_string()) r.design_hash = *hash;
    r.levels = levelset_from_json(require(doc, place, "levelset"), place.key("levelset")).set;
    const Json& thresholds = require(doc, place, "thresholds");
    if (!thresholds.is_array()) place.key("thresholds").fail("is not an array");
    for (std::size_t k = 0; k < thresholds.size(); ++k) {
        const JsonPlace at = place.key("thresholds").index(k);
        const Json& t = thresholds[k];
        CharacterizedThreshold c;
        c.bisection = level_from_json(require(t, at, "bisection"), at.key("bisection"));
        if (t.contains("target")) c.target = as_number(t["target"], at.key("target"));
        if (t.contains("code_density")) c.code_density = as_number(t["code_density"], at.key("code_density"));
        if (t.contains("inl_lsb")) c.inl_lsb = as_number(t["inl_lsb"], at.key("inl_lsb"));
        if (t.contains("mc_mean")) {
            c.mc_mean = as_number(t["mc_mean"], at.key("mc_mean"));
            c.mc_sigma = as_number(require(t, at, "mc_sigma"), at.key("mc_sigma"));
        }
        r.thresholds.push_back(c);
    }
    const Json& linearity = require(doc, place, "linearity");
    const JsonPlace lin = place.key("linearity");
    r.dnl = list_of<double>(require(linearity, lin, "dnl"), lin.key("dnl"), as_number);
    r.missing_codes = list_of<int>(require(linearity, lin, "missing_codes"), lin.key("missing_codes"),
                                    [](const Json& v, const JsonPlace& p) { return as_int(v, p); });
    if (const auto mc = doc.find("monte_carlo"); mc != doc.end() && mc->is_object()) {
        r.mc_seed = as_count(require(*mc, place.key("monte_carlo"), "seed"), place.key("monte_carlo").key("seed"));
        r.mc_trials = as_count(require(*mc, place.key("monte_carlo"), "trials"), place.key("monte_carlo").key("trials"));
    }
    if (const auto conditions = doc.find("conditions"); conditions != doc.end()) r.conditions_json = conditions->dump();
    if (const auto energy = doc.find("energy"); energy != doc.end() && energy->is_object()) {
        r.mean_energy_J = as_number(require(*energy, place.key("energy"), "mean_over_range_J"),
                                    place.key("energy").key("mean_over_range_J"));
        r.mean_latency_s =
            as_number(require(*energy, place.key("energy"), "mean_latency_s"), place.key("energy").key("mean_latency_s"));
    }
    return r;
}

}  // namespace nladc::io
