#include "nladc/spice/extract.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cmath>

#include "nladc/core/error.hpp"

namespace nladc::spice {

double sample_at(const Eigen::VectorXd& time, const Eigen::VectorXd& values, double t)
{
    const Eigen::Index n = time.size();
    if (n == 0 || values.size() != n) throw Error("sample_at: empty or mismatched waveform");
    if (t <= time(0)) return values(0);
    if (t >= time(n - 1)) return values(n - 1);
    const auto* begin = time.data();
    const auto i = static_cast<Eigen::Index>(std::upper_bound(begin, begin + n, t) - begin);
    // Only a time axis that is not ascending (NaN, out of order) puts i at an end here.
    if (i == 0 || i >= n) throw Error("sample_at: the time vector is not ascending");
    const double f = (t - time(i - 1)) / (time(i) - time(i - 1));
    return values(i - 1) + f * (values(i) - values(i - 1));
}

const Eigen::VectorXd& vector_of(const SimulationResult& result, const std::string& name)
{
    const auto found = result.vectors.find(name);
    if (found == result.vectors.end()) throw Error(fmt::format("ngspice result has no vector '{}'", name));
    return found->second;
}

std::vector<SimulationResult> run_all(WorkerPool& pool, const std::vector<SimulationRequest>& requests,
                                      const std::vector<std::string>& labels, int& simulations)
{
    auto outcomes = pool.run_batch(requests);
    simulations += static_cast<int>(requests.size());
    std::vector<SimulationRequest> retries;
    std::vector<std::size_t> retried;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (outcomes[i].ok) continue;
        SimulationRequest gear = requests[i];
        if (const auto at = gear.netlist.find("method=trap"); at != std::string::npos)
            gear.netlist.replace(at, 11, "method=gear");
        retries.push_back(gear);
        retried.push_back(i);
    }
    if (!retries.empty()) {
        const auto second = pool.run_batch(retries);
        simulations += static_cast<int>(retries.size());
        for (std::size_t r = 0; r < retried.size(); ++r)
            if (second[r].ok) outcomes[retried[r]] = second[r];
    }
    std::vector<SimulationResult> results;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (!outcomes[i].ok) {
            // NLADC_SPICE_KEEP_FAILED=DIR keeps the failing netlist for inspection.
            if (const char* dir = std::getenv("NLADC_SPICE_KEEP_FAILED"); dir && *dir) {
                const auto path = std::filesystem::path(dir) / fmt::format("failed_{}.cir", simulations);
                std::ofstream(path) << requests[i].netlist;
            }
            throw Error(fmt::format("SPICE {} failed: {}", labels[i], outcomes[i].error));
        }
        results.push_back(outcomes[i].result);
    }
    return results;
}

SimulationRequest request_for(const Netlist& net, double timeout_s)
{
    return {net.text, net.vectors, timeout_s};
}

namespace {

/// u_mac at the first compare edge for each value (MAC-only netlists).
std::vector<double> probe_mac(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                              const std::vector<double>& values, WorkerPool& pool, const NetlistOptions& options,
                              int& simulations)
{
    std::vector<SimulationRequest> requests;
    std::vector<std::string> labels;
    std::vector<Netlist> nets;
    for (double v : values) {
        NetlistOptions o = options;
        o.kind = "mac";
        o.mac_value = v;
        nets.push_back(generate_netlist(design, tech, chip, o));
        requests.push_back(request_for(nets.back()));
        labels.push_back(fmt::format("MAC-only transient at {:g}", v));
    }
    const auto results = run_all(pool, requests, labels, simulations);
    std::vector<double> u;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& time = vector_of(results[i], "time");
        const double t = nets[i].stop_time - 1e-12;
        u.push_back(nets[i].common_mode_V - sample_at(time, vector_of(results[i], "v(cmp_mac)"), t));
    }
    return u;
}

/// Piecewise-linear interpolation over ascending xs (extrapolating at the ends).
double interpolate(const std::vector<double>& xs, const std::vector<double>& ys, double x)
{
    if (xs.size() == 1 || xs.back() == xs.front()) return ys.front();
    std::size_t i = 1;
    while (i + 1 < xs.size() && xs[i] < x) ++i;
    return ys[i - 1] + (x - xs[i - 1]) * (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1]);
}

/// Inverse of a monotone sampled function by linear interpolation (extrapolating at the ends).
double invert(const std::vector<double>& xs, const std::vector<double>& ys, double y)
{
    std::size_t i = 1;
    while (i + 1 < xs.size() && ys[i] < y) ++i;
    const double slope = (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1]);
    return xs[i - 1] + (y - ys[i - 1]) / slope;
}

}  // namespace

SpiceConversion read_conversion(const Netlist& net, const SimulationResult& result, bool early_stop)
{
    const auto& time = vector_of(result, "time");
    const auto& out = vector_of(result, "v(outp)");
    const auto& ramp = vector_of(result, "v(ramp)");
    const auto& mac = vector_of(result, "v(cmp_mac)");
    // The waveforms must share the time axis (maxCoeff of an empty vector is undefined).
    for (const auto& [name, v] : {std::pair{"v(outp)", &out}, {"v(ramp)", &ramp}, {"v(cmp_mac)", &mac}})
        if (time.size() == 0 || v->size() != time.size())
            throw Error(fmt::format("ngspice result: vector '{}' has {} points, 'time' has {}", name, v->size(), time.size()));
    SpiceConversion c;
    const double half = 0.5 * out.maxCoeff();  // the latch swings rail to rail
    bool stopped = false;
    for (std::size_t k = 0; k < net.decision_times.size(); ++k) {
        const int decision = sample_at(time, out, net.decision_times[k]) > std::max(half, 0.3) ? 1 : 0;
        c.decisions.push_back(decision);
        if (!stopped) c.code += decision;
        if (early_stop && !decision) stopped = true;
        c.ramp_V.push_back(net.common_mode_V - sample_at(time, ramp, net.compare_times[k] - 1e-12));
        c.mac_at_compare_V.push_back(net.common_mode_V - sample_at(time, mac, net.compare_times[k] - 1e-12));
    }
    if (!net.compare_times.empty())
        c.mac_V = net.common_mode_V - sample_at(time, mac, net.compare_times.front() - 1e-12);
    return c;
}

std::vector<SpiceConversion> spice_convert(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                                           const std::vector<double>& mac_values, WorkerPool& pool,
                                           const NetlistOptions& options)
{
    std::vector<Netlist> nets;
    std::vector<SimulationRequest> requests;
    std::vector<std::string> labels;
    for (double v : mac_values) {
        NetlistOptions o = options;
        o.kind = "conversion";
        o.mac_value = v;
        nets.push_back(generate_netlist(design, tech, chip, o));
        requests.push_back(request_for(nets.back()));
        labels.push_back(fmt::format("conversion at MAC {:g}", v));
    }
    int ignored = 0;
    const auto results = run_all(pool, requests, labels, ignored);
    std::vector<SpiceConversion> conversions;
    for (std::size_t i = 0; i < results.size(); ++i)
        conversions.push_back(read_conversion(nets[i], results[i], tech.counter.early_stop));
    return conversions;
}

std::vector<double> comparator_offsets(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                                       const std::vector<double>& common_modes_V, WorkerPool& pool,
                                       const NetlistOptions& options, int& simulations)
{
    // Coarse sweep +-6 mV in 1 mV, then +-2 mV in 0.1 mV around each flip (the latch
    // keeps a little memory of the previous cycle, so the fine sweep overlaps the coarse
    // bracket generously); every common mode's sweep is one transient, all modes in one
    // batch. A 10 ps step limit resolves the decisions (the offset did not change from
    // 25 ps down to 2 ps). A sweep without a flip is widened and repeated.
    std::vector<double> centers(common_modes_V.size(), 0.0);
    for (auto [step, half_points] : {std::pair{1e-3, 6}, std::pair{0.1e-3, 20}}) {
      for (int widen = 0;; ++widen) {
        std::vector<Netlist> nets;
        std::vector<SimulationRequest> requests;
        std::vector<std::string> labels;
        std::vector<std::vector<double>> sweeps;
        for (std::size_t m = 0; m < common_modes_V.size(); ++m) {
            NetlistOptions o = options;
            o.kind = "comparator";
            o.comparator_common_V = common_modes_V[m];
            o.comparator_differences_V.clear();
            for (int i = -half_points; i <= half_points; ++i) o.comparator_differences_V.push_back(centers[m] + i * step);
            if (o.max_step_s == 0.0) o.max_step_s = 10e-12;
            nets.push_back(generate_netlist(design, tech, chip, o));
            requests.push_back(request_for(nets.back()));
            labels.push_back(fmt::format("comparator testbench at {:g} V", common_modes_V[m]));
            sweeps.push_back(o.comparator_differences_V);
        }
        const auto results = run_all(pool, requests, labels, simulations);
        bool missing = false;
        std::vector<double> found = centers;
        for (std::size_t m = 0; m < common_modes_V.size(); ++m) {
            const Netlist& net = nets[m];
            if (net.decision_times.size() != sweeps[m].size())
                throw Error("comparator testbench: one decision per input difference expected");
            const auto& time = vector_of(results[m], "time");
            const auto& out = vector_of(results[m], "v(outp)");
            const double half = 0.5 * tech.spice.supply_V;
            int flip = -1;
            for (std::size_t c = 1; c < net.decision_times.size(); ++c) {
                const bool before = sample_at(time, out, net.decision_times[c - 1]) > half;
                const bool after = sample_at(time, out, net.decision_times[c]) > half;
                if (!before && after) {
                    flip = static_cast<int>(c);
                    break;
                }
            }
            if (flip < 0) {
                missing = true;
                if (widen == 2)
                    throw Error(fmt::format("the comparator did not switch within {:g} +- {:g} mV at common mode {:g} V",
                                            centers[m] * 1e3, half_points * step * 1e3, common_modes_V[m]));
                continue;
            }
            found[m] = 0.5 * (sweeps[m][static_cast<std::size_t>(flip - 1)] + sweeps[m][static_cast<std::size_t>(flip)]);
        }
        if (!missing) {
            centers = found;
            break;
        }
        half_points *= 3;  // widen every sweep and repeat
      }
    }
    return centers;
}

double comparator_offset(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                         double common_mode_V, WorkerPool& pool, const NetlistOptions& options, int& simulations)
{
    return comparator_offsets(design, tech, chip, {common_mode_V}, pool, options, simulations).front();
}

FastExtraction extract_transitions(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                                   WorkerPool& pool, const NetlistOptions& options)
{
    const auto start = std::chrono::steady_clock::now();
    FastExtraction x;
    const LevelSet& set = design.levels;
    const double span = set.hi - set.lo;
    const int steps = static_cast<int>(set.thresholds.size());

    // 1. Every ramp level from one conversion (any MAC value).
    {
        NetlistOptions o = options;
        o.kind = "conversion";
        o.mac_value = set.lo + 0.5 * span;
        const Netlist net = generate_netlist(design, tech, chip, o);
        const auto result = run_all(pool, {request_for(net)}, {"ramp transient"}, x.simulations).front();
        x.ramp_V = read_conversion(net, result, false).ramp_V;
    }
    // 2. Comparator offset at three common modes spanning the ramp.
    const double vcm = tech.spice.common_mode_V;
    const double u_low = *std::min_element(x.ramp_V.begin(), x.ramp_V.end());
    const double u_high = *std::max_element(x.ramp_V.begin(), x.ramp_V.end());
    std::vector<double> modes = {vcm - u_low, vcm - 0.5 * (u_low + u_high), vcm - u_high};
    const std::vector<double> offsets = comparator_offsets(design, tech, chip, modes, pool, options, x.simulations);
    const std::vector<double> ascending_modes(modes.rbegin(), modes.rend());
    const std::vector<double> ascending_offsets(offsets.rbegin(), offsets.rend());
    for (int k = 0; k < steps; ++k)
        x.comparator_offset_V.push_back(
            interpolate(ascending_modes, ascending_offsets, vcm - x.ramp_V[static_cast<std::size_t>(k)]));
    // 3. The MAC response: a coarse grid, then at each first estimate.
    for (int i = 0; i <= 4; ++i) x.probe_values.push_back(set.lo + span * (0.02 + 0.98 * i / 4.0));
    x.probe_V = probe_mac(design, tech, chip, x.probe_values, pool, options, x.simulations);
    std::vector<double> guesses;
    for (int k = 0; k < steps; ++k)
        guesses.push_back(invert(x.probe_values, x.probe_V,
                                 x.ramp_V[static_cast<std::size_t>(k)] + x.comparator_offset_V[static_cast<std::size_t>(k)]));
    const std::vector<double> at_guess = probe_mac(design, tech, chip, guesses, pool, options, x.simulations);
    for (int k = 0; k < steps; ++k) {
        const auto kk = static_cast<std::size_t>(k);
        const double target = x.ramp_V[kk] + x.comparator_offset_V[kk];
        // Local slope of u_mac from the coarse grid around the guess.
        std::size_t i = 1;
        while (i + 1 < x.probe_values.size() && x.probe_values[i] < guesses[kk]) ++i;
        const double slope = (x.probe_V[i] - x.probe_V[i - 1]) / (x.probe_values[i] - x.probe_values[i - 1]);
        x.transition_levels.push_back(guesses[kk] + (target - at_guess[kk]) / slope);
    }
    x.probe_values.insert(x.probe_values.end(), guesses.begin(), guesses.end());
    x.probe_V.insert(x.probe_V.end(), at_guess.begin(), at_guess.end());
    x.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return x;
}

double bisect_transition(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip, int k, double low,
                         double high, double tolerance, WorkerPool& pool, const NetlistOptions& options,
                         int& simulations)
{
    auto decides_high = [&](double value) {
        NetlistOptions o = options;
        o.kind = "conversion";
        o.mac_value = value;
        o.last_step = k;
        const Netlist net = generate_netlist(design, tech, chip, o);
        const auto result =
            run_all(pool, {request_for(net)}, {fmt::format("bisection conversion at {:g}", value)}, simulations).front();
        return read_conversion(net, result, false).decisions.back() == 1;
    };
    if (decides_high(low) || !decides_high(high))
        throw Error(fmt::format("threshold {} is not bracketed by [{:g}, {:g}]", k, low, high));
    while (high - low > tolerance) {
        const double mid = 0.5 * (low + high);
        (decides_high(mid) ? high : low) = mid;
    }
    return 0.5 * (low + high);
}

}  // namespace nladc::spice
