#include "nladc/study/compensation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "nladc/core/error.hpp"

namespace nladc {

namespace {

std::vector<double> model_errors_lsb(const ReplicaDesign& design, const AdcOptions& adc, std::vector<double>& levels)
{
    const double lsb = design.levels.lsb();
    levels = BehavioralAdc(design, design.tech, nominal_chip(design, design.tech), adc).transition_levels(lsb * 1e-6);
    std::vector<double> errors;
    for (std::size_t k = 0; k < levels.size(); ++k) errors.push_back((levels[k] - design.levels.thresholds[k]) / lsb);
    return errors;
}

double worst(const std::vector<double>& errors)
{
    double w = 0;
    for (double e : errors) w = std::max(w, std::isfinite(e) ? std::abs(e) : INFINITY);
    return w;
}

}  // namespace

CompensationResult compensate_mapping(const LevelSet& levels, const Technology& tech, MappingOptions options,
                                      const CompensationOptions& compensation)
{
    CompensationResult result;
    result.design = map_levels(levels, tech, options);
    if (!options.scale_per_S) result.design.scale_rule += " (kept by the compensation)";
    options.scale_per_S = result.design.scale_per_S;  // the MAC mapping stays as it is
    options.load_total_S = load_conductance_S(result.design);  // and so does the column's load,
    options.cells_per_step = cells_per_step(result.design);    // and its cells' rows (IR drop)
    // The sense circuit sized by the first mapping, so every iterate shares it.
    const Technology sized = result.design.tech;
    result.before_lsb = model_errors_lsb(result.design, compensation.adc, result.model_thresholds);
    result.after_lsb = result.before_lsb;
    // Threshold k of the model depends mostly on ramp step k: each pre-distorted threshold
    // moves as p_k <- p_k (T_target,k / T_model,k)^relaxation. A proposal that does not
    // improve the worst error is halved, three times, before the iteration stops.
    std::vector<double> accepted = levels.thresholds, previous_p, previous_model;
    auto evaluate = [&](const std::vector<double>& predistorted, ReplicaDesign& next, std::vector<double>& thresholds,
                        std::vector<double>& errors) {
        if (!std::is_sorted(predistorted.begin(), predistorted.end()) || predistorted.back() > levels.hi + levels.lsb() * 4) {
            result.stopped = "the pre-distorted thresholds would no longer be a valid level set";
            return false;
        }
        LevelSet distorted = levels;
        distorted.thresholds = predistorted;
        try {
            next = map_levels(distorted, sized, options);
        } catch (const Error& e) {
            result.stopped = fmt::format("the pre-distorted mapping failed: {}", e.what());
            return false;
        }
        next.levels = levels;
        next.scale_rule = result.design.scale_rule;
        for (std::size_t k = 0; k < next.threshold_error_lsb.size(); ++k)
            next.threshold_error_lsb[k] = (next.realized_thresholds[k] - levels.thresholds[k]) / levels.lsb();
        errors = model_errors_lsb(next, compensation.adc, thresholds);
        return true;
    };
    for (int iteration = 1; iteration <= compensation.max_iterations; ++iteration) {
        if (worst(result.after_lsb) <= compensation.tolerance_lsb) break;
        // The thresholds respond to a common change of every step by less than its size
        // (the replica column's total conductance, hence its select-switch and finite-gain
        // losses, changes too): the response gamma = d log T / d log p is estimated from
        // the last two accepted designs and the update over-relaxed by 1 / gamma.
        double relaxation = 1.0;
        if (!previous_p.empty()) {
            std::vector<double> gammas;
            for (std::size_t k = 0; k < accepted.size(); ++k) {
                const double dp = std::log(accepted[k] / previous_p[k]);
                const double dt = std::log(result.model_thresholds[k] / previous_model[k]);
                if (std::abs(dp) > 1e-6 && std::isfinite(dt)) gammas.push_back(dt / dp);
            }
            if (!gammas.empty()) {
                std::nth_element(gammas.begin(), gammas.begin() + gammas.size() / 2, gammas.end());
                const double gamma = gammas[gammas.size() / 2];
                if (gamma > 0) relaxation = std::clamp(1.0 / gamma, 0.5, 4.0);
            }
        }
        std::vector<double> proposal = accepted;
        for (std::size_t k = 0; k < proposal.size(); ++k) {
            const double model = result.model_thresholds[k];
            if (model == INFINITY) {  // the ramp step overshoots every MAC value: shrink it
                proposal[k] *= 0.8;
                continue;
            }
            if (model == -INFINITY) {  // below every MAC value: grow it
                proposal[k] += 0.5 * levels.lsb();
                continue;
            }
            if (!std::isfinite(model)) {
                result.stopped = fmt::format("threshold {} is unreachable in the model", k + 1);
                break;
            }
            const double target = levels.thresholds[k];
            if (model > 0 && target > 0) {
                proposal[k] *= std::pow(target / model, relaxation);
            } else {
                // An offset can put a low threshold at or below zero: move it by the difference,
                // keeping the step positive.
                proposal[k] = std::max(proposal[k] + relaxation * (target - model), 1e-3 * levels.lsb());
            }
        }
        if (!result.stopped.empty()) break;
        // The ratio update assumes gain-like errors; where an offset dominates (a low
        // threshold realized near or below zero) it over-corrects the low steps out of
        // order. Then move every threshold by its error instead, which an offset needs.
        if (!std::is_sorted(proposal.begin(), proposal.end())) {
            for (std::size_t k = 0; k < proposal.size(); ++k)
                proposal[k] = std::max(accepted[k] + (levels.thresholds[k] - result.model_thresholds[k]),
                                       1e-3 * levels.lsb());
        }
        bool improved = false;
        for (double damping : {1.0, 0.5, 0.25, 0.125}) {
            std::vector<double> trial = accepted;
            for (std::size_t k = 0; k < trial.size(); ++k) trial[k] += damping * (proposal[k] - accepted[k]);
            ReplicaDesign next;
            std::vector<double> thresholds, errors;
            if (!evaluate(trial, next, thresholds, errors)) break;
            if (worst(errors) < worst(result.after_lsb) || !std::isfinite(worst(result.after_lsb))) {
                previous_p = accepted;
                previous_model = result.model_thresholds;
                accepted = trial;
                result.design = std::move(next);
                result.after_lsb = errors;
                result.model_thresholds = thresholds;
                result.iterations = iteration;
                improved = true;
                break;
            }
        }
        if (!improved) {
            if (result.stopped.empty()) result.stopped = "no further improvement";
            break;
        }
    }
    result.design.notes.push_back(fmt::format(
        "compensated for the nominal circuit in {} iterations: max |T_model - T_target| {:.3f} LSB -> {:.3f} LSB{}; "
        "realized_thresholds and threshold_error_lsb are the pre-distorted ideal-circuit values",
        result.iterations, worst(result.before_lsb), worst(result.after_lsb),
        result.stopped.empty() ? "" : " (" + result.stopped + ")"));
    return result;
}

}  // namespace nladc
