// BehavioralAdc's ramp (the replica column through the sense circuit) and the comparator latch.
#include <algorithm>
#include <array>
#include <optional>
#include <boost/numeric/odeint.hpp>
#include <vector>

#include "nladc/crossbar/crossbar.hpp"
#include "behavioral_impl.hpp"

namespace nladc {

std::vector<BehavioralAdc::Impl::Norton> BehavioralAdc::Impl::replica_nortons() const
{
    // Every cell of the column loads the virtual ground; rows beyond the design's
    // cells hold unprogrammed (off) cells.
    const int unprogrammed = rows - static_cast<int>(design.cells.size());
    double conductance_S = unprogrammed * effective(tech.device.g_off_S);
    for (std::size_t c = 0; c < design.cells.size(); ++c) conductance_S += effective(chip.replica_conductance_S[c]);
    auto drive_at = [&](int step) {
        Eigen::VectorXd drive = Eigen::VectorXd::Zero(rows);
        for (std::size_t c = 0; c < design.cells.size(); ++c) {
            const ReplicaCell& cell = design.cells[c];
            if (cell.step >= 0 && cell.step <= step) drive(cell.row) = chip.v_read_V;
        }
        return drive;
    };
    std::vector<Norton> nortons;
    if (wire_ohm == 0.0) {
        for (int step = 1; step <= steps; ++step) {
            Norton n{0.0, conductance_S};
            for (std::size_t c = 0; c < design.cells.size(); ++c) {
                const ReplicaCell& cell = design.cells[c];
                if (cell.step < 0 || cell.step > step) continue;
                n.current_A += read_current(chip.replica_conductance_S[c], chip.v_read_V);
            }
            nortons.push_back(through_select(n));
        }
        return nortons;
    }
    // The MAC pair holds (its columns float) with neutral weights during the ramp. The
    // network is the same at every step, only the drive changes: one solver; for ohmic
    // cells one adjoint solve gives every row's share of the column current
    // (CrossbarSolver::column_response), and each step's current is a dot product.
    ArrayNetwork a = array_network(Eigen::VectorXd());
    const auto n_columns = a.network.conductance_S.cols();
    a.network.column_floating.assign(static_cast<std::size_t>(n_columns), false);
    a.network.column_floating[static_cast<std::size_t>(a.plus)] = true;
    a.network.column_floating[static_cast<std::size_t>(a.minus)] = true;
    const CrossbarSolver solver(a.network);
    Eigen::VectorXd response;
    double norton_S;
    if (alpha == 0.0) {
        const auto replica = solver.column_response(a.replica);
        response = replica.drive_A_per_V;
        norton_S = -replica.sense_A_per_V(a.replica);
    } else {
        norton_S = norton_conductance(solver, a.replica);
    }
    for (int step = 1; step <= steps; ++step) {
        const Eigen::VectorXd drive = drive_at(step);
        const double current_A = alpha == 0.0
                                     ? response.dot(drive)
                                     : solver.solve(drive, Eigen::VectorXd::Zero(n_columns)).column_current_A(a.replica);
        nortons.push_back(through_select({current_A, norton_S}));
    }
    return nortons;
}

BehavioralAdc::Impl::Norton BehavioralAdc::Impl::through_select(const Norton& n) const
{
    const double through = 1.0 / (1.0 + select_ohm * n.conductance_S);
    return {n.current_A * through, n.conductance_S * through};
}

void BehavioralAdc::Impl::build_ramp()
{
    detail::SenseState x = detail::SenseState::Zero();
    auto advance = [&](const detail::Phase& phase, double dt) {
        x = transient ? detail::propagate_numeric(sense, x, phase, dt, line_node)
                      : detail::propagate(sense, x, phase, dt, line_node);
    };
    const CalibrationParams& cal = options.calibration;
    ramp.assign(static_cast<std::size_t>(steps), 0.0);
    enabled_cells.assign(static_cast<std::size_t>(steps), 0);
    replica = replica_nortons();
    const std::vector<Norton>& nortons = replica;
    // From the integration's end to the compare edge: the select delay, then the hold.
    const double hold_s = sense.compare_s - sense.reset_s - sense.integration_s - sense.select_delay_s;
    struct RampPhases {
        double conductance_S;
        detail::PhaseStep reset, integrate, connected, hold;
        RampPhases(double g, const detail::SenseConstants& k, const detail::OutputNode& node, double hold_s)
            : conductance_S(g),
              reset(k, g, true, k.reset_s, node),
              integrate(k, g, false, k.integration_s, node),
              connected(k, g, false, k.select_delay_s, node),
              hold(k, 0.0, false, hold_s, node)
        {
        }
    };
    std::optional<RampPhases> phases;
    for (int k = 1; k <= steps; ++k) {
        const Norton& n = nortons[static_cast<std::size_t>(k - 1)];
        const detail::Phase integrate{limited(n.current_A), n.conductance_S};
        for (const ReplicaCell& cell : design.cells)
            if (cell.step >= 0 && cell.step <= k) ++enabled_cells[static_cast<std::size_t>(k - 1)];
        if (sense.tia) {
            advance(integrate, sense.compare_s);
        } else if (!transient) {
            // Closed form with each phase's exponential computed once for the column's
            // conductance (it is the same at every step).
            if (!phases || phases->conductance_S != n.conductance_S)
                phases.emplace(n.conductance_S, sense, line_node, hold_s);
            x = sense.reset_switch_ohm > 0 && !sense.ideal ? phases->reset(x, 0.0)
                                                           : detail::reset(sense, x, n.conductance_S, sense.reset_s,
                                                                           line_node, false);
            x = detail::inject(sense, x, sense.reset_injection_C);
            x = phases->integrate(x, integrate.current_A);
            x = detail::saturate(sense, x);
            x = detail::inject(sense, phases->connected(x, 0.0), sense.select_injection_C);
            x = phases->hold(x, 0.0);
        } else {
            // The select switch closes with the reset; the rows drive only during the integration.
            x = detail::reset(sense, x, n.conductance_S, sense.reset_s, line_node, transient);
            x = detail::inject(sense, x, sense.reset_injection_C);
            advance(integrate, sense.integration_s);
            x = detail::saturate(sense, x);
            x = after_integration(x, n.conductance_S, 0.0, line_node, transient);
            // Hold until the compare edge, which leaves the latch its resolve time
            // before the next step's reset.
            advance({}, sense.compare_s - sense.reset_s - sense.integration_s - sense.select_delay_s);
        }
        ramp[static_cast<std::size_t>(k - 1)] =
            -x(2) + k_vread * cal.leakage_S * enabled_cells[static_cast<std::size_t>(k - 1)];
    }
    ramp_monotone = std::is_sorted(ramp.begin(), ramp.end());
}

/// Latch regeneration dv/dt = (v / tau)(1 - (v / V_dd)^2) for the resolve time.
bool BehavioralAdc::Impl::regenerate(double difference) const
{
    const double tau = tech.comparator.regeneration_tau_s, vdd = tech.comparator.supply_V;
    if (tau <= 0) return difference > 0;
    using State = std::array<double, 1>;
    State v = {difference};
    auto system = [&](const State& s, State& ds, double) { ds[0] = s[0] / tau * (1 - (s[0] / vdd) * (s[0] / vdd)); };
    namespace odeint = boost::numeric::odeint;
    // Only the sign and whether |v| reaches V_dd / 2 matter: loose tolerances suffice.
    odeint::integrate_adaptive(odeint::make_controlled(1e-9, 1e-6, odeint::runge_kutta_dopri5<State>()), system,
                               v, 0.0, tech.comparator.resolve_time_s, tau);
    return v[0] > 0.5 * vdd;
}

}  // namespace nladc
