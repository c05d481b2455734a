// BehavioralAdc's MAC path: the MAC pair's Norton equivalent and the sense circuit's response to it.
#include <algorithm>
#include <cmath>
#include <numbers>
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

void BehavioralAdc::Impl::add_row(ColumnPair& p, double x, double w, bool pulse) const
{
    const double v = chip.v_read_V;
    const auto [gp, gm] = pair_conductance(w);
    // Every cell loads its virtual ground: rows not driven sit at 0 V.
    p.plus_S += effective(gp);
    p.minus_S += effective(gm);
    if (x <= 0) return;
    if (pulse) {
        p.plus_A += x * read_current(gp, v);
        p.minus_A += x * read_current(gm, v);
    } else {
        p.plus_A += read_current(gp, x * v);
        p.minus_A += read_current(gm, x * v);
    }
}

/// The MAC pair for inputs x and weights w (averaged over the integration window for
/// pulse-width inputs).
BehavioralAdc::Impl::ColumnPair BehavioralAdc::Impl::mac_pair(const Eigen::VectorXd& x, const Eigen::VectorXd& w,
                                                              bool pulse) const
{
    const double v = chip.v_read_V;
    if (wire_ohm == 0.0) {
        ColumnPair p;
        for (Eigen::Index i = 0; i < x.size(); ++i) add_row(p, x(i), w(i), pulse);
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
    ColumnPair p = mac_pair(x, w, pulse);
    if (wire_ohm == 0.0) {
        // The column's rows without an input hold weight-0 cells, which load it too (as
        // prepare() and the wired solve count them).
        const auto [gp0, gm0] = pair_conductance(0.0);
        p.plus_S += static_cast<double>(rows - x.size()) * effective(gp0);
        p.minus_S += static_cast<double>(rows - x.size()) * effective(gm0);
    }
    return sensed(p);
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
double BehavioralAdc::Impl::canonical_weight(double value) const
{
    const double span = tech.device.g_max_S - tech.device.g_min_S;
    return std::clamp(value / design.scale_per_S / (rows * span), -1.0, 1.0);
}

Eigen::VectorXd BehavioralAdc::Impl::canonical_weights(double value) const
{
    return Eigen::VectorXd::Constant(rows, canonical_weight(value));
}

BehavioralAdc::Impl::ColumnPair BehavioralAdc::Impl::canonical_pair(double value) const
{
    return mac_pair(Eigen::VectorXd::Ones(rows), canonical_weights(value), pulse_width());
}

std::vector<BehavioralAdc::Impl::ColumnPair> BehavioralAdc::Impl::canonical_pairs(const std::vector<double>& values) const
{
    std::vector<ColumnPair> pairs;
    if (alpha != 0.0 || values.empty()) {  // sinh cells: a nonlinear solve per value
        for (double value : values) pairs.push_back(canonical_pair(value));
        return pairs;
    }
    // Ohmic cells: one network, refactorized per value; each column's current (every
    // row at V_read) and Norton conductance from one adjoint solve.
    const ArrayNetwork a = array_network(canonical_weights(values.front()));
    std::vector<Eigen::MatrixXd> conductances;
    for (double value : values) {
        Eigen::MatrixXd& G = conductances.emplace_back(a.network.conductance_S);
        const auto [g_plus, g_minus] = pair_conductance(canonical_weight(value));
        G.col(a.plus).setConstant(effective(g_plus));
        G.col(a.minus).setConstant(effective(g_minus));
    }
    // The first value on the network itself, the rest side by side over its structure.
    CrossbarNetwork network = a.network;
    network.conductance_S = conductances.front();
    const CrossbarSolver first(network);
    std::vector<std::vector<CrossbarSolver::ColumnResponse>> responses = {
        {first.column_response(a.plus), first.column_response(a.minus)}};
    conductances.erase(conductances.begin());
    for (auto& r : first.column_responses(conductances, {a.plus, a.minus})) responses.push_back(std::move(r));
    const Eigen::VectorXd drive = Eigen::VectorXd::Constant(rows, chip.v_read_V);
    for (const auto& r : responses)
        pairs.push_back({r[0].drive_A_per_V.dot(drive), -r[0].sense_A_per_V(a.plus), r[1].drive_A_per_V.dot(drive),
                         -r[1].sense_A_per_V(a.minus)});
    return pairs;
}

namespace {

/// The n-th and (n-1)-th Chebyshev coefficients of the interpolant through values f_j
/// at the Lobatto nodes cos(j pi / n), j = 0 .. n (their size bounds the error).
std::pair<double, double> chebyshev_tail(const std::vector<double>& f)
{
    const int n = static_cast<int>(f.size()) - 1;
    double last = 0.0, before = 0.0;
    for (int j = 0; j <= n; ++j) {
        const double half = (j == 0 || j == n) ? 0.5 : 1.0;
        last += half * (j % 2 == 0 ? 1.0 : -1.0) * f[static_cast<std::size_t>(j)];
        before += half * std::cos(std::numbers::pi * j * (n - 1) / n) * f[static_cast<std::size_t>(j)];
    }
    return {last / n, 2.0 * before / n};
}

}  // namespace

void BehavioralAdc::Impl::build_canonical_side(CanonicalSide& side) const
{
    auto value_at = [&](int j, int n) {
        const double x = std::cos(std::numbers::pi * j / n);
        return 0.5 * (side.lo + side.hi) + 0.5 * (side.hi - side.lo) * x;
    };
    int n = 4;
    std::vector<double> values;
    for (int j = 0; j <= n; ++j) values.push_back(value_at(j, n));
    side.pairs = canonical_pairs(values);
    for (;;) {
        bool converged = true;
        for (auto member : {&ColumnPair::plus_A, &ColumnPair::plus_S, &ColumnPair::minus_A, &ColumnPair::minus_S}) {
            std::vector<double> f;
            double scale = 0.0;
            for (const ColumnPair& p : side.pairs) {
                f.push_back(p.*member);
                scale = std::max(scale, std::abs(p.*member));
            }
            const auto [last, before] = chebyshev_tail(f);
            // The coefficients decay geometrically (the pair is analytic near the side):
            // the error is below |a_n|. a_(n-1) guards a small a_n by parity alone.
            if (std::abs(last) > canonical_tolerance * scale || std::abs(before) > 100 * canonical_tolerance * scale)
                converged = false;
        }
        if (converged || 2 * n > canonical_max_nodes) break;
        // Lobatto nodes nest: the old node j is the new node 2 j.
        values.clear();
        for (int j = 1; j < 2 * n; j += 2) values.push_back(value_at(j, 2 * n));
        const std::vector<ColumnPair> added = canonical_pairs(values);
        std::vector<ColumnPair> refined;
        for (int j = 0; j <= 2 * n; ++j)
            refined.push_back(j % 2 == 0 ? side.pairs[static_cast<std::size_t>(j / 2)]
                                         : added[static_cast<std::size_t>(j / 2)]);
        side.pairs = std::move(refined);
        n *= 2;
    }
    for (int j = 0; j <= n; ++j) {
        side.nodes.push_back(std::cos(std::numbers::pi * j / n));
        side.weights.push_back(((j % 2 == 0) ? 1.0 : -1.0) * ((j == 0 || j == n) ? 0.5 : 1.0));
    }
}

const BehavioralAdc::Impl::CanonicalSide& BehavioralAdc::Impl::canonical_side(double value) const
{
    if (value >= 0.0) return canonical[1];
    // Built once, before any reader of side [0] proceeds (call_once synchronizes).
    std::call_once(negative_side_built, [this] {
        if (canonical[0].lo < 0.0) build_canonical_side(canonical[0]);
    });
    return canonical[0];
}

BehavioralAdc::Impl::Norton BehavioralAdc::Impl::canonical_norton_of(double value) const
{
    if (wire_ohm == 0.0) {
        // Every row is identical in the canonical spread: one row times R.
        ColumnPair row;
        add_row(row, 1.0, canonical_weight(value), pulse_width());
        return sensed(row.scaled(rows));
    }
    if (options.exact_mac_solves) return sensed(canonical_pair(value));
    // Barycentric interpolation on the side's Chebyshev-Lobatto nodes; beyond the table,
    // an exact solve (the weights clamp at full scale).
    const CanonicalSide& side = canonical_side(value);
    if (value < side.lo || value > side.hi || side.pairs.empty()) return sensed(canonical_pair(value));
    const double x = (2.0 * value - (side.lo + side.hi)) / (side.hi - side.lo);
    ColumnPair sum;
    double weights = 0.0;
    for (std::size_t j = 0; j < side.pairs.size(); ++j) {
        if (x == side.nodes[j]) return sensed(side.pairs[j]);
        const double w = side.weights[j] / (x - side.nodes[j]);
        sum += side.pairs[j].scaled(w);
        weights += w;
    }
    return sensed(sum.scaled(1.0 / weights));
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
