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
    k.integration_s = tech.sense.integration_time_s;
    k.reset_s = tech.sense.reset_time_s;
    k.period_s = clock_period_s(tech);
    k.compare_s = k.period_s - tech.comparator.resolve_time_s;
    return k;
}

namespace {

/// x' = A x + b for the phase; 3 states (v_o, v_x, v_n).
void phase_matrix(const SenseConstants& k, double current, double conductance, double tau_n, Eigen::Matrix3d& A,
                  Eigen::Vector3d& b)
{
    A.setZero();
    b.setZero();
    const double wp = k.pole_rad_s, a0 = k.gain;
    if (k.tia) {
        const double r = k.feedback_ohm, denominator = 1.0 + conductance * r;
        A(0, 0) = -wp * (1.0 + a0 / denominator);
        b(0) = -wp * a0 * r * current / denominator;
        // v_x is algebraic; keep it as a state that tracks nothing (A row of zeros).
    } else {
        const double c = k.capacitance_F;
        A(0, 0) = -wp;
        A(0, 1) = -wp * a0;
        A(1, 0) = -wp;
        A(1, 1) = -wp * a0 - conductance / c;
        b(1) = current / c;
    }
    if (tau_n > 0) {
        A(2, 0) = 1.0 / tau_n;
        A(2, 2) = -1.0 / tau_n;
    }
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

}  // namespace

SenseState propagate(const SenseConstants& k, const SenseState& x0, double current, double conductance, double dt,
                     double tau_n)
{
    if (k.ideal) return ideal_step(k, x0, current, dt);
    if (dt <= 0) return x0;
    Eigen::Matrix3d A;
    Eigen::Vector3d b;
    phase_matrix(k, current, conductance, tau_n, A, b);
    Eigen::Matrix4d M = Eigen::Matrix4d::Zero();
    M.topLeftCorner<3, 3>() = A * dt;
    M.topRightCorner<3, 1>() = b * dt;
    const Eigen::Matrix4d E = M.exp();
    Eigen::Vector4d y;
    y << x0, 1.0;
    SenseState x = (E * y).head<3>();
    if (tau_n <= 0) x(2) = x(0);
    return x;
}

SenseState propagate_numeric(const SenseConstants& k, const SenseState& x0, double current, double conductance,
                             double dt, double tau_n)
{
    if (k.ideal) return ideal_step(k, x0, current, dt);
    if (dt <= 0) return x0;
    Eigen::Matrix3d A;
    Eigen::Vector3d b;
    phase_matrix(k, current, conductance, tau_n, A, b);
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
    SenseState out(x[0], x[1], x[2]);
    if (tau_n <= 0) out(2) = out(0);
    return out;
}

SenseState reset(const SenseConstants& k, const SenseState& x0, double dt, double tau_n)
{
    SenseState x = x0;
    if (k.tia) return x;  // a TIA has no reset: its output follows the input
    x(0) = 0.0;
    x(1) = 0.0;
    x(2) = (k.ideal || tau_n <= 0) ? 0.0 : x0(2) * std::exp(-dt / tau_n);
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
