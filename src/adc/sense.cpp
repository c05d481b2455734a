#include "sense.hpp"

#include <boost/numeric/odeint.hpp>
#include <unsupported/Eigen/MatrixFunctions>

#include <array>
#include <cmath>
#include <numbers>

namespace nladc::detail {

SenseConstants sense_constants(const Technology& tech, bool ideal)
{
    SenseConstants k;
    k.ideal = ideal;
    k.tia = tech.sense.mode == "tia";
    k.capacitance_F = tech.sense.capacitance_F;
    k.feedback_ohm = tech.sense.tia_resistance_ohm;
    k.gain = tech.sense.opamp_gain;
    k.pole_rad_s = 2.0 * std::numbers::pi * tech.sense.opamp_gbw_Hz / tech.sense.opamp_gain;
    k.swing_V = tech.sense.output_swing_V;
    k.output_ohm = tech.sense.opamp_open_loop_output_ohm;
    k.reset_switch_ohm = tech.sense.reset_switch_ohm;
    k.select_delay_s = tech.sense.select_delay_s;
    k.reset_injection_C = tech.sense.reset_injection_C;
    k.select_injection_C = tech.sense.select_injection_C;
    k.mirror_injection_C = tech.sense.mirror_injection_C;
    k.max_current_A = tech.sense.opamp_max_current_A;
    k.integration_s = tech.sense.integration_time_s;
    k.reset_s = tech.sense.reset_time_s;
    k.period_s = clock_period_s(tech);
    k.compare_s = k.period_s - tech.comparator.resolve_time_s;
    return k;
}

namespace {

/// v_p and v_x as linear functions of the state: v = row . x + constant.
struct PinRows {
    Eigen::RowVector3d pin, summing;
    double pin_constant = 0, summing_constant = 0;
};

PinRows pin_rows(const SenseConstants& k, const Phase& phase, const OutputNode& node)
{
    PinRows r;
    const double current = phase.current_A, g = phase.conductance_S;
    const double g_n = node.tau_s > 0 && node.resistance_ohm > 0 ? 1.0 / node.resistance_ohm : 0.0;
    if (k.output_ohm > 0) {
        const double g_o = 1.0 / k.output_ohm, d = g_o + g_n + g;
        r.pin << g_o / d, -g / d, g_n / d;
        r.pin_constant = current / d;
    } else {
        r.pin << 1.0, 0.0, 0.0;  // the ideal source is the pin
    }
    r.summing = r.pin + Eigen::RowVector3d(0.0, 1.0, 0.0);
    r.summing_constant = r.pin_constant;
    return r;
}

/// x' = A x + b for the phase; 3 states (v_o, w, v_n).
void phase_matrix(const SenseConstants& k, const Phase& phase, const OutputNode& node, Eigen::Matrix3d& A,
                  Eigen::Vector3d& b)
{
    A.setZero();
    b.setZero();
    const double wp = k.pole_rad_s, a0 = k.gain, current = phase.current_A, g = phase.conductance_S;
    if (k.tia) {
        const double r = k.feedback_ohm, denominator = 1.0 + g * r;
        A(0, 0) = -wp * (1.0 + a0 / denominator);
        b(0) = -wp * a0 * r * current / denominator;
        // w is unused; its row stays zero. The node follows v_o.
        if (node.tau_s > 0) {
            A(2, 0) = 1.0 / node.tau_s;
            A(2, 2) = -1.0 / node.tau_s;
        }
        return;
    }
    const PinRows rows = pin_rows(k, phase, node);
    const double c = k.capacitance_F;
    // dv_o/dt = wp (-A0 v_x - v_o)
    A.row(0) = -wp * a0 * rows.summing;
    A(0, 0) -= wp;
    b(0) = -wp * a0 * rows.summing_constant;
    // C dw/dt = I - G v_x - w / R_sw
    A.row(1) = -g / c * rows.summing;
    b(1) = (current - g * rows.summing_constant) / c;
    if (phase.reset && k.reset_switch_ohm > 0) A(1, 1) -= 1.0 / (k.reset_switch_ohm * c);
    // dv_n/dt = (v_p - v_n) / tau
    if (node.tau_s > 0) {
        A.row(2) = rows.pin / node.tau_s;
        A(2, 2) -= 1.0 / node.tau_s;
        b(2) = rows.pin_constant / node.tau_s;
    }
}

/// exp of the augmented matrix [A b; 0 0] dt of the phase: [x(dt); 1] = E [x0; 1].
Eigen::Matrix4d phase_exponential(const SenseConstants& k, const Phase& phase, const OutputNode& node, double dt)
{
    Eigen::Matrix3d A;
    Eigen::Vector3d b;
    phase_matrix(k, phase, node, A, b);
    Eigen::Matrix4d M = Eigen::Matrix4d::Zero();
    M.topLeftCorner<3, 3>() = A * dt;
    M.topRightCorner<3, 1>() = b * dt;
    return M.exp();
}

SenseState ideal_step(const SenseConstants& k, const SenseState& x0, double current, double dt)
{
    SenseState x = x0;
    if (k.tia) {
        x(0) = -k.feedback_ohm * current;
    } else {
        x(0) = x0(0) - current * dt / k.capacitance_F;
    }
    x(1) = 0.0;
    x(2) = x(0);
    return x;
}

/// Without an output node the node is the pin.
SenseState follow_pin(const SenseConstants& k, SenseState x, const Phase& phase, const OutputNode& node)
{
    if (node.tau_s <= 0) x(2) = pin_voltage(k, x, phase, node);
    return x;
}

}  // namespace

double pin_voltage(const SenseConstants& k, const SenseState& x, const Phase& phase, const OutputNode& node)
{
    if (k.tia || k.ideal) return x(0);
    const PinRows rows = pin_rows(k, phase, node);
    return rows.pin.dot(x) + rows.pin_constant;
}

SenseState propagate(const SenseConstants& k, const SenseState& x0, const Phase& phase, double dt,
                     const OutputNode& node)
{
    if (k.ideal) return ideal_step(k, x0, phase.current_A, dt);
    if (dt <= 0) return x0;
    Eigen::Vector4d y;
    y << x0, 1.0;
    return follow_pin(k, (phase_exponential(k, phase, node, dt) * y).head<3>(), phase, node);
}

PhaseStep::PhaseStep(const SenseConstants& k, double conductance_S, bool reset, double dt_s, const OutputNode& node)
    : k_(&k), phase_{1.0, conductance_S, reset}, dt_s_(dt_s), node_(node)
{
    if (k.ideal || dt_s <= 0) return;
    const Eigen::Matrix4d E = phase_exponential(k, phase_, node, dt_s);
    state_ = E.topLeftCorner<3, 3>();
    per_A_ = E.topRightCorner<3, 1>();
}

SenseState PhaseStep::operator()(const SenseState& x0, double current_A) const
{
    if (k_->ideal) return ideal_step(*k_, x0, current_A, dt_s_);
    if (dt_s_ <= 0) return x0;
    Phase phase = phase_;
    phase.current_A = current_A;
    return follow_pin(*k_, state_ * x0 + current_A * per_A_, phase, node_);
}

SenseState propagate_numeric(const SenseConstants& k, const SenseState& x0, const Phase& phase, double dt,
                             const OutputNode& node)
{
    if (k.ideal) return ideal_step(k, x0, phase.current_A, dt);
    if (dt <= 0) return x0;
    Eigen::Matrix3d A;
    Eigen::Vector3d b;
    phase_matrix(k, phase, node, A, b);
    // Time in units of dt keeps the stepper's tolerances meaningful at ns scales.
    using State = std::array<double, 3>;
    State x = {x0(0), x0(1), x0(2)};
    auto system = [&](const State& s, State& ds, double /*tau*/) {
        for (int i = 0; i < 3; ++i) {
            double v = b(i);
            for (int j = 0; j < 3; ++j) v += A(i, j) * s[static_cast<std::size_t>(j)];
            ds[static_cast<std::size_t>(i)] = v * dt;
        }
    };
    namespace odeint = boost::numeric::odeint;
    auto stepper = odeint::make_controlled(1e-12, 1e-10, odeint::runge_kutta_dopri5<State>());
    odeint::integrate_adaptive(stepper, system, x, 0.0, 1.0, 1e-3);
    return follow_pin(k, SenseState(x[0], x[1], x[2]), phase, node);
}

SenseState reset(const SenseConstants& k, const SenseState& x0, double conductance_S, double dt,
                 const OutputNode& node, bool numeric)
{
    if (k.tia) return x0;  // a TIA has no reset: its output follows the input
    if (!k.ideal && k.reset_switch_ohm > 0) {
        const Phase phase{0.0, conductance_S, true};
        return numeric ? propagate_numeric(k, x0, phase, dt, node) : propagate(k, x0, phase, dt, node);
    }
    SenseState x = x0;
    x(0) = 0.0;
    x(1) = 0.0;
    x(2) = (k.ideal || node.tau_s <= 0) ? 0.0 : x0(2) * std::exp(-dt / node.tau_s);
    return x;
}

SenseState inject(const SenseConstants& k, SenseState x, double charge_C)
{
    if (k.ideal || k.tia || charge_C == 0.0) return x;
    x(1) += charge_C / k.capacitance_F;
    return x;
}

SenseState saturate(const SenseConstants& k, SenseState x)
{
    if (k.ideal) return x;
    x(0) = std::clamp(x(0), -k.swing_V, k.swing_V);
    x(2) = std::clamp(x(2), -k.swing_V, k.swing_V);
    return x;
}

}  // namespace nladc::detail
