#pragma once
// Behavioral model of the in-memory ramp NL-ADC (BRIEF §2). Units: V, A, S, s, F.
//
// Signal chain of one conversion:
//   1. MAC phase (reset, then integrate for T): the MAC differential pair drives one
//      integrator; the G- column's current is subtracted by a mirror of gain m:
//        I_sc = I(G+ column) - m I(G- column),   Norton conductance G_col = sum G+_eff.
//      The integrator (single-pole op-amp, DC gain A0, GBW; feedback C) is a linear
//      system in (v_o, v_x):
//        dv_o/dt = w_p (-A0 v_x - v_o),                     w_p = 2 pi GBW / A0
//        dv_x/dt = dv_o/dt + (I_sc - G_col v_x) / C
//      and its output node (op-amp output resistance R_out into the comparator input)
//      is a first-order RC (with matched input impedances, (C - 1) R_out in series, so
//      it sees the same source impedance as the ramp line). After T the MAC output
//      holds. Ideal: u = I_sc T / C.
//   2. Ramp phase, step k = 1 .. L-1 (one clock period P each): the replica integrator
//      resets, integrates the enabled replica cells (cumulative conductance G_ref(k))
//      for T, and holds; its output drives the ramp line shared by all C columns
//      (R_out into C_line = C x (C_in + C_hold + C_wire)). At the compare edge the
//      comparator decides whether u_mac > u_line(k) + V_os (+-h/2 hysteresis, + noise).
//      Each decision kicks Q_kb into both comparator inputs; what is left of that kick
//      when the latch decides (after 5 tau_regen) on the slow ramp line and on the fast
//      MAC node is a differential error. A decision is metastable when the overdrive
//      cannot regenerate to the supply within the resolve time: |d| < V_dd e^(-t/tau).
//   3. Counter: code = number of decisions "ramp below MAC" (or, with early stop, the
//      number before the first "ramp above MAC"). A negative MAC gives code 0 (ReLU).
// K = T/C and V_read appear on both sides and cancel (ratiometric); offsets, finite
// gain and settling differences, IR drop, access resistance and stuck cells do not.
//
// Static mode solves each linear phase in closed form (matrix exponential). Transient
// mode integrates the same equations with Boost.Odeint (controlled dopri5), feeding
// pulse-width inputs as the time-varying currents they are, and regenerates the latch.

#include <Eigen/Dense>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nladc/core/choices.hpp"
#include "nladc/core/random.hpp"
#include "nladc/mapping/mapping.hpp"

namespace nladc {

/// Nonidealities to switch off, one group at a time (all: the "ideal" switch).
struct Idealization {
    bool cells = false;       ///< ohmic cells, no 1T1R access resistance
    bool wires = false;       ///< zero wire resistance
    bool integrator = false;  ///< infinite gain and bandwidth, no saturation, unity mirror, no output RC
    bool comparator = false;  ///< no offset, noise, hysteresis, kickback or metastability
    static Idealization all() { return {true, true, true, true}; }
    bool any() const { return cells || wires || integrator || comparator; }
};

/// One realized chip: what the cells, comparator and supply actually are. The nominal
/// chip has every cell at its target (times the technology's drift factor).
struct ChipInstance {
    std::vector<double> replica_conductance_S;  ///< per design cell, same order
    double comparator_offset_V = 0.0;           ///< total input-referred offset
    double v_read_V = 0.2;
    double drift_factor = 1.0;                  ///< common drift of every cell (MAC and replica)
    double wire_resistance_ohm = 0.0;
    /// Extra offset added by calibration or trim, in V at the comparator input.
    double trim_offset_V = 0.0;
};

ChipInstance nominal_chip(const ReplicaDesign& design, const Technology& tech);

/// Capacitance at one comparator input: gate + hold capacitor + one column of ramp wire (F).
double comparator_node_capacitance(const Technology& tech);
/// Series resistance between the MAC output and its comparator input (ohm): (C - 1) R_out
/// when the input impedances are matched, else 0.
double mac_isolation_resistance(const Technology& tech);

/// The sense integrator alone, as the behavioral model simulates it: a column Norton
/// source (current_A, conductance_S) reaches the summing node through the select switch;
/// the MAC timeline (reset charge, integration for T, select delay and charge, hold)
/// drives an output resistance into a capacitance (the ramp line: R_out and
/// columns x comparator_node_capacitance). Returns u (V) at the first compare edge.
/// Block extraction (spice/blocks.hpp) fits the op-amp's parameters with it.
double integrator_output_V(const Technology& tech, double current_A, double conductance_S);

/// Calibrated behavioral parameters (fitted by `nladc calibrate` against SPICE):
/// global, physical corrections on top of the technology model; all neutral by default.
///   offset_V                     added to the comparator's input-referred offset
///   gain_error                   relative gain of the MAC path against the ramp path
///   mac_compression              u_mac -> u_mac (1 + gain_error) - mac_compression u_mac^2 (1/V)
///   access_resistance_delta_ohm  added to the 1T1R access resistance
///   gbw_scale                    multiplies the op-amps' gain-bandwidth product
///   leakage_S                    conductance added per enabled replica cell
struct CalibrationParams {
    /// Block parameters measured on the circuit's own testbenches (spice/blocks.hpp), as
    /// technology keys and SI values; applied to the technology before everything else.
    std::vector<std::pair<std::string, double>> block_parameters;
    double offset_V = 0.0;
    double gain_error = 0.0;
    double mac_compression = 0.0;
    double access_resistance_delta_ohm = 0.0;
    double gbw_scale = 1.0;
    double leakage_S = 0.0;
};

/// How a conversion is computed: each linear phase in closed form, or integrated in time
/// (Boost.Odeint); see the top of this file.
enum class AdcMode { static_solve, transient };

template <>
struct Choices<AdcMode> {
    static const std::vector<std::pair<AdcMode, std::string_view>>& table();
    static constexpr std::string_view what = "mode";
};

struct AdcOptions {
    Idealization ideal;
    AdcMode mode = AdcMode::static_solve;
    CalibrationParams calibration;
    /// With wires, the canonical MAC realization (convert(value), transition_levels)
    /// solves the array for every value instead of interpolating the per-chip table
    /// (docs/adc.md, "The MAC path with wires"): the reference the table is tested
    /// against, ~100x slower. Not a technology or study key.
    bool exact_mac_solves = false;
};

struct EnergyTerm {
    std::string name;
    double joules = 0.0;
};

/// The active array around the ADC (array.background_conductance_S): the columns other
/// than the MAC pair and the replica, and what they draw at full drive (every row at
/// input 1) with ideal wires — the currents the IR drop of an active array comes from.
struct ArrayLoad {
    int background_columns = 0;
    double cell_S = 0.0;            ///< per background cell, access device included
    double column_current_A = 0.0;  ///< per background column: rows x cell_S x V_read
    double row_current_A = 0.0;     ///< per row driver into the background: columns x cell_S x V_read
};
ArrayLoad array_load(const Technology& tech);

struct ConversionEnergy {
    std::vector<EnergyTerm> terms;  ///< MAC cell read, replica cell read, comparator, integrators, counter
    double total_J = 0.0;
    double latency_s = 0.0;         ///< MAC phase + ramp steps used
    int clocks = 0;
};

/// A conversion request on the MAC pair: inputs x in [0, 1] and signed weights in [-1, 1].
struct MacInputs {
    Eigen::VectorXd inputs;   ///< one per row (quantized to array.input_bits)
    Eigen::VectorXd weights;  ///< one per row; w -> (G+, G-) = (g_min + w+ (g_max - g_min), g_min + w- (...))
};

/// A MAC pair programmed with fixed weights, ready for many conversions (the
/// per-cell work — access resistance, drift, mirror — is done once).
struct PreparedColumn {
    Eigen::VectorXd plus_S, minus_S;  ///< effective conductances per row
    Eigen::VectorXd difference_S;     ///< plus - mirror * minus
    double norton_conductance_S = 0.0;
    double response_V_per_A = 0.0;    ///< MAC output per ampere at this Norton conductance
    double offset_V = 0.0;            ///< MAC output at zero current (switch charge injection)
};

class BehavioralAdc {
public:
    /// Resolves the design on a chip: precomputes the ramp (replica currents, sense
    /// response, line settling, kickback). Throws Error for inconsistent inputs.
    BehavioralAdc(const ReplicaDesign& design, const Technology& tech, const ChipInstance& chip,
                  const AdcOptions& options = {});
    ~BehavioralAdc();
    BehavioralAdc(BehavioralAdc&&) noexcept;

    /// The same design, technology and options on another chip, reusing this model's
    /// chip-independent tables (the sense response): what a Monte Carlo trial needs.
    BehavioralAdc with_chip(const ChipInstance& chip) const;
    /// The same technology and options with another (e.g. trimmed) design and chip.
    BehavioralAdc with_design(const ReplicaDesign& design, const ChipInstance& chip) const;

    /// Code for a MAC value in the level set's input units. The value is realized on
    /// the MAC pair by the canonical spread: every row at input 1 with the differential
    /// conductance v / (s R) (so IR drop and access resistance act on a full column).
    /// `noise` (optional) draws comparator noise and resolves metastability.
    int convert(double mac_value, RandomStream* noise = nullptr) const;
    /// Code for explicit inputs and weights on the MAC pair.
    int convert(const MacInputs& mac, RandomStream* noise = nullptr) const;
    /// Prepares a MAC pair with `weights` (one per row, clamped to [-1, 1]; at most the
    /// technology's rows). Throws Error for too many weights or a non-finite one.
    PreparedColumn prepare(const Eigen::VectorXd& weights) const;
    /// Code for inputs on a prepared column: the fast static path (ideal wires;
    /// with wires or transient pulse-width inputs it falls back to the full path).
    int convert(const PreparedColumn& column, const Eigen::VectorXd& inputs, RandomStream* noise = nullptr) const;
    /// Codes for many input vectors on a prepared column, noise-free: `inputs` is rows x n
    /// (one conversion per column), codes[c] = convert(column, inputs.col(c)) exactly (the
    /// same quantization, the same summation order, no FMA), four conversions at a time
    /// across AVX2 lanes where the CPU has them, one by one otherwise and where convert()
    /// takes the full path (wires, sinh cells, transient pulse-width inputs). Throws Error
    /// on a size mismatch.
    void convert_batch(const PreparedColumn& column, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                       std::span<int> codes) const;
    /// Code for a given MAC output voltage swing u (V), bypassing the MAC path.
    int convert_output(double u_mac_V, RandomStream* noise = nullptr) const;
    /// Reconstruction value of a code (the level set's level).
    double reconstruct(int code) const;

    /// Transition levels T[k], k = 1 .. L-1, by bisection on the MAC value (noise-free),
    /// in input units. `tolerance` is in input units (default LSB * 1e-6).
    std::vector<double> transition_levels(double tolerance = 0.0) const;

    /// The ramp at the compare instants u_line(k) - kick residual, V (k = 1 .. L-1).
    const std::vector<double>& ramp_V() const;
    /// MAC output swing u (V) at the compare instants for a MAC value.
    double mac_output_V(double mac_value) const;
    ConversionEnergy energy(double mac_value) const;

    const ReplicaDesign& design() const;
    const Technology& technology() const;

private:
    BehavioralAdc(const ReplicaDesign& design, const Technology& tech, const ChipInstance& chip,
                  const AdcOptions& options, std::shared_ptr<const void> shared_response);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nladc
