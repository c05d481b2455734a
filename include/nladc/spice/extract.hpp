#pragma once
// Reading conversions out of ngspice transients, and the SPICE transition levels.
//
// T_spice[k] is the MAC value at which the comparator's decision at ramp step k flips:
// u_mac(T) = u_line(k) + V_os(k). The fast extractor measures each term once instead of
// bisecting full conversions:
//   u_line(k)  every ramp level from one full-conversion transient;
//   V_os(k)    the comparator's input-referred offset (kickback, mismatch) from
//              comparator-only testbenches with the converter's source impedances, at
//              three input common modes, interpolated to each threshold's;
//   u_mac(v)   MAC-only transients on a coarse grid, then at each first estimate of
//              T[k], refined with the local slope.
// bisect_transition is the slow reference: bisection on the MAC value where every step
// is a full transistor-level conversion up to step k.

#include <Eigen/Core>
#include <vector>

#include "nladc/spice/netlist.hpp"
#include "nladc/spice/ngspice.hpp"

namespace nladc::spice {

/// Linear interpolation of a waveform at time t (clamped to its ends).
double sample_at(const Eigen::VectorXd& time, const Eigen::VectorXd& values, double t);

/// A result's vector by name. Throws Error naming a missing vector.
const Eigen::VectorXd& vector_of(const SimulationResult& result, const std::string& name);

/// The request for a netlist. A conversion takes a few seconds; a run far beyond the
/// timeout is stuck (then killed and retried with gear by run_all).
SimulationRequest request_for(const Netlist& net, double timeout_s = 180.0);

/// Runs requests on the pool; a run that fails or times out (e.g. "timestep too small")
/// is retried once with the gear integrator, which is more robust on stiff nodes. A
/// second failure throws Error naming labels[i] and ngspice's message.
std::vector<SimulationResult> run_all(WorkerPool& pool, const std::vector<SimulationRequest>& requests,
                                      const std::vector<std::string>& labels, int& simulations);

struct SpiceConversion {
    int code = 0;
    std::vector<int> decisions;   ///< one per simulated step (1: ramp below MAC)
    std::vector<double> ramp_V;   ///< u_line(k) = VCM - v(ramp) just before each compare edge
    std::vector<double> mac_at_compare_V;  ///< u_mac = VCM - v(cmp_mac) just before each compare edge
    double mac_V = 0.0;           ///< u_mac just before the first compare edge
};

/// Decisions, code and levels of a conversion transient. Throws Error when a vector is missing.
SpiceConversion read_conversion(const Netlist& net, const SimulationResult& result, bool early_stop);

/// Runs full conversions for the MAC values on the pool (one netlist each, in order).
/// Failed simulations throw Error naming the value and ngspice's message.
std::vector<SpiceConversion> spice_convert(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                                           const std::vector<double>& mac_values, WorkerPool& pool,
                                           const NetlistOptions& options);

struct FastExtraction {
    std::vector<double> transition_levels;    ///< T_spice[k], input units
    std::vector<double> ramp_V;               ///< u_line(k)
    std::vector<double> comparator_offset_V;  ///< V_os at each threshold's common mode
    std::vector<double> probe_values, probe_V;  ///< MAC probes: value and u_mac
    int simulations = 0;
    double wall_s = 0.0;
};

/// The fast extractor (see above). Throws Error when a simulation fails.
FastExtraction extract_transitions(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                                   WorkerPool& pool, const NetlistOptions& options);

/// Comparator input-referred offsets (V) at several common modes: a coarse then a fine
/// sweep of the input difference, each one transient, all modes in one batch. Counts
/// its simulations in `simulations`. Throws Error when the latch does not switch.
std::vector<double> comparator_offsets(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                                       const std::vector<double>& common_modes_V, WorkerPool& pool,
                                       const NetlistOptions& options, int& simulations);
/// The same at one common mode.
double comparator_offset(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                         double common_mode_V, WorkerPool& pool, const NetlistOptions& options, int& simulations);

/// Reference: T[k] (k = 1 .. L-1) by bisection on full conversions within [low, high]
/// (input units) until the bracket is narrower than `tolerance`.
double bisect_transition(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip, int k, double low,
                         double high, double tolerance, WorkerPool& pool, const NetlistOptions& options,
                         int& simulations);

}  // namespace nladc::spice
