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
    // The sense circuit sized by the first mapping, so every iterate shares it.
    const Technology sized = result.design.tech;
    result.before_lsb = model_errors_lsb(result.design, compensation.adc, result.model_thresholds);
    result.after_lsb = result.before_lsb;
    std::vector<double> predistorted = levels.thresholds;
    for (int iteration = 1; iteration <= compensation.max_iterations; ++iteration) {
        if (worst(result.after_lsb) <= compensation.tolerance_lsb) break;
        for (std::size_t k = 0; k < predistorted.size(); ++k) {
            const double model = result.model_thresholds[k];
            if (!std::isfinite(model) || model <= 0) {
                result.stopped = fmt::format("threshold {} is unreachable in the model", k + 1);
                break;
            }
            predistorted[k] *= levels.thresholds[k] / model;
        }
        if (!result.stopped.empty()) break;
        if (!std::is_sorted(predistorted.begin(), predistorted.end()) || predistorted.back() > levels.hi + levels.lsb() * 4) {
            result.stopped = "the pre-distorted thresholds would no longer be a valid level set";
            break;
        }
        LevelSet distorted = levels;
        distorted.thresholds = predistorted;
        ReplicaDesign next;
        try {
            next = map_levels(distorted, sized, options);
        } catch (const Error& e) {
            result.stopped = fmt::format("the pre-distorted mapping failed: {}", e.what());
            break;
        }
        next.levels = levels;
        next.scale_rule = result.design.scale_rule;
        for (std::size_t k = 0; k < next.threshold_error_lsb.size(); ++k)
            next.threshold_error_lsb[k] = (next.realized_thresholds[k] - levels.thresholds[k]) / levels.lsb();
        std::vector<double> thresholds;
        const std::vector<double> errors = model_errors_lsb(next, compensation.adc, thresholds);
        if (worst(errors) >= worst(result.after_lsb)) {
            result.stopped = "no further improvement";
            break;
        }
        result.design = std::move(next);
        result.after_lsb = errors;
        result.model_thresholds = thresholds;
        result.iterations = iteration;
    }
    result.design.notes.push_back(fmt::format(
        "compensated for the nominal circuit in {} iterations: max |T_model - T_target| {:.3f} LSB -> {:.3f} LSB{}; "
        "realized_thresholds and threshold_error_lsb are the pre-distorted ideal-circuit values",
        result.iterations, worst(result.before_lsb), worst(result.after_lsb),
        result.stopped.empty() ? "" : " (" + result.stopped + ")"));
    return result;
}

}  // namespace nladc
