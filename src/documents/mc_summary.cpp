// Monte Carlo summary files (documents/mc_summary.hpp).
#include "nladc/documents/mc_summary.hpp"

#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::io {

namespace {

OrderedJson stats_json(const ChipStats& s)
{
    return {{"mean", s.mean}, {"sigma", s.sigma}, {"p50", s.p50}, {"p95", s.p95}, {"p99", s.p99}, {"max", s.max}};
}

OrderedJson trim_json(const TrimStats& s)
{
    return {{"before_trim", stats_json(s.before_trim)}, {"after_trim", stats_json(s.after_trim)}};
}

double number(const Json& object, const JsonPlace& place, const char* key)
{
    return as_number(require(object, place, key), place.key(key));
}

ChipStats stats_from(const Json& object, const JsonPlace& place)
{
    ChipStats s;
    s.mean = number(object, place, "mean");
    s.sigma = number(object, place, "sigma");
    s.p50 = number(object, place, "p50");
    s.p95 = number(object, place, "p95");
    s.p99 = number(object, place, "p99");
    s.max = number(object, place, "max");
    return s;
}

TrimStats trim_from(const Json& object, const JsonPlace& place, const char* key)
{
    const Json& section = require(object, place, key);
    const JsonPlace at = place.key(key);
    return {stats_from(require(section, at, "before_trim"), at.key("before_trim")),
            stats_from(require(section, at, "after_trim"), at.key("after_trim"))};
}

}  // namespace

OrderedJson mc_summary_to_json(const McSummary& s)
{
    OrderedJson j;
    j["format"] = "nladc-mc-summary";
    j["version"] = 1;
    j["trials"] = s.trials;
    j["seed"] = s.seed;
    j["study_hash"] = s.study_hash;
    j["spec"] = {{"inl_lsb", s.inl_spec_lsb}, {"dnl", s.dnl_spec}, {"trim_policy", s.trim_policy}};
    j["yield_before_trim"] = s.yield_before_trim;
    j["yield_after_trim"] = s.yield_after_trim;
    j["trimmed_fraction"] = s.trimmed_fraction;
    j["chips_with_missing_codes"] = {{"before_trim", s.missing_codes_before_trim},
                                     {"after_trim", s.missing_codes_after_trim}};
    j["max_abs_inl_lsb"] = trim_json(s.max_abs_inl_lsb);
    j["max_abs_dnl"] = trim_json(s.max_abs_dnl);
    j["effective_mse"] = trim_json(s.effective_mse);
    j["ideal"] = {{"mse", s.ideal_mse}, {"sqnr_db", s.ideal_sqnr_db}};
    j["sqnr_db"] = trim_json(s.sqnr_db);
    OrderedJson per = OrderedJson::array();
    for (const McThresholdSummary& t : s.thresholds)
        per.push_back({{"k", t.k},
                       {"target", t.target},
                       {"mean", t.mean},
                       {"sigma", t.sigma},
                       {"mean_error_lsb", t.mean_error_lsb},
                       {"sigma_lsb", t.sigma_lsb},
                       {"unreachable", t.unreachable},
                       {"mean_trim", t.mean_trim},
                       {"sigma_trim", t.sigma_trim},
                       {"sigma_trim_lsb", t.sigma_trim_lsb}});
    j["thresholds"] = per;
    return j;
}

void write_mc_summary(const std::filesystem::path& file, const McSummary& summary)
{
    write_file_atomic(file, dump_json(mc_summary_to_json(summary)));
}

McSummary read_mc_summary(const std::filesystem::path& file)
{
    const Json doc = read_json_file(file);
    const JsonPlace place(file.string());
    check_format_version(doc, place, "nladc-mc-summary");
    McSummary s;
    s.trials = as_count(require(doc, place, "trials"), place.key("trials"));
    s.seed = as_count(require(doc, place, "seed"), place.key("seed"));
    s.study_hash = as_string(require(doc, place, "study_hash"), place.key("study_hash"));
    const Json& spec = require(doc, place, "spec");
    s.inl_spec_lsb = number(spec, place.key("spec"), "inl_lsb");
    s.dnl_spec = number(spec, place.key("spec"), "dnl");
    s.trim_policy = as_string(require(spec, place.key("spec"), "trim_policy"), place.key("spec").key("trim_policy"));
    s.yield_before_trim = number(doc, place, "yield_before_trim");
    s.yield_after_trim = number(doc, place, "yield_after_trim");
    s.trimmed_fraction = number(doc, place, "trimmed_fraction");
    const Json& missing = require(doc, place, "chips_with_missing_codes");
    const JsonPlace missing_at = place.key("chips_with_missing_codes");
    s.missing_codes_before_trim = as_count(require(missing, missing_at, "before_trim"), missing_at.key("before_trim"));
    s.missing_codes_after_trim = as_count(require(missing, missing_at, "after_trim"), missing_at.key("after_trim"));
    s.max_abs_inl_lsb = trim_from(doc, place, "max_abs_inl_lsb");
    s.max_abs_dnl = trim_from(doc, place, "max_abs_dnl");
    s.effective_mse = trim_from(doc, place, "effective_mse");
    s.sqnr_db = trim_from(doc, place, "sqnr_db");
    const Json& ideal = require(doc, place, "ideal");
    s.ideal_mse = number(ideal, place.key("ideal"), "mse");
    s.ideal_sqnr_db = number(ideal, place.key("ideal"), "sqnr_db");
    const Json& thresholds = require(doc, place, "thresholds");
    if (!thresholds.is_array()) place.key("thresholds").fail("expected an array");
    for (std::size_t i = 0; i < thresholds.size(); ++i) {
        const Json& t = thresholds[i];
        const JsonPlace at = place.key("thresholds").index(i);
        McThresholdSummary row;
        row.k = static_cast<int>(as_integer(require(t, at, "k"), at.key("k")));
        row.target = number(t, at, "target");
        row.mean = number(t, at, "mean");
        row.sigma = number(t, at, "sigma");
        row.mean_error_lsb = number(t, at, "mean_error_lsb");
        row.sigma_lsb = number(t, at, "sigma_lsb");
        row.unreachable = as_count(require(t, at, "unreachable"), at.key("unreachable"));
        row.mean_trim = number(t, at, "mean_trim");
        row.sigma_trim = number(t, at, "sigma_trim");
        row.sigma_trim_lsb = number(t, at, "sigma_trim_lsb");
        s.thresholds.push_back(row);
    }
    return s;
}

}  // namespace nladc::io
