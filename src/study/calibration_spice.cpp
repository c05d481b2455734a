// The SPICE thresholds of the calibration (calibration_internal.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "calibration_internal.hpp"
#include "nladc/core/error.hpp"

namespace nladc::calibration_detail {

namespace {

/// One full conversion up to step k at a MAC value: the decision at k and the margin
/// u_mac - u_ramp(k) at its compare edge.
struct Probe {
    double value = 0;
    bool high = false;
    double margin_V = 0;
};

}  // namespace




/// Brackets thresholds ks (1-based) on full conversions until each is narrower than
/// `width` (input units): round 1 converts on both sides of each estimate, `reach` away
/// (the fast extractor errs by up to ~0.01 LSB); then each round bisects a closed bracket
/// or steps out of an open one (doubling the step). Every round is one batch on the pool.
std::vector<Bracket> bracket_thresholds(const ReplicaDesign& design, const Technology& tech, const spice::SpiceChip& chip,
                                        const std::vector<int>& ks, const std::vector<double>& estimates, double width,
                                        spice::WorkerPool& pool, const spice::NetlistOptions& base, int& simulations,
                                        const std::function<void(const std::string&)>& progress)
{
    const double lsb = design.levels.lsb();
    // A hair under 0.012 LSB: 2 reach / 2^n then falls just below the usual widths.
    const double reach = std::max(0.99 * width, 0.0119 * lsb);
    std::vector<Bracket> brackets(ks.size());
    std::vector<int> expansions(ks.size(), 0);
    for (int round = 0; round < 20; ++round) {
        std::vector<std::pair<std::size_t, double>> points;  // (threshold index, value)
        for (std::size_t i = 0; i < ks.size(); ++i) {
            const Bracket& b = brackets[i];
            if (b.width() <= width) continue;
            if (round == 0) {
                points.emplace_back(i, estimates[i] - reach);
                points.emplace_back(i, estimates[i] + reach);
            } else if (std::isfinite(b.low) && std::isfinite(b.high)) {
                points.emplace_back(i, b.middle());
            } else {
                const double step = reach * std::ldexp(1.0, ++expansions[i]);
                points.emplace_back(i, std::isfinite(b.low) ? b.low + step : b.high - step);
            }
        }
        if (points.empty()) break;
        if (progress) {
            int open = 0;
            double widest = 0;
            for (const Bracket& b : brackets)
                if (b.width() > width) {
                    ++open;
                    widest = std::max(widest, b.width());
                }
            progress(fmt::format("  round {}: {} conversions for {} thresholds (widest bracket {})", round + 1,
                                 points.size(), open,
                                 std::isfinite(widest) ? fmt::format("{:.4f} LSB", widest / lsb) : "not yet closed"));
        }
        std::vector<spice::Netlist> nets;
        std::vector<spice::SimulationRequest> requests;
        std::vector<std::string> labels;
        for (const auto& [i, value] : points) {
            spice::NetlistOptions o = base;
            o.kind = "conversion";
            o.mac_value = value;
            o.last_step = ks[i];
            nets.push_back(spice::generate_netlist(design, tech, chip, o));
            requests.push_back({nets.back().text, nets.back().vectors, 600.0});
            labels.push_back(fmt::format("conversion at MAC {:.9g} (threshold {})", value, ks[i]));
        }
        const auto results = spice::run_all(pool, requests, labels, simulations);
        for (std::size_t r = 0; r < points.size(); ++r) {
            const auto [i, value] = points[r];
            Bracket& b = brackets[i];
            if (spice::read_conversion(nets[r], results[r], false).decisions.back() == 1)
                b.high = std::min(b.high, value);
            else
                b.low = std::max(b.low, value);
        }
    }
    for (std::size_t i = 0; i < ks.size(); ++i)
        if (!(brackets[i].width() <= width))
            throw Error(fmt::format("threshold {} could not be bracketed within {:.3g} LSB on full conversions "
                                    "(reached [{:.9g}, {:.9g}])",
                                    ks[i], width / lsb, brackets[i].low, brackets[i].high));
    return brackets;
}


SpiceLevels spice_levels(const ReplicaDesign& design, const Technology& tech, double width_lsb,
                         spice::WorkerPool& pool, spice::WorkerPool& estimate_pool, const spice::NetlistOptions& options,
                         int& simulations, const std::function<void(const std::string&)>& progress)
{
    SpiceLevels s;
    const spice::SpiceChip chip = spice::nominal_spice_chip(design, tech);
    s.fast = spice::extract_transitions(design, tech, chip, estimate_pool, options);
    simulations += s.fast.simulations;
    std::vector<int> ks;
    for (std::size_t k = 1; k <= s.fast.transition_levels.size(); ++k) ks.push_back(static_cast<int>(k));
    const double lsb = design.levels.lsb();
    const auto brackets =
        bracket_thresholds(design, tech, chip, ks, s.fast.transition_levels, width_lsb * lsb, pool, options, simulations,
                           progress);
    for (const Bracket& b : brackets) {
        s.levels.push_back(b.middle());
        s.bracket_lsb.push_back(b.width() / lsb);
    }
    return s;
}

/// The voltage resolution of the simulator tolerances at the comparator inputs (both
/// inputs off by reltol |V| + vntol, in opposite directions), in LSB at each threshold.
std::vector<double> tolerance_resolution_lsb(const ReplicaDesign& design, const Technology& tech,
                                             const CalibrationParams& params, const std::vector<double>& levels)
{
    const double resolution_V = 2.0 * (tech.spice.reltol * tech.spice.common_mode_V + tech.spice.vntol);
    AdcOptions options;
    options.calibration = params;
    const BehavioralAdc adc(design, tech, nominal_chip(design, tech), options);
    const double lsb = design.levels.lsb(), h = 0.01 * lsb;
    std::vector<double> out;
    for (double t : levels) {
        const double slope = (adc.mac_output_V(t + h) - adc.mac_output_V(t - h)) / (2 * h);  // V per input unit
        out.push_back(slope > 0 ? resolution_V / slope / lsb : INFINITY);
    }
    return out;
}

}  // namespace nladc::calibration_detail
