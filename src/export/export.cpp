#include "nladc/export/export.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
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

namespace {

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
    io::check_adc_model(m, io::JsonPlace((dir / "characterization.json").string()));
    return m;
}

double partial_sum_scale(const AdcModel& m, const ExportOptions& options)
{
    const double scale = options.partial_sum_scale.value_or(m.target.lsb());
    if (!(std::isfinite(scale) && scale > 0))
        throw Error(fmt::format("partial-sum scale {}: must be a positive number of input units per count", scale));
    return scale;
}

std::vector<PartialSumRow> partial_sum_table(const AdcModel& m, double scale)
{
    if (!(std::isfinite(scale) && scale > 0))
        throw Error(fmt::format("partial-sum scale {}: must be a positive number of input units per count", scale));
    const std::vector<double>& levels = m.target.levels;
    std::vector<PartialSumRow> rows;
    std::vector<double> p_uncertain, codes;  // per row: P(t_k < x) of the random thresholds; P(code)
    for (std::size_t i = 0; i <= levels.size(); ++i) {
        const double x = static_cast<double>(i) * scale;
        // Thresholds certainly below x shift the code; the others form a Poisson-binomial count.
        std::size_t below = 0;
        p_uncertain.clear();
        for (std::size_t k = 0; k < m.mean.size(); ++k) {
            const double mu = m.mean[k], sigma = m.sigma[k];
            // A fixed threshold, also one at +-inf: the comparator's strict `t < x`.
            const double p = (sigma > 0 && std::isfinite(mu)) ? 0.5 * std::erfc((mu - x) / (sigma * std::sqrt(2.0)))
                                                              : (mu < x ? 1.0 : 0.0);
            if (p >= 1.0)
                ++below;
            else if (p > 0.0)
                p_uncertain.push_back(p);
        }
        // codes[j] = P(exactly j of the random thresholds lie below x).
        codes.assign(p_uncertain.size() + 1, 0.0);
        codes[0] = 1.0;
        for (std::size_t n = 0; n < p_uncertain.size(); ++n) {
            const double p = p_uncertain[n];
            for (std::size_t j = n + 1; j > 0; --j) codes[j] = codes[j] * (1 - p) + codes[j - 1] * p;
            codes[0] *= 1 - p;
        }
        auto level = [&](std::size_t j) { return levels[std::min(below + j, levels.size() - 1)] / scale; };
        double mean = 0;
        for (std::size_t j = 0; j < codes.size(); ++j) mean += codes[j] * level(j);
        double variance = 0;  // two passes: no cancellation between E[L^2] and E[L]^2
        for (std::size_t j = 0; j < codes.size(); ++j) variance += codes[j] * (level(j) - mean) * (level(j) - mean);
        PartialSumRow row;
        row.partial_sum = static_cast<int>(i);
        row.input = x;
        row.output = m.output(x) / scale;
        // The mean rises with x (every P(t_k < x) does, the levels ascend); rounding must not
        // make it step back.
        row.mean = rows.empty() ? mean : std::max(mean, rows.back().mean);
        row.stddev = std::sqrt(std::max(variance, 0.0));
        rows.push_back(row);
    }
    return rows;
}

std::string model_csv(const AdcModel& m, const ExportOptions& options)
{
    // DNN+NeuroSim V1.5 reads the columns by name and takes data row i as partial sum i;
    // no comment lines (its reader converts every field of every row to a number).
    std::string csv = "partial_sum,input,output,mean,std\n";
    for (const PartialSumRow& row : partial_sum_table(m, partial_sum_scale(m, options)))
        csv += fmt::format("{},{},{},{},{}\n", row.partial_sum, real(row.input), real(row.output), real(row.mean),
                           real(row.stddev));
    return csv;
}

NeuroSimCsvCheck check_neurosim_csv(const std::string& text, std::size_t rows)
{
    auto split = [](const std::string& line) {
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (std::size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
            fields.push_back(line.substr(start, comma - start));
        fields.push_back(line.substr(start));
        return fields;
    };
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
        lines.push_back(text.substr(start, end - start));
    if (start < text.size()) lines.push_back(text.substr(start));
    if (lines.empty()) throw Error("csv: empty, no header row");
    const std::vector<std::string> header = split(lines[0]);
    auto column = [&](const char* name) {
        const auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end())
            throw Error(fmt::format("csv line 1: no column named '{}' (NeuroSim looks up output, mean and std)", name));
        return static_cast<std::size_t>(it - header.begin());
    };
    column("output");
    const std::size_t mean_col = column("mean"), std_col = column("std");
    if (lines.size() - 1 != rows)
        throw Error(fmt::format("csv: {} data rows, NeuroSim indexes partial sums 0 .. {} ({} rows)", lines.size() - 1,
                                rows - 1, rows));
    NeuroSimCsvCheck check;
    double previous_mean = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::vector<std::string> fields = split(lines[i]);
        if (fields.size() != header.size())
            throw Error(fmt::format("csv line {}: {} fields, the header has {}", i + 1, fields.size(), header.size()));
        std::vector<double> values;
        for (std::size_t c = 0; c < fields.size(); ++c) {
            const std::string& f = fields[c];
            double v = 0;
            const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
            if (f.empty() || ec != std::errc() || end != f.data() + f.size() || !std::isfinite(v))
                throw Error(fmt::format("csv line {}, column {}: '{}' is not a finite number", i + 1, header[c], f));
            values.push_back(v);
        }
        const double mean = values[mean_col], sd = values[std_col];
        if (mean < previous_mean)
            throw Error(fmt::format("csv line {}: mean {} is below the previous row's {}", i + 1, mean, previous_mean));
        if (sd < 0) throw Error(fmt::format("csv line {}: std {} is negative", i + 1, sd));
        previous_mean = mean;
        check.max_std = std::max(check.max_std, sd);
    }
    check.rows = rows;
    return check;
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
