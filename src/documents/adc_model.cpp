// Exported ADC models (documents/adc_model.hpp).
#include "nladc/documents/adc_model.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nladc/documents/levelset_file.hpp"

namespace nladc {

namespace fs = std::filesystem;

int AdcModel::code(double x) const
{
    // A linear count, not a binary search: a chip with a missing code may have its
    // thresholds out of order, and the count is still what the comparator bank outputs.
    return static_cast<int>(std::count_if(mean.begin(), mean.end(), [x](double t) { return t < x; }));
}

namespace {

std::string optional_string(const io::Json& object, const char* key)
{
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}


}  // namespace

void io::check_adc_model(const AdcModel& m, const io::JsonPlace& place)
{
    const std::size_t n = m.target.thresholds.size();
    if (m.measured.size() != n || m.mean.size() != n || m.sigma.size() != n || m.inl_lsb.size() != n)
        place.key("thresholds").fail(fmt::format("has {} entries, the level set {} thresholds", m.mean.size(), n));
    for (std::size_t k = 0; k < n; ++k)
        if (!(m.sigma[k] >= 0)) place.key("thresholds").index(k).key("sigma").fail(fmt::format("{} is negative", m.sigma[k]));
}

std::string model_json(const AdcModel& m)
{
    io::OrderedJson j;
    j["format"] = "nladc-adc-model";
    j["version"] = 1;
    j["nladc_version"] = m.nladc_version;
    j["design_hash"] = m.design_hash;
    j["thresholds_from"] = m.source;
    io::LevelSetRecord record;
    record.set = m.target;
    j["levelset"] = io::levelset_to_json(record);
    j["lsb"] = m.target.lsb();
    j["conditions"] = m.conditions_json.empty() ? io::OrderedJson::object() : io::OrderedJson::parse(m.conditions_json);
    io::OrderedJson thresholds = io::OrderedJson::array();
    for (std::size_t k = 0; k < m.mean.size(); ++k)
        thresholds.push_back({{"k", k + 1},
                              {"target", m.target.thresholds[k]},
                              {"measured", io::level_to_json(m.measured[k])},
                              {"mean", io::level_to_json(m.mean[k])},
                              {"sigma", m.sigma[k]},
                              {"inl_lsb", io::level_to_json(m.inl_lsb[k])}});
    j["thresholds"] = thresholds;
    j["dnl"] = m.dnl;
    j["missing_codes"] = m.missing_codes;
    j["monte_carlo"] = {{"trials", m.trials}, {"seed", m.seed}};
    j["energy_per_conversion_J"] = m.energy_J;
    j["latency_s"] = m.latency_s;
    return io::dump_json(j);
}

AdcModel read_adc_model(const fs::path& file)
{
    return adc_model_from_json(io::read_json_file(file), file.string());
}

AdcModel adc_model_from_json(const io::Json& doc, const std::string& label)
{
    const io::JsonPlace place(label);
    io::reject_unknown_keys(doc, place,
                            {"format", "version", "nladc_version", "design_hash", "thresholds_from", "levelset", "lsb",
                             "conditions", "thresholds", "dnl", "missing_codes", "monte_carlo",
                             "energy_per_conversion_J", "latency_s"});
    if (optional_string(doc, "format") != "nladc-adc-model") place.key("format").fail("is not \"nladc-adc-model\"");
    if (io::as_integer(io::require(doc, place, "version"), place.key("version")) != 1)
        place.key("version").fail(fmt::format("{} is not a supported version (1)", doc["version"].dump()));
    AdcModel m;
    m.target = io::levelset_from_json(io::require(doc, place, "levelset"), place.key("levelset")).set;
    m.nladc_version = optional_string(doc, "nladc_version");
    m.design_hash = optional_string(doc, "design_hash");
    m.source = optional_string(doc, "thresholds_from");
    const io::Json& thresholds = io::require(doc, place, "thresholds");
    if (!thresholds.is_array()) place.key("thresholds").fail("is not an array");
    for (std::size_t k = 0; k < thresholds.size(); ++k) {
        const io::JsonPlace at = place.key("thresholds").index(k);
        const io::Json& t = thresholds[k];
        io::reject_unknown_keys(t, at, {"k", "target", "measured", "mean", "sigma", "inl_lsb"});
        if (io::as_integer(io::require(t, at, "k"), at.key("k")) != static_cast<long long>(k + 1))
            at.key("k").fail(fmt::format("{} is not {} (thresholds are listed in order)", t["k"].dump(), k + 1));
        m.measured.push_back(io::level_from_json(io::require(t, at, "measured"), at.key("measured")));
        m.mean.push_back(io::level_from_json(io::require(t, at, "mean"), at.key("mean")));
        m.sigma.push_back(io::as_number(io::require(t, at, "sigma"), at.key("sigma")));
        if (!(m.sigma.back() >= 0)) at.key("sigma").fail(fmt::format("{} is negative", m.sigma.back()));
        m.inl_lsb.push_back(io::level_from_json(io::require(t, at, "inl_lsb"), at.key("inl_lsb")));
    }
    m.dnl = io::list_of<double>(io::require(doc, place, "dnl"), place.key("dnl"), io::as_number);
    m.missing_codes = io::list_of<int>(io::require(doc, place, "missing_codes"), place.key("missing_codes"),
                                      [](const io::Json& v, const io::JsonPlace& at) { return io::as_int(v, at); });
    const io::Json& mc = io::require(doc, place, "monte_carlo");
    const auto count = [&](const char* key) {
        const io::JsonPlace at = place.key("monte_carlo").key(key);
        return io::as_count(io::require(mc, place.key("monte_carlo"), key), at);
    };
    m.trials = count("trials");
    m.seed = count("seed");
    m.conditions_json = io::require(doc, place, "conditions").dump();
    m.energy_J = io::as_number(io::require(doc, place, "energy_per_conversion_J"), place.key("energy_per_conversion_J"));
    m.latency_s = io::as_number(io::require(doc, place, "latency_s"), place.key("latency_s"));
    io::check_adc_model(m, place);
    return m;
}

}  // namespace nladc
