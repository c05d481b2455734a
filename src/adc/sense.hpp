#pragma once
// Private to src/adc: the sense circuit as piecewise-linear state-space phases,
// solved in closed form (static mode) or numerically (transient mode).
//
// Integrator state x = (v_o, v_x, v_n): op-amp output, inverting input, and the
// output node after R_out (the comparator input; the shared ramp line for the
// replica). With cells enabled (Norton current I, conductance G):
//   dv_o/dt = w_p (-A0 v_x - v_o)
//   dv_x/dt = dv_o/dt + (I - G v_x) / C
//   dv_n/dt = (v_o - v_n) / tau_n
// TIA state x = (v_o, v_n), v_x = (I R_f + v_o) / (1 + G R_f) algebraic.
// Ideal: v_x = 0, v_n = v_o, v_o = -I t / C (integrator) or -I R_f (TIA).

#include <Eigen/Dense>

#include "nladc/device/technology.hpp"

namespace nladc::detail {

struct SenseConstants {
    bool ideal = false;
    bool tia = false;
    double capacitance_F = 0, feedback_ohm = 0, gain = 0, pole_rad_s = 0, swing_V = 0;
    double integration_s = 0, reset_s = 0, period_s = 0;
    double compare_s = 0;  ///< compare edge within a step: period - comparator resolve time
};

SenseConstants sense_constants(const Technology& tech, bool ideal);

/// State of one sense circuit, always 3 entries (v_o, v_x, v_n); TIA ignores v_x.
using SenseState = Eigen::Vector3d;

/// Advances the state by dt with constant Norton input (I, G) and output-node time
/// constant tau_n (0: the node follows v_o). Closed form (augmented matrix exponential).
SenseState propagate(const SenseConstants& k, const SenseState& x0, double current_A, double conductance_S,
                     double dt_s, double tau_n_s);

/// The same, integrated numerically with Boost.Odeint (controlled dopri5).
SenseState propagate_numeric(const SenseConstants& k, const SenseState& x0, double current_A, double conductance_S,
                             double dt_s, double tau_n_s);

/// Ideal reset of an integrator: v_o = v_x = 0 and the node relaxes toward 0 for dt.
SenseState reset(const SenseConstants& k, const SenseState& x0, double dt_s, double tau_n_s);

/// Clamps v_o (and the node) to the output swing.
SenseState saturate(const SenseConstants& k, SenseState x);

}  // namespace nladc::detail
