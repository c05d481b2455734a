#include "nladc/export/export.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"
#include "nladc/documents/characterization_file.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/io/json.hpp"
#include "nladc/spice/ngspice.hpp"

namespace nladc {

namespace fs = std::filesystem;

int AdcModel::code(double x) const
{
    // A linear count, not a binary search: a chip with a missing code may have its
    // thresholds out of order, and the count is still what the comparator bank outputs.
    return static_cast<int>(std::count_if(mean.begin(), mean.end(), [x](double t) { return t < x; }));
}

namespace {

std::vector<double> numbers(const io::Json& array, const io::JsonPlace& place)
{
    if (!array.is_array()) place.fail("is not an array");
    std::vector<double> out;
    for (std::size_t i = 0; i < array.size(); ++i) out.push_back(io::as_number(array[i], place.index(i)));
    return out;
}

std::vector<int> integers(const io::Json& array, const io::JsonPlace& place)
{
    if (!array.is_array()) place.fail("is not an array");
    std::vector<int> out;
    for (std::size_t i = 0; i < array.size(); ++i) out.push_back(io::as_int(array[i], place.index(i)));
    return out;
}

std::string optional_string(const io::Json& object, const char* key)
{
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// Ensures every per-threshold vector has one entry per threshold.
void check_sizes(const AdcModel& m, const io::JsonPlace& place)
{
    const std::size_t n = m.target.thresholds.size();
    if (m.measured.size() != n || m.mean.size() != n || m.sigma.size() != n || m.inl_lsb.size() != n)
        place.key("thresholds").fail(fmt::format("has {} entries, the level set {} thresholds", m.mean.size(), n));
    for (std::size_t k = 0; k < n; ++k)
        if (!(m.sigma[k] >= 0)) place.key("thresholds").index(k).key("sigma").fail(fmt::format("{} is negative", m.sigma[k]));
}

// Shortest text that reads back to the same double.
std::string real(double v) { return fmt::format("{}", v); }

}  // namespace

AdcModel model_from_characterization(const fs::path& dir)
{
    const CharacterizationRecord c = io::read_characterization_file(dir);
    AdcModel m;
    m.target = c.levels;
    m.design_hash = c.design_hash;
    m.nladc_version = std::string(version());
    // All or nothing: a partial study makes no sense.
    const bool from_study = !c.thresholds.empty() && std::all_of(c.thresholds.begin(), c.thresholds.end(),
                                                                 [](const auto& t) { return t.mc_mean.has_value(); });
    for (const CharacterizedThreshold& t : c.thresholds) {
        m.measured.push_back(t.bisection);
        m.mean.push_back(from_study ? *t.mc_mean : t.bisection);
        m.sigma.push_back(from_study ? *t.mc_sigma : 0.0);
    }
    m.source = from_study ? "monte carlo" : "nominal";
    const double lsb = m.target.lsb();
    for (std::size_t k = 0; k < m.mean.size() && k < m.target.thresholds.size(); ++k)
        m.inl_lsb.push_back(std::isfinite(m.mean[k]) ? (m.mean[k] - m.target.thresholds[k]) / lsb
                                                     : std::numeric_limits<double>::infinity());
    m.dnl = c.dnl;
    m.missing_codes = c.missing_codes;
    m.seed = c.mc_seed;
    m.trials = c.mc_trials;
    m.conditions_json = c.conditions_json;
    m.energy_J = c.mean_energy_J.value_or(0.0);
    m.latency_s = c.mean_latency_s.value_or(0.0);
    check_sizes(m, io::JsonPlace((dir / "characterization.json").string()));
    return m;
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
    m.dnl = numbers(io::require(doc, place, "dnl"), place.key("dnl"));
    m.missing_codes = integers(io::require(doc, place, "missing_codes"), place.key("missing_codes"));
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
    check_sizes(m, place);
    return m;
}

std::string model_csv(const AdcModel& m)
{
    // Row k: the ADC outputs `output` for inputs above the transition level into code k
    // (mean, std); code 0 has no lower transition: its row carries the range start, std 0.
    std::string csv = "output,mean,std\n";
    csv += fmt::format("{},{},0\n", real(m.target.levels[0]), real(m.target.lo));
    for (std::size_t k = 0; k < m.mean.size(); ++k)
        csv += fmt::format("{},{},{}\n", real(m.target.levels[k + 1]), std::isfinite(m.mean[k]) ? real(m.mean[k])
                                                                                                : (m.mean[k] > 0 ? "inf" : "-inf"),
                           real(m.sigma[k]));
    return csv;
}

namespace {

std::string header_comment(const AdcModel& m, const char* comment)
{
    std::string h;
    auto line = [&](const std::string& text) { h += fmt::format("{} {}\n", comment, text); };
    line(fmt::format("nladc characterized ADC model: {} bits, {} level set, range [{}, {}], LSB {}", m.target.bits,
                     m.target.method, real(m.target.lo), real(m.target.hi), real(m.target.lsb())));
    line(fmt::format("generated by nladc {} (format nladc-adc-model 1); design {}", m.nladc_version,
                     m.design_hash.substr(0, 16)));
    line(m.source == "monte carlo"
             ? fmt::format("thresholds: Monte Carlo mean over {} chips (seed {}); sigma per threshold below", m.trials, m.seed)
             : std::string("thresholds: the nominal chip (bisection on the behavioral model)"));
    line("code convention: code = number of thresholds below the input (an input on a threshold takes the lower code)");
    line(" k  target                  threshold               sigma");
    for (std::size_t k = 0; k < m.mean.size(); ++k)
        line(fmt::format("{:2d}  {:<22}  {:<22}  {}", k + 1, real(m.target.thresholds[k]), real(m.mean[k]), real(m.sigma[k])));
    return h;
}

}  // namespace

std::string model_spice(const AdcModel& m, const std::string& name)
{
    std::string s = header_comment(m, "*");
    s += "* ports: in   the input as a voltage; v(in)/in_per_unit is in the level set's units\n"
         "*        code v(code) = output code, 0 .. L-1\n"
         "*        level v(level) = the code's output level (level set units, as volts)\n";
    s += fmt::format(".subckt {} in code level params: in_per_unit=1\n", name);
    s += "Rin in 0 1e12\n";  // a DC path for an input driven through a capacitor
    // u(x) = 1 for x > 0: an input exactly on a threshold takes the lower code.
    std::string sum;
    for (std::size_t k = 0; k < m.mean.size(); ++k) {
        const double t = m.mean[k];
        if (std::isinf(t)) {
            if (t < 0) sum += "+1";  // always above: the code is always counted
            continue;                // never reached
        }
        sum += fmt::format("\n+ +u(v(in)/in_per_unit-({}))", real(t));
    }
    s += fmt::format("Bcode code 0 V = 0{}\n", sum);
    // The level from the code with a flat piecewise-linear table: exact at integer codes.
    s += "Blevel level 0 V = pwl(v(code)";
    for (std::size_t code = 0; code < m.target.levels.size(); ++code) {
        const double c = static_cast<double>(code);
        s += fmt::format(",\n+ {},{}, {},{}", c - 0.25, real(m.target.levels[code]), c + 0.25, real(m.target.levels[code]));
    }
    s += ")\n";
    s += fmt::format(".ends {}\n", name);
    return s;
}

std::string model_veriloga(const AdcModel& m, const std::string& name)
{
    std::string v = header_comment(m, "//");
    v += "// Not simulable in Debian's ngspice 39 (no OSDI); parse-checked with admsXml.\n"
         "// Thresholds and levels are parameters, so an instance can carry a Monte Carlo draw.\n\n"
         "`include \"disciplines.vams\"\n\n";
    v += fmt::format("module {}(in, code, level);\n", name);
    v += "    input in;\n    output code, level;\n    electrical in, code, level;\n\n";
    v += "    parameter real in_per_unit = 1.0 from (0:inf);  // input volts per level-set unit\n"
         "    parameter real tr = 10e-12 from (0:inf);        // output transition time (s)\n";
    for (std::size_t k = 0; k < m.mean.size(); ++k) {
        // An unreachable threshold is placed far outside the range.
        const double t = std::isfinite(m.mean[k]) ? m.mean[k] : (m.mean[k] > 0 ? 1e30 : -1e30);
        v += fmt::format("    parameter real t{} = {};\n", k + 1, real(t));
    }
    for (std::size_t code = 0; code < m.target.levels.size(); ++code)
        v += fmt::format("    parameter real l{} = {};\n", code, real(m.target.levels[code]));
    v += "\n    real x, out_level;\n    integer k;\n\n    analog begin\n"
         "        x = V(in) / in_per_unit;\n        k = 0;\n";
    for (std::size_t k = 0; k < m.mean.size(); ++k) v += fmt::format("        if (x > t{}) k = k + 1;\n", k + 1);
    v += "        out_level = l0;\n";
    for (std::size_t code = 1; code < m.target.levels.size(); ++code)
        v += fmt::format("        if (k == {}) out_level = l{};\n", code, code);
    v += "        V(code) <+ transition(k, 0, tr);\n        V(level) <+ transition(out_level, 0, tr);\n"
         "    end\nendmodule\n";
    return v;
}

SpiceModelCheck check_spice_model(const AdcModel& m, const std::string& subckt, const std::string& name)
{
    const double lsb = m.target.lsb(), span = m.target.hi - m.target.lo;
    SpiceModelCheck check;
    check.sweep_step_lsb = 0.002;
    const double step = check.sweep_step_lsb * lsb;
    // The sweep covers every finite threshold with a margin.
    double start = m.target.lo - 0.05 * span, stop = m.target.hi + 0.05 * span;
    for (double t : m.mean)
        if (std::isfinite(t)) {
            start = std::min(start, t - 10 * step);
            stop = std::max(stop, t + 10 * step);
        }
    spice::SimulationRequest request;
    request.netlist = fmt::format("* nladc: DC sweep of an exported ADC model\n{}Vin in 0 0\nXadc in code level {}\n"
                                  ".dc Vin {} {} {}\n.end\n",
                                  subckt, name, real(start), real(stop), real(step));
    request.vectors = {"v(in)", "v(code)", "v(level)"};
    request.timeout_s = 120;
    spice::WorkerPool pool(1);
    const std::vector<spice::WorkerOutcome> outcome = pool.run_batch({request});
    if (!outcome[0].ok) throw spice::NgspiceError("DC sweep of the exported model failed: " + outcome[0].error);
    const Eigen::VectorXd& input = outcome[0].result.vectors.at("v(in)");
    const Eigen::VectorXd& code = outcome[0].result.vectors.at("v(code)");
    // Threshold k (1-based) lies between the last point with code < k and the first with code >= k.
    for (std::size_t k = 1; k <= m.mean.size(); ++k) {
        double found = std::numeric_limits<double>::infinity();
        for (Eigen::Index i = 1; i < code.size(); ++i)
            if (code[i - 1] < static_cast<double>(k) - 0.5 && code[i] >= static_cast<double>(k) - 0.5) {
                found = 0.5 * (input[i - 1] + input[i]);
                break;
            }
        if (code.size() && code[0] >= static_cast<double>(k) - 0.5) found = -std::numeric_limits<double>::infinity();
        check.thresholds.push_back(found);
    }
    // Compare against the model's thresholds in ascending order (the bank's k-th step).
    std::vector<double> expected = m.mean;
    std::sort(expected.begin(), expected.end());
    for (std::size_t k = 0; k < expected.size(); ++k) {
        const double a = expected[k], b = check.thresholds[k];
        const double error = (std::isinf(a) && a == b) ? 0.0 : std::abs(a - b) / lsb;
        check.max_error_lsb = std::max(check.max_error_lsb, std::isfinite(error) ? error : 1e300);
    }
    return check;
}

}  // namespace nladc
