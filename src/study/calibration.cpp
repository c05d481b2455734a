#include "nladc/study/calibration.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <chrono>
#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/quant/summary.hpp"

namespace nladc {

namespace {

struct ParameterInfo {
    const char* name;
    double CalibrationParams::*member;
    double step;  ///< finite-difference step for the Jacobian
};

const std::vector<ParameterInfo>& parameter_table()
{
    static const std::vector<ParameterInfo> table = {
        {"offset_V", &CalibrationParams::offset_V, 1e-4},
        {"gain_error", &CalibrationParams::gain_error, 1e-3},
        {"mac_compression", &CalibrationParams::mac_compression, 1e-3},
        {"access_resistance_delta_ohm", &CalibrationParams::access_resistance_delta_ohm, 2.0},
        {"gbw_scale", &CalibrationParams::gbw_scale, 0.01},
        {"leakage_S", &CalibrationParams::leakage_S, 1e-7},
    };
    return table;
}

const ParameterInfo& info_of(const std::string& name)
{
    for (const auto& info : parameter_table())
        if (name == info.name) return info;
    std::string names;
    for (const auto& info : parameter_table()) names += (names.empty() ? "" : ", ") + std::string(info.name);
    throw UsageError(fmt::format("unknown calibration parameter '{}' (expected one of: {})", name, names));
}

std::vector<double> behavioral_levels(const ReplicaDesign& design, const Technology& tech,
                                      const CalibrationParams& params)
{
    AdcOptions options;
    options.calibration = params;
    const BehavioralAdc adc(design, tech, nominal_chip(design, tech), options);
    return adc.transition_levels(design.levels.lsb() * 1e-6);
}

double max_abs_difference_lsb(const std::vector<double>& a, const std::vector<double>& b, double lsb)
{
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]) / lsb);
    return worst;
}

/// Levenberg-Marquardt on the threshold residuals in LSB.
CalibrationParams fit(const ReplicaDesign& design, const Technology& tech, const std::vector<double>& spice_levels,
                      const std::vector<std::string>& names)
{
    const double lsb = design.levels.lsb();
    CalibrationParams params;
    const auto residuals = [&](const CalibrationParams& p) {
        const auto levels = behavioral_levels(design, tech, p);
        Eigen::VectorXd r(static_cast<Eigen::Index>(levels.size()));
        for (std::size_t k = 0; k < levels.size(); ++k) {
            const double d = (levels[k] - spice_levels[k]) / lsb;
            r(static_cast<Eigen::Index>(k)) = std::isfinite(d) ? d : 10.0;
        }
        return r;
    };
    Eigen::VectorXd r = residuals(params);
    double cost = r.squaredNorm(), lambda = 1e-3;
    const auto n = static_cast<Eigen::Index>(names.size());
    for (int iteration = 0; iteration < 60 && n > 0; ++iteration) {
        Eigen::MatrixXd J(r.size(), n);
        for (Eigen::Index j = 0; j < n; ++j) {
            const ParameterInfo& info = info_of(names[static_cast<std::size_t>(j)]);
            CalibrationParams shifted = params;
            shifted.*info.member += info.step;
            J.col(j) = (residuals(shifted) - r) / info.step;
        }
        const Eigen::MatrixXd JtJ = J.transpose() * J;
        const Eigen::VectorXd g = J.transpose() * r;
        bool improved = false;
        for (int attempt = 0; attempt < 12 && !improved; ++attempt) {
            Eigen::MatrixXd A = JtJ;
            for (Eigen::Index j = 0; j < n; ++j) A(j, j) += lambda * std::max(JtJ(j, j), 1e-12);
            const Eigen::VectorXd delta = A.ldlt().solve(-g);
            CalibrationParams trial = params;
            for (Eigen::Index j = 0; j < n; ++j)
                trial.*info_of(names[static_cast<std::size_t>(j)]).member += delta(j);
            if (!(trial.gbw_scale > 0.05)) trial.gbw_scale = 0.05;
            const Eigen::VectorXd trial_r = residuals(trial);
            if (trial_r.squaredNorm() < cost) {
                params = trial;
                r = trial_r;
                const double previous = cost;
                cost = r.squaredNorm();
                lambda = std::max(lambda / 3, 1e-9);
                improved = true;
                if (previous - cost < 1e-10 * (1 + previous)) return params;
            } else {
                lambda *= 4;
            }
        }
        if (!improved) break;
    }
    return params;
}

/// Bisection of several thresholds at once: one full conversion per active threshold and round.
std::vector<double> bisect_many(const ReplicaDesign& design, const Technology& tech, const spice::SpiceChip& chip,
                                const std::vector<int>& ks, std::vector<double> low, std::vector<double> high,
                                double tolerance, spice::WorkerPool& pool, const spice::NetlistOptions& base,
                                int& simulations)
{
    auto decisions = [&](const std::vector<double>& values) {
        std::vector<spice::SimulationRequest> requests;
        std::vector<spice::Netlist> nets;
        for (std::size_t i = 0; i < ks.size(); ++i) {
            spice::NetlistOptions o = base;
            o.kind = "conversion";
            o.mac_value = values[i];
            o.last_step = ks[i];
            nets.push_back(spice::generate_netlist(design, tech, chip, o));
            requests.push_back({nets.back().text, nets.back().vectors, 300.0});
        }
        std::vector<std::string> labels;
        for (double v : values) labels.push_back(fmt::format("bisection conversion at {:g}", v));
        const auto results = spice::run_all(pool, requests, labels, simulations);
        std::vector<bool> high_side;
        for (std::size_t i = 0; i < results.size(); ++i)
            high_side.push_back(spice::read_conversion(nets[i], results[i], false).decisions.back() == 1);
        return high_side;
    };
    // Widen brackets until they hold the flip.
    for (int widen = 0; widen < 6; ++widen) {
        const auto at_low = decisions(low), at_high = decisions(high);
        bool ok = true;
        for (std::size_t i = 0; i < ks.size(); ++i) {
            const double width = high[i] - low[i];
            if (at_low[i]) {
                low[i] -= width;
                ok = false;
            }
            if (!at_high[i]) {
                high[i] += width;
                ok = false;
            }
        }
        if (ok) break;
    }
    while (true) {
        bool done = true;
        std::vector<double> mid(ks.size());
        for (std::size_t i = 0; i < ks.size(); ++i) {
            mid[i] = 0.5 * (low[i] + high[i]);
            done = done && high[i] - low[i] <= tolerance;
        }
        if (done) break;
        const auto at_mid = decisions(mid);
        for (std::size_t i = 0; i < ks.size(); ++i) (at_mid[i] ? high[i] : low[i]) = mid[i];
    }
    std::vector<double> levels;
    for (std::size_t i = 0; i < ks.size(); ++i) levels.push_back(0.5 * (low[i] + high[i]));
    return levels;
}

/// Technology with every named nonideality of the ablation off.
Technology all_off(Technology tech)
{
    tech.device.cell_type = "0T1R";
    tech.array.wire_resistance_ohm = 0.0;
    tech.sense.opamp_gain = 1e5;
    tech.sense.opamp_gbw_Hz = 1e12;
    tech.sense.opamp_output_resistance_ohm = 1.0;
    tech.comparator.kickback_charge_C = 0.0;
    return tech;
}

}  // namespace

const std::vector<std::string>& calibration_parameter_names()
{
    static const std::vector<std::string> names = [] {
        std::vector<std::string> list;
        for (const auto& info : parameter_table()) list.push_back(info.name);
        return list;
    }();
    return names;
}

void set_calibration_parameter(CalibrationParams& params, const std::string& name, double value)
{
    params.*info_of(name).member = value;
}

double get_calibration_parameter(const CalibrationParams& params, const std::string& name)
{
    return params.*info_of(name).member;
}

CalibrationReport calibrate(const ReplicaDesign& design, const Technology& tech,
                            const std::optional<ReplicaDesign>& validation, const CalibrationOptions& options)
{
    const auto start = std::chrono::steady_clock::now();
    auto progress = [&](const std::string& message) {
        if (options.progress) options.progress(message);
    };
    if (options.fit.size() > 6) throw UsageError(fmt::format("{} calibration parameters; at most six", options.fit.size()));
    for (const auto& name : options.fit) info_of(name);

    CalibrationReport report;
    report.fitted = options.fit;
    const double lsb = design.levels.lsb();
    spice::WorkerPool pool(options.workers);
    const spice::SpiceChip chip = spice::nominal_spice_chip(design, tech);

    progress("SPICE transition levels (fast extractor)");
    const spice::FastExtraction fast = spice::extract_transitions(design, tech, chip, pool, options.netlist);
    report.simulations += fast.simulations;
    const std::vector<double>& spice_levels = fast.transition_levels;

    progress(fmt::format("fitting {} parameters by least squares", options.fit.size()));
    const std::vector<double> before = behavioral_levels(design, tech, CalibrationParams{});
    report.parameters = fit(design, tech, spice_levels, options.fit);
    const std::vector<double> after = behavioral_levels(design, tech, report.parameters);
    double sum_before = 0, sum_after = 0;
    for (std::size_t k = 0; k < spice_levels.size(); ++k) {
        ThresholdComparison c;
        c.target = design.levels.thresholds[k];
        c.spice = spice_levels[k];
        c.before = before[k];
        c.after = after[k];
        c.before_error_lsb = std::abs(before[k] - spice_levels[k]) / lsb;
        c.after_error_lsb = std::abs(after[k] - spice_levels[k]) / lsb;
        sum_before += c.before_error_lsb * c.before_error_lsb;
        sum_after += c.after_error_lsb * c.after_error_lsb;
        report.thresholds.push_back(c);
    }
    report.max_threshold_error_lsb_before = max_abs_difference_lsb(before, spice_levels, lsb);
    report.max_threshold_error_lsb_after = max_abs_difference_lsb(after, spice_levels, lsb);
    report.rms_before_lsb = std::sqrt(sum_before / static_cast<double>(spice_levels.size()));
    report.rms_after_lsb = std::sqrt(sum_after / static_cast<double>(spice_levels.size()));

    // Bisection on full conversions for the first, middle and last thresholds.
    const int steps = static_cast<int>(spice_levels.size());
    std::vector<int> ks;
    for (int i = 0; i < options.bisection_thresholds && steps > 0; ++i) {
        const int k = options.bisection_thresholds == 1 ? steps / 2 + 1
                                                       : 1 + (steps - 1) * i / (options.bisection_thresholds - 1);
        if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
    }
    if (!ks.empty()) {
        progress(fmt::format("bisection on full conversions for thresholds {}", fmt::join(ks, ", ")));
        std::vector<double> low, high;
        for (int k : ks) {
            low.push_back(spice_levels[static_cast<std::size_t>(k - 1)] - 0.25 * lsb);
            high.push_back(spice_levels[static_cast<std::size_t>(k - 1)] + 0.25 * lsb);
        }
        report.bisection_k = ks;
        report.bisection_T =
            bisect_many(design, tech, chip, ks, low, high, 0.005 * lsb, pool, options.netlist, report.simulations);
        for (std::size_t i = 0; i < ks.size(); ++i) {
            const auto k = static_cast<std::size_t>(ks[i] - 1);
            report.bisection_fast_T.push_back(spice_levels[k]);
            report.max_threshold_error_lsb_bisection =
                std::max(report.max_threshold_error_lsb_bisection, std::abs(after[k] - report.bisection_T[i]) / lsb);
            report.max_fast_vs_bisection_lsb =
                std::max(report.max_fast_vs_bisection_lsb, std::abs(spice_levels[k] - report.bisection_T[i]) / lsb);
        }
    }

    // Code agreement on full conversions at values drawn over the range.
    if (options.agreement_samples > 0) {
        progress(fmt::format("code agreement on {} full SPICE conversions", options.agreement_samples));
        RandomStream random(options.seed, 0);
        std::vector<double> values;
        for (int i = 0; i < options.agreement_samples; ++i)
            values.push_back(design.levels.lo + (design.levels.hi - design.levels.lo) * random.uniform());
        std::vector<spice::Netlist> nets;
        std::vector<spice::SimulationRequest> requests;
        for (double v : values) {
            spice::NetlistOptions o = options.netlist;
            o.kind = "conversion";
            o.mac_value = v;
            nets.push_back(spice::generate_netlist(design, tech, chip, o));
            requests.push_back({nets.back().text, nets.back().vectors, 300.0});
        }
        std::vector<std::string> labels;
        for (double v : values) labels.push_back(fmt::format("conversion at MAC {:g}", v));
        const auto results = spice::run_all(pool, requests, labels, report.simulations);
        AdcOptions calibrated;
        calibrated.calibration = report.parameters;
        const BehavioralAdc adc(design, tech, nominal_chip(design, tech), calibrated);
        int agree = 0, agree_all = 0, filtered = 0;
        double spice_time = 0;
        for (std::size_t i = 0; i < values.size(); ++i) {
            spice_time += results[i].wall_s;
            const int spice_code = spice::read_conversion(nets[i], results[i], tech.counter.early_stop).code;
            const bool same = spice_code == adc.convert(values[i]);
            agree_all += same;
            bool far = true;
            for (double t : spice_levels) far = far && std::abs(values[i] - t) > 0.2 * lsb;
            if (far) {
                ++filtered;
                agree += same;
            }
        }
        report.agreement_samples = static_cast<int>(values.size());
        report.agreement_filtered = filtered;
        report.code_agreement = filtered ? static_cast<double>(agree) / filtered : 0.0;
        report.code_agreement_all = static_cast<double>(agree_all) / static_cast<double>(values.size());
        report.spice_conversion_s = spice_time / static_cast<double>(values.size());
        // One static behavioral conversion, timed over many.
        const int repeats = 200000;
        int sink = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < repeats; ++i) sink += adc.convert(values[static_cast<std::size_t>(i) % values.size()]);
        report.behavioral_conversion_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
        if (sink < 0) report.behavioral_conversion_s = 0;  // keeps the loop
        report.speedup = report.spice_conversion_s / report.behavioral_conversion_s;
    }

    // Validation on a second level set, parameters unchanged.
    if (validation) {
        progress("validation on a second level set (no refit)");
        report.validation_label =
            fmt::format("{}/{} {} bits", validation->levels.method, validation->levels.variant, validation->levels.bits);
        const spice::FastExtraction v = spice::extract_transitions(
            *validation, validation->tech, spice::nominal_spice_chip(*validation, validation->tech), pool, options.netlist);
        report.simulations += v.simulations;
        report.max_threshold_error_lsb_validation =
            max_abs_difference_lsb(behavioral_levels(*validation, validation->tech, report.parameters),
                                   v.transition_levels, validation->levels.lsb());
    }

    // Ablation: each named nonideality on alone, in SPICE and in the nominal behavioral model.
    if (options.ablation) {
        const Technology none = all_off(tech);
        const std::vector<std::pair<std::string, std::function<void(Technology&)>>> groups = {
            {"none", [](Technology&) {}},
            {"finite A0 and bandwidth",
             [&](Technology& t) {
                 t.sense.opamp_gain = tech.sense.opamp_gain;
                 t.sense.opamp_gbw_Hz = tech.sense.opamp_gbw_Hz;
             }},
            {"1T1R access", [&](Technology& t) { t.device.cell_type = tech.device.cell_type; }},
            {"wire resistance", [&](Technology& t) { t.array.wire_resistance_ohm = tech.array.wire_resistance_ohm; }},
            {"ramp RC and kickback",
             [&](Technology& t) {
                 t.sense.opamp_output_resistance_ohm = tech.sense.opamp_output_resistance_ohm;
                 t.comparator.kickback_charge_C = tech.comparator.kickback_charge_C;
             }},
        };
        for (const auto& [name, switch_on] : groups) {
            progress(fmt::format("ablation: {}", name));
            Technology t = none;
            switch_on(t);
            const spice::FastExtraction x =
                spice::extract_transitions(design, t, spice::nominal_spice_chip(design, t), pool, options.netlist);
            report.simulations += x.simulations;
            AblationEntry entry;
            entry.nonideality = name;
            entry.max_spice_error_lsb = max_abs_difference_lsb(x.transition_levels, design.levels.thresholds, lsb);
            entry.max_behavioral_vs_spice_lsb =
                max_abs_difference_lsb(behavioral_levels(design, t, CalibrationParams{}), x.transition_levels, lsb);
            report.ablation.push_back(entry);
        }
    }
    report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

ReplicaDesign default_validation_design(const ReplicaDesign& design, const Technology& tech)
{
    const LevelSet& own = design.levels;
    const std::vector<double> range = {own.lo, own.hi};
    QuantizerOptions q;
    q.bits = own.bits > 1 ? own.bits - 1 : own.bits + 1;
    q.method = "linear";
    const LevelSet linear = fit_levels(summarize_exact(std::span<const double>(range), own.lo, own.hi), q);
    Technology for_validation = tech;
    for_validation.sense.capacitance_F = 0.0;  // sized for its own range top
    return map_levels(linear, for_validation, {});
}

}  // namespace nladc
