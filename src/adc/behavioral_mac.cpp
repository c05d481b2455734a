// BehavioralAdc's MAC path: the MAC pair's Norton equivalent and the sense circuit's response to it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "nladc/crossbar/crossbar.hpp"
#include "behavioral_impl.hpp"

namespace nladc {

/// The Norton equivalent the MAC integrator sees: the G+ column through its select
/// switch (series R: I / (1 + R G), G / (1 + R G)), minus the G- column's current
/// through its own select switch into the conveyor's virtual ground, mirrored.
BehavioralAdc::Impl::Norton BehavioralAdc::Impl::sensed(const ColumnPair& p) const
{
    const double plus = 1.0 / (1.0 + select_ohm * p.plus_S), minus = 1.0 / (1.0 + select_ohm * p.minus_S);
    return {p.plus_A * plus - mirror * p.minus_A * minus, p.plus_S * plus};
}

/// The MAC pair for inputs x and weights w (averaged over the integration window for
/// pulse-width inputs).
BehavioralAdc::Impl::ColumnPair BehavioralAdc::Impl::mac_pair(const Eigen::VectorXd& x, const Eigen::VectorXd& w,
                                                              bool pulse) const
{
    const double v = chip.v_read_V;
    if (wire_ohm == 0.0) {
        ColumnPair p;
        for (Eigen::Index i = 0; i < x.size(); ++i) {
            const auto [gp, gm] = pair_conductance(w(i));
            const double xi = x(i);
            // Every cell loads its virtual ground: rows not driven sit at 0 V.
            p.plus_S += effective(gp);
            p.minus_S += effective(gm);
            if (xi <= 0) continue;
            if (pulse) {
                p.plus_A += xi * read_current(gp, v);
                p.minus_A += xi * read_current(gm, v);
            } else {
                p.plus_A += read_current(gp, xi * v);
                p.minus_A += read_current(gm, xi * v);
            }
        }
        return p;
    }
    // With wires: solve the array; pulse-width inputs as time slices of equal drive.
    std::vector<double> cuts(x.data(), x.data() + x.size());
    cuts.push_back(0.0);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    if (!pulse) return solve_mac_network(w, x * v);
    ColumnPair p;
    for (std::size_t c = 1; c < cuts.size(); ++c) {
        Eigen::VectorXd drive(x.size());
        for (Eigen::Index i = 0; i < x.size(); ++i) drive(i) = x(i) >= cuts[c] ? v : 0.0;
        p += solve_mac_network(w, drive).scaled(cuts[c] - cuts[c - 1]);
    }
    return p;
}

BehavioralAdc::Impl::Norton BehavioralAdc::Impl::mac_norton(const Eigen::VectorXd& x, const Eigen::VectorXd& w,
                                                            bool pulse) const
{
    return sensed(mac_pair(x, w, pulse));
}

/// Transient mode, pulse-width inputs on a non-ideal integrator: the rows switch
/// off one group at a time, so the current steps down during the window.
double BehavioralAdc::Impl::mac_output_pulse_width(const Eigen::VectorXd& x, const Eigen::VectorXd& w) const
{
    std::vector<double> cuts(x.data(), x.data() + x.size());
    cuts.push_back(0.0);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    detail::SenseState state = detail::inject(sense, detail::SenseState::Zero(), sense.reset_injection_C);
    double elapsed = 0.0, conductance = 0.0;
    for (std::size_t c = 1; c < cuts.size(); ++c) {
        Eigen::VectorXd active(x.size());
        for (Eigen::Index i = 0; i < x.size(); ++i) active(i) = x(i) >= cuts[c] ? 1.0 : 0.0;
        // The slice's drive is the full read voltage on the active rows.
        const Norton n = mac_norton(active, w, false);
        conductance = n.conductance_S;
        const double dt = (cuts[c] - cuts[c - 1]) * sense.integration_s;
        state = detail::propagate_numeric(sense, state, {limited(n.current_A), n.conductance_S}, dt, mac_node);
        elapsed += dt;
    }
    state = after_integration(state, conductance, sense.integration_s - elapsed, mac_node, true);
    state = detail::inject(sense, state, sense.mirror_injection_C);
    state = detail::propagate_numeric(sense, state, {}, sense.compare_s - sense.select_delay_s, mac_node);
    state = detail::saturate(sense, state);
    return calibrated_mac(-state(2));
}

/// After the integration: rows at VCM for `idle` more seconds, then the select switch
/// stays closed for select_delay_s and opens (its charge lands on C).
detail::SenseState BehavioralAdc::Impl::after_integration(detail::SenseState x, double conductance, double idle,
                                                          const detail::OutputNode& node, bool numeric) const
{
    const detail::Phase connected{0.0, conductance, false};
    const double dt = idle + sense.select_delay_s;
    x = numeric ? detail::propagate_numeric(sense, x, connected, dt, node) : detail::propagate(sense, x, connected, dt, node);
    return detail::inject(sense, x, sense.select_injection_C);
}

BehavioralAdc::Impl::ArrayNetwork BehavioralAdc::Impl::array_network(const Eigen::VectorXd& w) const
{
    ArrayNetwork a;
    std::vector<int> used = {tech.array.mac_column, tech.array.mac_column + 1, tech.array.replica_column};
    std::sort(used.begin(), used.end());
    const auto index_of = [&](int c) {
        return static_cast<int>(std::find(used.begin(), used.end(), c) - used.begin());
    };
    a.plus = index_of(tech.array.mac_column);
    a.minus = index_of(tech.array.mac_column + 1);
    a.replica = index_of(tech.array.replica_column);
    a.network.conductance_S = Eigen::MatrixXd::Zero(rows, static_cast<Eigen::Index>(used.size()));
    for (int i = 0; i < rows; ++i) {
        const auto [gp, gm] = i < w.size() ? pair_conductance(w(i)) : pair_conductance(0.0);
        a.network.conductance_S(i, a.plus) = effective(gp);
        a.network.conductance_S(i, a.minus) = effective(gm);
    }
    a.network.conductance_S.col(a.replica).setConstant(effective(tech.device.g_off_S));
    for (std::size_t c = 0; c < design.cells.size(); ++c)
        a.network.conductance_S(design.cells[c].row, a.replica) = effective(chip.replica_conductance_S[c]);
    a.network.wire_resistance_ohm = wire_ohm;
    a.network.iv_alpha_per_V = alpha;
    for (std::size_t j = 0; j < used.size(); ++j)
        a.network.row_segments.push_back(j == 0 ? used[0] + 1.0 : static_cast<double>(used[j] - used[j - 1]));
    if (tech.array.background_conductance_S > 0) {
        a.network.lumped_cell_conductance_S = effective(tech.array.background_conductance_S * chip.drift_factor);
        a.network.trailing_lumped_columns = columns - 1 - used.back();
    }
    return a;
}

/// The MAC phase: MAC pair driven, replica column in reset (at virtual ground).
BehavioralAdc::Impl::ColumnPair BehavioralAdc::Impl::solve_mac_network(const Eigen::VectorXd& w,
                                                                       const Eigen::VectorXd& drive) const
{
    const ArrayNetwork a = array_network(w);
    Eigen::VectorXd full_drive = Eigen::VectorXd::Zero(rows);
    full_drive.head(std::min<Eigen::Index>(rows, drive.size())) = drive.head(std::min<Eigen::Index>(rows, drive.size()));
    const CrossbarSolver solver(a.network);
    const CrossbarSolution solution = solver.solve(full_drive, Eigen::VectorXd::Zero(a.network.conductance_S.cols()));
    return {solution.column_current_A(a.plus), norton_conductance(solver, a.plus),
            solution.column_current_A(a.minus), norton_conductance(solver, a.minus)};
}

/// The conductance a column presents at its sense end with every row driver at VCM:
/// the cells in series with their share of the wires (a small probe on the sense node,
/// the other sense nodes at VCM).
double BehavioralAdc::Impl::norton_conductance(const CrossbarSolver& solver, Eigen::Index column) const
{
    const double probe_V = 1e-3;
    const auto columns = solver.network().conductance_S.cols();
    Eigen::VectorXd sense = Eigen::VectorXd::Zero(columns);
    sense(column) = probe_V;
    return -solver.solve(Eigen::VectorXd::Zero(rows), sense).column_current_A(column) / probe_V;
}

/// The canonical realization of a MAC value: every row at input 1, weight v / (s R span).
Eigen::VectorXd BehavioralAdc::Impl::canonical_weights(double value) const
{
    const double span = tech.device.g_max_S - tech.device.g_min_S;
    const double w = std::clamp(value / design.scale_per_S / (rows * span), -1.0, 1.0);
    return Eigen::VectorXd::Constant(rows, w);
}

BehavioralAdc::Impl::Norton BehavioralAdc::Impl::canonical_norton_of(double value) const
{
    if (wire_ohm == 0.0) {
        // Every row is identical in the canonical spread: one row times R.
        const ColumnPair row = mac_pair(Eigen::VectorXd::Ones(1), canonical_weights(value).head(1), pulse_width());
        return sensed(row.scaled(rows));
    }
    // Tabulated once: a solve per value would make bisection slow.
    const auto& xs = canonical_values;
    const double clamped = std::clamp(value, xs.front(), xs.back());
    const std::size_t i =
        std::min<std::size_t>(std::upper_bound(xs.begin(), xs.end(), clamped) - xs.begin(), xs.size() - 1);
    const std::size_t i0 = i == 0 ? 0 : i - 1;
    const double f = xs[i] == xs[i0] ? 0.0 : (clamped - xs[i0]) / (xs[i] - xs[i0]);
    // Interpolation, and exact linear extrapolation beyond the table for the currents.
    const double along = xs[i] == xs[i0] ? 0.0 : (value - xs[i0]) / (xs[i] - xs[i0]);
    const ColumnPair& a = canonical_pairs[i0];
    const ColumnPair& b = canonical_pairs[i];
    return sensed({a.plus_A + along * (b.plus_A - a.plus_A), a.plus_S + f * (b.plus_S - a.plus_S),
                   a.minus_A + along * (b.minus_A - a.minus_A), a.minus_S + f * (b.minus_S - a.minus_S)});
}

/// MAC output swing u (V, positive for a positive MAC) at the compare instants.
double BehavioralAdc::Impl::mac_output(const Norton& n) const
{
    double u;
    if (sense.ideal) {
        u = sense.tia ? sense.feedback_ohm * n.current_A : n.current_A * sense.integration_s / sense.capacitance_F;
    } else {
        u = response_at(n.conductance_S, limited(n.current_A));
        u = std::clamp(u, -sense.swing_V, sense.swing_V);
    }
    return calibrated_mac(u);
}

/// Exact MAC output (V) for a Norton current and conductance: the reset charge, the
/// integration, the select switch, the mirror switch, the hold until the first compare edge.
double BehavioralAdc::Impl::exact_response(double current, double conductance) const
{
    detail::SenseState x = detail::SenseState::Zero();
    auto step = [&](const detail::Phase& phase, double dt) {
        x = transient ? detail::propagate_numeric(sense, x, phase, dt, mac_node)
                      : detail::propagate(sense, x, phase, dt, mac_node);
    };
    if (sense.tia) {
        step({current, conductance}, sense.reset_s + sense.integration_s + sense.compare_s);
    } else {
        x = detail::inject(sense, x, sense.reset_injection_C);
        step({current, conductance}, sense.integration_s);
        x = after_integration(x, conductance, 0.0, mac_node, transient);
        x = detail::inject(sense, x, sense.mirror_injection_C);
        step({}, sense.compare_s - sense.select_delay_s);  // hold until the first compare edge
    }
    return -x(2);
}

}  // namespace nladc
