#pragma once
// Private to src/adc: the sense circuit as piecewise-linear state-space phases,
// solved in closed form (static mode) or numerically (transient mode).
//
// Integrator (voltages relative to VCM). The op-amp is a single-pole VCVS v_o behind
// its own output resistance R_o (the transistor OTA's output impedance at the
// crossover, ~1/gm of its output stage; 0 = ideal source) driving the pin p, where
// the feedback capacitor C (to the summing node x) and the output node (R into C_n:
// the ramp line, or the MAC comparator node) attach. The column is a Norton source
// (I, G) into x; the reset switch R_sw is across C while the integrator resets.
// State x = (v_o, w, v_n), w = v_x - v_p the voltage across C:
//   v_p = (g_o v_o - G w + g_n v_n + I) / (g_o + g_n + G)     (KCL at p; charge on C cancels)
//   v_x = v_p + w
//   dv_o/dt = w_p (-A0 v_x - v_o),                  w_p = 2 pi GBW / A0
//   C dw/dt = I - G v_x - w / R_sw                  (R_sw only while resetting)
//   dv_n/dt = (v_p - v_n) / tau_n
// With R_o = 0 this is the classic single-pole integrator (v_p = v_o, v_x = v_o + w).
// TIA state x = (v_o, -, v_n), v_x = (I R_f + v_o) / (1 + G R_f) algebraic.
// Ideal: v_x = 0, v_n = v_o, v_o = -I t / C (integrator) or -I R_f (TIA).

#include <Eigen/Dense>

#include "nladc/device/technology.hpp"

namespace nladc::detail {

struct SenseConstants {
    bool ideal = false;
    bool tia = false;
    double capacitance_F = 0, feedback_ohm = 0, gain = 0, pole_rad_s = 0, swing_V = 0;
    double output_ohm = 0;        ///< R_o, the op-amp's own output resistance (0: ideal source)
    double reset_switch_ohm = 0;  ///< 0: ideal reset (the state is zeroed)
    double select_delay_s = 0;    ///< column still connected (rows at VCM) after the integration
    double reset_injection_C = 0, select_injection_C = 0, mirror_injection_C = 0;
    double max_current_A = 0;     ///< column current the op-amp can take; 0: unlimited (applied by the caller)
    double integration_s = 0, reset_s = 0, period_s = 0;
    double compare_s = 0;  ///< compare edge within a step: period - comparator resolve time
};

SenseConstants sense_constants(const Technology& tech, bool ideal);

/// State of one sense circuit, always 3 entries (v_o, w, v_n); TIA ignores w.
using SenseState = Eigen::Vector3d;

/// What drives the sense circuit during one phase.
struct Phase {
    double current_A = 0;      ///< column Norton current (0: rows at VCM)
    double conductance_S = 0;  ///< column Norton conductance (0: select switch open)
    bool reset = false;        ///< reset switch closed
};

/// The node the integrator drives: resistance from the pin into a capacitor, tau = R C.
/// tau 0: the node is the pin itself.
struct OutputNode {
    double resistance_ohm = 0, tau_s = 0;
};

/// Advances the state by dt. Closed form (augmented matrix exponential).
SenseState propagate(const SenseConstants& k, const SenseState& x0, const Phase& phase, double dt_s,
                     const OutputNode& node);

/// propagate() through one phase (conductance, reset switch, dt, node) for any start
/// state and column current: the phase is linear, x(dt) = Phi x0 + I gamma, so its
/// exponential is computed once (the augmented matrix of I = 1 A) and every step costs a
/// 3 x 3 product: the ramp's steps share their phases.
class PhaseStep {
public:
    PhaseStep(const SenseConstants& k, double conductance_S, bool reset, double dt_s, const OutputNode& node);
    SenseState operator()(const SenseState& x0, double current_A) const;

private:
    const SenseConstants* k_;
    Phase phase_;
    double dt_s_;
    OutputNode node_;
    Eigen::Matrix3d state_;
    Eigen::Vector3d per_A_;
};

/// The same, integrated numerically with Boost.Odeint (controlled dopri5).
SenseState propagate_numeric(const SenseConstants& k, const SenseState& x0, const Phase& phase, double dt_s,
                             const OutputNode& node);

/// A reset of dt with the column (conductance G, rows at VCM) connected: through the
/// reset switch, or ideal (v_o = w = 0, the node relaxes) when R_sw is 0.
SenseState reset(const SenseConstants& k, const SenseState& x0, double conductance_S, double dt_s,
                 const OutputNode& node, bool numeric);

/// Charge Q injected into the summing node (an opening switch): it lands on C.
SenseState inject(const SenseConstants& k, SenseState x, double charge_C);

/// The pin voltage v_p of a state (for saturation and reading the output).
double pin_voltage(const SenseConstants& k, const SenseState& x, const Phase& phase, const OutputNode& node);

/// Clamps v_o (and the node) to the output swing.
SenseState saturate(const SenseConstants& k, SenseState x);

}  // namespace nladc::detail
