// The calibration of the behavioral model against ngspice (study/calibration.hpp).
#include "nladc/study/calibration.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>

#include "calibration_internal.hpp"
#include "nladc/adc/calibration_params.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/least_squares.hpp"
#include "nladc/core/random.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/quant/summary.hpp"
#include "nladc/study/compensation.hpp"

namespace nladc {

namespace {

using namespace calibration_detail;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

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
    for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) {
        const double d = std::abs(a[k] - b[k]) / lsb;
        worst = std::max(worst, std::isfinite(d) ? d : INFINITY);
    }
    return worst;
}

CalibrationParams with_blocks(const std::vector<spice::ExtractedParameter>& extracted)
{
    CalibrationParams p;
    for (const auto& e : extracted) p.block_parameters.emplace_back(e.key, e.value);
    return p;
}

// ------------------------------------------------------------------ the fit

LeastSquaresResult fit_parameters(const ReplicaDesign& design, const Technology& tech, const CalibrationParams& start,
                                  const std::vector<double>& spice_levels, const std::vector<std::string>& names)
{
    const double lsb = design.levels.lsb();
    auto params_at = [&](const Eigen::VectorXd& x) {
        CalibrationParams p = start;
        for (std::size_t j = 0; j < names.size(); ++j) {
            const CalibrationParameterInfo& info = calibration_parameter_info(names[j]);
            // Scaled so one unit is one finite-difference step.
            p.*info.member += x(static_cast<Eigen::Index>(j)) * info.step;
        }
        if (!(p.gbw_scale > 0.05)) p.gbw_scale = 0.05;
        return p;
    };
    auto residuals = [&](const Eigen::VectorXd& x) {
        const auto levels = behavioral_levels(design, tech, params_at(x));
        Eigen::VectorXd r(static_cast<Eigen::Index>(levels.size()));
        for (std::size_t k = 0; k < levels.size(); ++k) r(static_cast<Eigen::Index>(k)) = (levels[k] - spice_levels[k]) / lsb;
        return r;
    };
    const auto n = static_cast<Eigen::Index>(names.size());
    return levenberg_marquardt(residuals, Eigen::VectorXd::Zero(n), Eigen::VectorXd::Constant(n, 0.01));
}

FitQuality fit_quality(const ReplicaDesign& design, const Technology& tech, const CalibrationParams& before,
                       const CalibrationParams& after, const std::vector<std::string>& names,
                       const LeastSquaresResult& lm)
{
    FitQuality q;
    const double lsb = design.levels.lsb();
    const Eigen::MatrixXd c = lm.correlation();
    for (Eigen::Index i = 0; i < c.rows(); ++i) {
        q.correlation.emplace_back();
        for (Eigen::Index j = 0; j < c.cols(); ++j) q.correlation.back().push_back(c(i, j));
    }
    const std::vector<double> base = behavioral_levels(design, tech, before);
    for (const std::string& name : names) {
        CalibrationParams alone = before;
        set_calibration_parameter(alone, name, get_calibration_parameter(after, name));
        q.alone_lsb.push_back(max_abs_difference_lsb(behavioral_levels(design, tech, alone), base, lsb));
    }
    q.combined_lsb = max_abs_difference_lsb(behavioral_levels(design, tech, after), base, lsb);
    double worst_pair = 0;
    std::string pair;
    for (std::size_t i = 0; i < names.size(); ++i)
        for (std::size_t j = i + 1; j < names.size(); ++j)
            if (std::abs(q.correlation[i][j]) > worst_pair) {
                worst_pair = std::abs(q.correlation[i][j]);
                pair = names[i] + " and " + names[j];
            }
    const double largest_alone = q.alone_lsb.empty() ? 0.0 : *std::max_element(q.alone_lsb.begin(), q.alone_lsb.end());
    // Cancelling: two parameters correlate beyond 0.95 and together they move the
    // thresholds by less than a fifth of what the strongest moves alone (they undo >= 80 %
    // of each other), so their values are not measurements of anything.
    const bool correlated = worst_pair > 0.95 && largest_alone > 0.02;
    q.cancelling = correlated && q.combined_lsb < 0.2 * largest_alone;
    const std::string shifts = fmt::format("alone they move the thresholds by up to {:.3f} LSB, together by {:.3f} LSB",
                                           largest_alone, q.combined_lsb);
    if (q.cancelling)
        q.verdict = fmt::format("the fitted parameters cancel: {} correlate at {:.3f}; {}. Their values are not physical "
                                "measurements; fit fewer parameters (--fit).",
                                pair, worst_pair, shifts);
    else if (correlated)
        q.verdict = fmt::format("the fitted parameters partly offset each other: {} correlate at {:.3f}; {} ({:.0f} % of "
                                "the strongest), so each value is a property of the pair, not of one mechanism",
                                pair, worst_pair, shifts, 100.0 * q.combined_lsb / largest_alone);
    else
        q.verdict = fmt::format("independent: largest correlation {:.3f}{}; {}", worst_pair,
                                pair.empty() ? "" : " (" + pair + ")", shifts);
    return q;
}

/// Technology with every named nonideality of the ablation off.
Technology all_off(Technology tech)
{
    tech.device.cell_type = "0T1R";
    tech.array.wire_resistance_ohm = 0.0;
    tech.sense.opamp_gain = 1e5;
    tech.sense.opamp_gbw_Hz = 1e12;
    tech.sense.opamp_output_resistance_ohm = 1.0;
    tech.sense.opamp_open_loop_output_ohm = 0.0;
    tech.sense.select_switch_ohm = 0.0;
    tech.sense.reset_injection_C = tech.sense.select_injection_C = tech.sense.mirror_injection_C = 0.0;
    tech.sense.column_mirror_gain = 1.0;
    tech.comparator.kickback_charge_C = 0.0;
    return tech;
}

/// Another level set on the same circuit: the design's technology (its sense capacitor
/// included) and MAC scale, so only the replica column is programmed differently.
ReplicaDesign reprogrammed(const ReplicaDesign& design, const Technology& tech, const LevelSet& levels)
{
    MappingOptions options;
    options.scale_per_S = design.scale_per_S;
    return compensate_mapping(levels, tech, options).design;
}

}  // namespace

ReplicaDesign linear_design(const ReplicaDesign& design, const Technology& tech, int bits)
{
    const LevelSet& own = design.levels;
    const std::vector<double> range = {own.lo, own.hi};
    QuantizerOptions q;
    q.bits = bits;
    q.method = "linear";
    return reprogrammed(design, tech, fit_levels(summarize_exact(std::span<const double>(range), own.lo, own.hi), q));
}

ReplicaDesign coarser_design(const ReplicaDesign& design, const Technology& tech)
{
    const LevelSet& own = design.levels;
    if (own.bits < 2) return linear_design(design, tech, own.bits + 1);
    LevelSet coarse = own;
    coarse.bits = own.bits - 1;
    coarse.thresholds.clear();
    coarse.levels.clear();
    // Every other threshold; each new code keeps the mean of the two levels it merges.
    for (std::size_t k = 1; k < own.thresholds.size(); k += 2) coarse.thresholds.push_back(own.thresholds[k]);
    for (std::size_t i = 0; i + 1 < own.levels.size(); i += 2)
        coarse.levels.push_back(0.5 * (own.levels[i] + own.levels[i + 1]));
    coarse.variant = own.variant + ", every other threshold";
    coarse.empty_codes.clear();
    return reprogrammed(design, tech, coarse);
}

CalibrationReport calibrate(const ReplicaDesign& design, const Technology& tech,
                            const std::optional<ReplicaDesign>& extra_validation, const CalibrationOptions& options)
{
    const auto start = Clock::now();
    auto progress = [&](const std::string& message) {
        if (options.progress) options.progress(message);
    };
    if (options.fit.size() > 6) throw UsageError(fmt::format("{} calibration parameters; at most six", options.fit.size()));
    for (const auto& name : options.fit) calibration_parameter_info(name);
    if (!(options.bracket_lsb > 0) || !(options.validation_bracket_lsb > 0))
        throw UsageError("calibration brackets must be positive");

    CalibrationReport report;
    report.circuit = options.netlist.circuit;
    report.fitted = options.fit;
    const double lsb = design.levels.lsb();
    spice::WorkerPool pool(options.workers);
    spice::WorkerPool timing_pool(1);  // one worker: SPICE timed without competition
    const bool transistor = options.netlist.circuit == "transistor";

    // 1. Block parameters on the circuit's own testbenches.
    CalibrationParams extracted_only;
    if (transistor) {
        progress(fmt::format("block testbenches at {} {:g} C", options.netlist.corner, options.netlist.temperature_C));
        report.blocks = spice::characterize_blocks(design, tech, pool, options.netlist);
        report.simulations += report.blocks.simulations;
        report.extracted = report.blocks.parameters();
        extracted_only = with_blocks(report.extracted);
    }

    // 2. SPICE thresholds: fast estimates (on one worker: also the per-chip SPICE time),
    // then every checked threshold bracketed on full conversions.
    progress("SPICE transition levels: fast estimates (one worker)");
    const spice::SpiceChip chip = spice::nominal_spice_chip(design, tech);
    const spice::FastExtraction fast = spice::extract_transitions(design, tech, chip, timing_pool, options.netlist);
    report.simulations += fast.simulations;
    report.spice_chip_s = fast.wall_s;
    const int steps = static_cast<int>(fast.transition_levels.size());
    std::vector<int> ks;
    if (options.bisection_thresholds <= 0 || options.bisection_thresholds >= steps) {
        for (int k = 1; k <= steps; ++k) ks.push_back(k);
    } else {
        for (int i = 0; i < options.bisection_thresholds; ++i) {
            const int k = options.bisection_thresholds == 1 ? steps / 2 + 1
                                                            : 1 + (steps - 1) * i / (options.bisection_thresholds - 1);
            if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
        }
    }
    progress(fmt::format("bracketing {} thresholds on full conversions to {:g} LSB (reltol {:g})", ks.size(),
                         options.bracket_lsb, options.reference_reltol));
    std::vector<double> estimates;
    for (int k : ks) estimates.push_back(fast.transition_levels[static_cast<std::size_t>(k - 1)]);
    // The reference runs at a tighter tolerance than the rest (its voltage resolution is
    // part of spice_resolution_lsb).
    Technology reference_tech = tech;
    reference_tech.spice.reltol = std::min(tech.spice.reltol, options.reference_reltol);
    const std::vector<Bracket> brackets =
        bracket_thresholds(design, reference_tech, chip, ks, estimates, options.bracket_lsb * lsb, pool, options.netlist,
                           report.simulations, options.progress);
    report.thresholds_checked = ks;
    // The reference: bracket middles where checked, the fast estimates elsewhere.
    std::vector<double> reference = fast.transition_levels;
    std::vector<double> widths(reference.size(), NAN);
    for (std::size_t i = 0; i < ks.size(); ++i) {
        const auto k = static_cast<std::size_t>(ks[i] - 1);
        reference[k] = brackets[i].middle();
        widths[k] = brackets[i].width() / lsb;
        report.bisection_bracket_lsb = std::max(report.bisection_bracket_lsb, widths[k]);
        report.max_fast_vs_bisection_lsb =
            std::max(report.max_fast_vs_bisection_lsb, std::abs(fast.transition_levels[k] - reference[k]) / lsb);
    }

    // 3. The global fit, on top of the extracted block parameters.
    progress(fmt::format("fitting {} parameters by least squares", options.fit.size()));
    const std::vector<double> nominal = behavioral_levels(design, tech, CalibrationParams{});
    const std::vector<double> before = behavioral_levels(design, tech, extracted_only);
    const LeastSquaresResult lm = fit_parameters(design, tech, extracted_only, reference, options.fit);
    report.parameters = extracted_only;
    for (std::size_t j = 0; j < options.fit.size(); ++j) {
        const CalibrationParameterInfo& info = calibration_parameter_info(options.fit[j]);
        report.parameters.*info.member += lm.x(static_cast<Eigen::Index>(j)) * info.step;
    }
    report.fit = fit_quality(design, tech, extracted_only, report.parameters, options.fit, lm);
    const std::vector<double> after = behavioral_levels(design, tech, report.parameters);
    double sum_before = 0, sum_after = 0;
    for (std::size_t k = 0; k < reference.size(); ++k) {
        ThresholdComparison c;
        c.target = design.levels.thresholds[k];
        c.spice = reference[k];
        c.before = before[k];
        c.after = after[k];
        c.before_error_lsb = std::abs(before[k] - reference[k]) / lsb;
        c.after_error_lsb = std::abs(after[k] - reference[k]) / lsb;
        c.bracket_lsb = widths[k];
        sum_before += c.before_error_lsb * c.before_error_lsb;
        sum_after += c.after_error_lsb * c.after_error_lsb;
        report.thresholds.push_back(c);
    }
    report.max_threshold_error_lsb_nominal = max_abs_difference_lsb(nominal, reference, lsb);
    report.max_threshold_error_lsb_before = max_abs_difference_lsb(before, reference, lsb);
    report.max_threshold_error_lsb_after = max_abs_difference_lsb(after, reference, lsb);
    report.rms_before_lsb = std::sqrt(sum_before / static_cast<double>(reference.size()));
    report.rms_after_lsb = std::sqrt(sum_after / static_cast<double>(reference.size()));
    for (int k : ks) {
        const auto i = static_cast<std::size_t>(k - 1);
        report.max_threshold_error_lsb_bisection =
            std::max(report.max_threshold_error_lsb_bisection, std::abs(after[i] - reference[i]) / lsb);
    }
    {
        std::vector<double> checked;
        for (int k : ks) checked.push_back(reference[static_cast<std::size_t>(k - 1)]);
        for (double r : tolerance_resolution_lsb(design, reference_tech, report.parameters, checked))
            report.tolerance_resolution_lsb = std::max(report.tolerance_resolution_lsb, r);
    }
    report.spice_resolution_lsb = std::max(report.bisection_bracket_lsb, report.tolerance_resolution_lsb);

    // 4a. Held-out designs, no refit.
    std::vector<std::pair<std::string, ReplicaDesign>> held_out;
    std::vector<Corner> held_out_corner;
    for (const std::string& kind : options.validations) {
        if (kind == "method") {
            held_out.emplace_back("other method", linear_design(design, tech, design.levels.bits));
        } else if (kind == "bits") {
            held_out.emplace_back("other bit width", coarser_design(design, tech));
        } else if (kind == "corner") {
            held_out.emplace_back("other corner", design);
        } else {
            throw UsageError(fmt::format("unknown validation '{}' (expected method, bits or corner)", kind));
        }
        held_out_corner.push_back(kind == "corner" ? options.validation_corner : options.netlist.corner);
    }
    if (extra_validation) {
        held_out.emplace_back("given design", *extra_validation);
        held_out_corner.push_back(options.netlist.corner);
    }
    for (std::size_t v = 0; v < held_out.size(); ++v) {
        const auto& [name, held] = held_out[v];
        ValidationResult result;
        result.name = name;
        result.method = held.levels.method + "/" + held.levels.variant;
        result.bits = held.levels.bits;
        spice::NetlistOptions o = options.netlist;
        const bool other_corner = name == "other corner";
        if (other_corner) {
            o.corner = options.validation_corner;
            o.temperature_C = options.validation_temperature_C;
        }
        result.corner = o.corner;
        result.temperature_C = o.temperature_C;
        progress(fmt::format("validation on {} ({} {} bits, {} {:g} C)", name, result.method, result.bits, o.corner,
                             o.temperature_C));
        const Technology& held_tech = held.tech;
        CalibrationParams held_blocks = extracted_only;
        if (transistor) {
            if (other_corner) {
                const spice::BlockCharacterization blocks = spice::characterize_blocks(held, held_tech, pool, o);
                report.simulations += blocks.simulations;
                held_blocks = with_blocks(blocks.parameters());
                result.block_parameters = fmt::format("re-extracted at {} {:g} C", o.corner, o.temperature_C);
            } else {
                result.block_parameters = fmt::format("as extracted at {} {:g} C", o.corner, o.temperature_C);
            }
        }
        const SpiceLevels s = spice_levels(held, held_tech, options.validation_bracket_lsb, pool, pool, o,
                                           report.simulations, options.progress);
        CalibrationParams held_after = report.parameters;
        held_after.block_parameters = held_blocks.block_parameters;
        result.spice = s.levels;
        result.before = behavioral_levels(held, held_tech, held_blocks);
        result.after = behavioral_levels(held, held_tech, held_after);
        const double held_lsb = held.levels.lsb();
        result.max_threshold_error_lsb_before = max_abs_difference_lsb(result.before, s.levels, held_lsb);
        result.max_threshold_error_lsb_after = max_abs_difference_lsb(result.after, s.levels, held_lsb);
        double widest = 0;
        for (double w : s.bracket_lsb) widest = std::max(widest, w);
        double tolerance = 0;
        for (double r : tolerance_resolution_lsb(held, held_tech, held_after, s.levels)) tolerance = std::max(tolerance, r);
        result.spice_resolution_lsb = std::max(widest, tolerance);
        result.improved = result.max_threshold_error_lsb_after < result.max_threshold_error_lsb_before;
        report.max_threshold_error_lsb_validation =
            std::max(report.max_threshold_error_lsb_validation, result.max_threshold_error_lsb_after);
        report.validation.push_back(result);
    }
    {
        int improved = 0;
        for (const ValidationResult& r : report.validation) improved += r.improved;
        const int n = static_cast<int>(report.validation.size());
        if (n == 0)
            report.validation_verdict = "no held-out design was checked";
        else if (improved == n)
            report.validation_verdict = fmt::format("the fit improves all {} held-out designs", n);
        else
            report.validation_verdict = fmt::format(
                "the fit does not improve {} of {} held-out designs: there the extracted block parameters alone are "
                "as good or better, and the fitted corrections do not carry over",
                n - improved, n);
    }

    // 4b. Code agreement on full conversions: uniform draws, and next to every threshold.
    AdcOptions calibrated;
    calibrated.calibration = report.parameters;
    const BehavioralAdc adc(design, tech, nominal_chip(design, tech), calibrated);
    if (options.agreement_samples > 0 || options.near_threshold_samples > 0) {
        RandomStream random(options.seed, 0);
        std::vector<double> values;
        for (int i = 0; i < options.agreement_samples; ++i)
            values.push_back(design.levels.lo + (design.levels.hi - design.levels.lo) * random.uniform());
        const std::size_t uniform = values.size();
        for (double t : reference)
            for (int j = 0; j < options.near_threshold_samples; ++j) {
                // Alternating sides, 0.1 .. 0.2 LSB away.
                const double distance = (0.1 + 0.1 * (j / 2) / std::max(1, options.near_threshold_samples / 2)) * lsb;
                values.push_back(t + (j % 2 ? distance : -distance));
            }
        progress(fmt::format("code agreement on {} full SPICE conversions ({} within 0.2 LSB of a threshold)",
                             values.size(), values.size() - uniform));
        const auto conversions = spice::spice_convert(design, tech, chip, values, pool, options.netlist);
        report.simulations += static_cast<int>(values.size());
        int agree = 0, agree_all = 0, filtered = 0, near = 0, agree_near = 0;
        for (std::size_t i = 0; i < values.size(); ++i) {
            const bool same = conversions[i].code == adc.convert(values[i]);
            bool far = true;
            for (double t : reference) far = far && std::abs(values[i] - t) > 0.2 * lsb;
            if (i < uniform) {
                agree_all += same;
                if (far) {
                    ++filtered;
                    agree += same;
                }
            } else {
                ++near;
                agree_near += same;
            }
        }
        report.agreement_samples = static_cast<int>(uniform);
        report.agreement_filtered = filtered;
        report.agreement_near = near;
        report.code_agreement = filtered ? static_cast<double>(agree) / filtered : 0.0;
        report.code_agreement_all = uniform ? static_cast<double>(agree_all) / static_cast<double>(uniform) : 0.0;
        report.code_agreement_near = near ? static_cast<double>(agree_near) / near : 0.0;
    }

    // 4c. Speed: SPICE on one worker; the behavioral model with and without its setup.
    {
        progress("timing: SPICE conversions on one worker, behavioral conversions and chips");
        const double middle = 0.5 * (design.levels.lo + design.levels.hi);
        std::vector<spice::SimulationRequest> requests;
        std::vector<std::string> labels;
        for (int i = 0; i < 2; ++i) {
            spice::NetlistOptions o = options.netlist;
            o.kind = "conversion";
            o.mac_value = middle + 0.01 * i * lsb;
            const spice::Netlist net = spice::generate_netlist(design, tech, chip, o);
            requests.push_back({net.text, net.vectors, 600.0});
            labels.push_back("timed conversion");
        }
        double spice_s = 0;
        for (const auto& r : spice::run_all(timing_pool, requests, labels, report.simulations)) spice_s += r.wall_s;
        report.spice_conversion_s = spice_s / static_cast<double>(requests.size());

        int sink = 0;
        const int repeats = 200000;
        auto t0 = Clock::now();
        for (int i = 0; i < repeats; ++i) sink += adc.convert(design.levels.lo + (design.levels.hi - design.levels.lo) * (i % 997) / 997.0);
        report.behavioral_conversion_s = seconds_since(t0) / repeats;
        const int setups = 20;
        t0 = Clock::now();
        for (int i = 0; i < setups; ++i) {
            const BehavioralAdc fresh(design, tech, nominal_chip(design, tech), calibrated);
            sink += fresh.convert(middle);
        }
        report.behavioral_setup_s = seconds_since(t0) / setups - report.behavioral_conversion_s;
        const int chips = 20;
        t0 = Clock::now();
        for (int i = 0; i < chips; ++i) {
            ChipInstance c = nominal_chip(design, tech);
            c.comparator_offset_V = 1e-4 * i;
            sink += static_cast<int>(adc.with_chip(c).transition_levels(lsb * 1e-3).size());
        }
        report.behavioral_chip_s = seconds_since(t0) / chips;
        if (sink == -1) report.behavioral_chip_s = 0;  // keeps the loops
        report.speedup = report.spice_conversion_s / report.behavioral_conversion_s;
        report.speedup_per_conversion_with_setup =
            report.spice_conversion_s / (report.behavioral_conversion_s + report.behavioral_setup_s);
        report.speedup_per_chip = report.spice_chip_s / report.behavioral_chip_s;
    }

    // 4d. Ablation on the macromodel (its blocks can be made ideal one at a time).
    if (options.ablation) {
        spice::NetlistOptions macro = options.netlist;
        macro.circuit = "macro";
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
            {"select switches", [&](Technology& t) { t.sense.select_switch_ohm = tech.sense.select_switch_ohm; }},
            {"ramp RC and kickback",
             [&](Technology& t) {
                 t.sense.opamp_output_resistance_ohm = tech.sense.opamp_output_resistance_ohm;
                 t.comparator.kickback_charge_C = tech.comparator.kickback_charge_C;
             }},
        };
        for (const auto& [name, switch_on] : groups) {
            progress(fmt::format("ablation (macromodel): {}", name));
            Technology t = none;
            switch_on(t);
            const spice::FastExtraction x =
                spice::extract_transitions(design, t, spice::nominal_spice_chip(design, t), pool, macro);
            report.simulations += x.simulations;
            AblationEntry entry;
            entry.nonideality = name;
            entry.max_spice_error_lsb = max_abs_difference_lsb(x.transition_levels, design.levels.thresholds, lsb);
            entry.max_behavioral_vs_spice_lsb =
                max_abs_difference_lsb(behavioral_levels(design, t, CalibrationParams{}), x.transition_levels, lsb);
            report.ablation.push_back(entry);
        }
    }
    report.wall_s = seconds_since(start);
    return report;
}

}  // namespace nladc
