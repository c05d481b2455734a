#include "nladc/adc/behavioral.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <limits>
#include <map>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nladc/core/error.hpp"
#include "nladc/crossbar/crossbar.hpp"
#include "nladc/device/rram.hpp"
#include "sense.hpp"

namespace nladc {

double comparator_node_capacitance(const Technology& tech)
{
    const ComparatorParams& c = tech.comparator;
    return c.input_capacitance_F + c.hold_capacitance_F + c.ramp_wire_capacitance_F;
}

double mac_isolation_resistance(const Technology& tech)
{
    return tech.comparator.match_input_impedance ? (tech.array.columns - 1) * tech.sense.opamp_output_resistance_ohm
                                                 : 0.0;
}

double integrator_output_V(const Technology& tech, double current_A, double conductance_S)
{
    const detail::SenseConstants k = detail::sense_constants(tech, false);
    const double through = 1.0 / (1.0 + tech.sense.select_switch_ohm * conductance_S);
    const detail::Phase integrate{current_A * through, conductance_S * through}, connected{0.0, conductance_S * through};
    const double r = tech.sense.opamp_output_resistance_ohm;
    const detail::OutputNode line{r, r * comparator_node_capacitance(tech) * tech.array.columns};
    detail::SenseState x = detail::inject(k, detail::SenseState::Zero(), k.reset_injection_C);
    x = detail::propagate(k, x, integrate, k.integration_s, line);
    x = detail::propagate(k, x, connected, k.select_delay_s, line);
    x = detail::inject(k, x, k.select_injection_C);
    x = detail::propagate(k, x, {}, k.compare_s - k.select_delay_s, line);
    return -x(2);
}

ChipInstance nominal_chip(const ReplicaDesign& design, const Technology& tech)
{
    ChipInstance chip;
    for (const ReplicaCell& cell : design.cells)
        chip.replica_conductance_S.push_back(cell.target_S > 0 ? cell.target_S * tech.device.drift_factor
                                                               : tech.device.g_off_S);
    chip.comparator_offset_V = tech.comparator.offset_V;
    chip.v_read_V = tech.array.v_read_V;
    chip.drift_factor = tech.device.drift_factor;
    chip.wire_resistance_ohm = tech.array.wire_resistance_ohm;
    return chip;
}

namespace {

/// Norton equivalent of a column into its virtual ground.
struct Norton {
    double current_A = 0.0;
    double conductance_S = 0.0;
};

/// The MAC pair before the sense circuit: the Norton equivalents of the G+ and G-
/// columns at their select switches.
struct ColumnPair {
    double plus_A = 0.0, plus_S = 0.0, minus_A = 0.0, minus_S = 0.0;
    ColumnPair& operator+=(const ColumnPair& o)
    {
        plus_A += o.plus_A;
        plus_S += o.plus_S;
        minus_A += o.minus_A;
        minus_S += o.minus_S;
        return *this;
    }
    ColumnPair scaled(double f) const { return {plus_A * f, plus_S * f, minus_A * f, minus_S * f}; }
};

}  // namespace

struct BehavioralAdc::Impl {
    ReplicaDesign design;
    Technology tech;
    ChipInstance chip;
    AdcOptions options;
    detail::SenseConstants sense;
    bool transient = false;
    int rows = 0, columns = 0, steps = 0;
    double alpha = 0.0;          ///< cell I-V nonlinearity in effect
    double wire_ohm = 0.0;       ///< wire resistance in effect
    double mirror = 1.0;         ///< G- subtraction gain in effect
    double select_ohm = 0.0;     ///< column-select switch in series with the G+ and replica columns
    double tau_line = 0.0, tau_node = 0.0;
    detail::OutputNode line_node, mac_node;  ///< the ramp line and the MAC comparator node
    double offset_V = 0.0, noise_V = 0.0, hysteresis_V = 0.0, kick_V = 0.0, meta_V = 0.0;
    double k_vread = 0.0;        ///< u per siemens of Norton conductance at V_read (ideal K V_read)
    std::vector<double> ramp;    ///< u_line(k) at the compare instants, k = 1 .. L-1
    std::vector<int> enabled_cells;  ///< replica cells enabled at step k (k = 1 .. L-1)
    /// MAC output per unit Norton current as a function of the Norton conductance
    /// (tabulated; chip-independent, shared between chips).
    struct Response {
        std::vector<double> grid_S, per_A, offset_V;  ///< u = per_A(G) I + offset_V(G)
    };
    std::shared_ptr<const Response> response;
    /// Canonical MAC realization with wires: value grid and column pairs.
    std::vector<double> canonical_values;
    std::vector<ColumnPair> canonical_pairs;

    bool pulse_width() const { return tech.array.input_encoding == "pulse-width"; }

    double access_ohm = 0.0;     ///< 1T1R access resistance in effect

    double effective(double g) const { return access_ohm > 0 ? g / (1.0 + g * access_ohm) : g; }
    double read_current(double g, double v) const { return cell_current(effective(g), v, alpha); }

    // ---------------------------------------------------------------- MAC path
    /// Conductances of the MAC pair for one row: weight w in [-1, 1].
    std::pair<double, double> pair_conductance(double w) const
    {
        const double span = tech.device.g_max_S - tech.device.g_min_S;
        const double g_plus = tech.device.g_min_S + std::max(w, 0.0) * span;
        const double g_minus = tech.device.g_min_S + std::max(-w, 0.0) * span;
        return {g_plus * chip.drift_factor, g_minus * chip.drift_factor};
    }

    double quantize_input(double x) const
    {
        const double levels = std::ldexp(1.0, tech.array.input_bits) - 1.0;
        return std::round(std::clamp(x, 0.0, 1.0) * levels) / levels;
    }

    /// The Norton equivalent the MAC integrator sees: the G+ column through its select
    /// switch (series R: I / (1 + R G), G / (1 + R G)), minus the G- column's current
    /// through its own select switch into the conveyor's virtual ground, mirrored.
    Norton sensed(const ColumnPair& p) const
    {
        const double plus = 1.0 / (1.0 + select_ohm * p.plus_S), minus = 1.0 / (1.0 + select_ohm * p.minus_S);
        return {p.plus_A * plus - mirror * p.minus_A * minus, p.plus_S * plus};
    }

    /// The MAC pair for inputs x and weights w (averaged over the integration window for
    /// pulse-width inputs).
    ColumnPair mac_pair(const Eigen::VectorXd& x, const Eigen::VectorXd& w, bool pulse) const
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

    Norton mac_norton(const Eigen::VectorXd& x, const Eigen::VectorXd& w, bool pulse) const
    {
        return sensed(mac_pair(x, w, pulse));
    }

    /// Transient mode, pulse-width inputs on a non-ideal integrator: the rows switch
    /// off one group at a time, so the current steps down during the window.
    double mac_output_pulse_width(const Eigen::VectorXd& x, const Eigen::VectorXd& w) const
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

    /// The column current the op-amp can take (a class-A output stage sinks at most its bias).
    double limited(double current) const
    {
        const double cap = sense.max_current_A;
        return cap > 0 ? std::clamp(current, -cap, cap) : current;
    }

    /// After the integration: rows at VCM for `idle` more seconds, then the select switch
    /// stays closed for select_delay_s and opens (its charge lands on C).
    detail::SenseState after_integration(detail::SenseState x, double conductance, double idle,
                                         const detail::OutputNode& node, bool numeric) const
    {
        const detail::Phase connected{0.0, conductance, false};
        const double dt = idle + sense.select_delay_s;
        x = numeric ? detail::propagate_numeric(sense, x, connected, dt, node) : detail::propagate(sense, x, connected, dt, node);
        return detail::inject(sense, x, sense.select_injection_C);
    }

    /// The array as a network: the MAC pair and the replica column kept, the other
    /// columns lumped into the row wires (exact when they are empty; with background
    /// cells, their cells go straight to VCM: CrossbarNetwork::lumped_cell_conductance_S).
    struct ArrayNetwork {
        CrossbarNetwork network;
        int plus = 0, minus = 1, replica = 2;  ///< column indices in `network`
    };

    ArrayNetwork array_network(const Eigen::VectorXd& w) const
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
    ColumnPair solve_mac_network(const Eigen::VectorXd& w, const Eigen::VectorXd& drive) const
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
    double norton_conductance(const CrossbarSolver& solver, Eigen::Index column) const
    {
        const double probe_V = 1e-3;
        const auto columns = solver.network().conductance_S.cols();
        Eigen::VectorXd sense = Eigen::VectorXd::Zero(columns);
        sense(column) = probe_V;
        return -solver.solve(Eigen::VectorXd::Zero(rows), sense).column_current_A(column) / probe_V;
    }

    /// The canonical realization of a MAC value: every row at input 1, weight v / (s R span).
    Eigen::VectorXd canonical_weights(double value) const
    {
        const double span = tech.device.g_max_S - tech.device.g_min_S;
        const double w = std::clamp(value / design.scale_per_S / (rows * span), -1.0, 1.0);
        return Eigen::VectorXd::Constant(rows, w);
    }

    Norton canonical_norton_of(double value) const
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
    double mac_output(const Norton& n) const
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

    /// The calibration's correction of the MAC path.
    double calibrated_mac(double u) const
    {
        const CalibrationParams& cal = options.calibration;
        return u * (1.0 + cal.gain_error) - cal.mac_compression * u * u;
    }

    /// MAC output for a Norton current at a Norton conductance: u = per_A(G) I + offset(G),
    /// interpolated from a table of exact closed-form responses.
    double response_at(double conductance, double current) const
    {
        const auto& xs = response->grid_S;
        const double g = std::clamp(conductance, xs.front(), xs.back());
        // The grid is uniform: index directly.
        const double position = (g - xs.front()) / (xs[1] - xs.front());
        const std::size_t i0 = std::min<std::size_t>(static_cast<std::size_t>(position), xs.size() - 2);
        const double f = position - static_cast<double>(i0);
        auto at = [&](const std::vector<double>& ys) { return ys[i0] + f * (ys[i0 + 1] - ys[i0]); };
        return at(response->per_A) * current + at(response->offset_V);
    }

    /// Exact MAC output (V) for a Norton current and conductance: the reset charge, the
    /// integration, the select switch, the mirror switch, the hold until the first compare edge.
    double exact_response(double current, double conductance) const
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

    // ---------------------------------------------------------------- ramp
    Norton replica_norton(int step) const
    {
        Norton n;
        // Every cell of the column loads the virtual ground; rows beyond the design's
        // cells hold unprogrammed (off) cells.
        const int unprogrammed = rows - static_cast<int>(design.cells.size());
        n.conductance_S = unprogrammed * effective(tech.device.g_off_S);
        for (std::size_t c = 0; c < design.cells.size(); ++c) n.conductance_S += effective(chip.replica_conductance_S[c]);
        if (wire_ohm == 0.0) {
            for (std::size_t c = 0; c < design.cells.size(); ++c) {
                const ReplicaCell& cell = design.cells[c];
                if (cell.step < 0 || cell.step > step) continue;
                n.current_A += read_current(chip.replica_conductance_S[c], chip.v_read_V);
            }
            return through_select(n);
        }
        // The MAC pair holds (its columns float) with neutral weights during the ramp.
        ArrayNetwork a = array_network(Eigen::VectorXd());
        const auto n_columns = a.network.conductance_S.cols();
        a.network.column_floating.assign(static_cast<std::size_t>(n_columns), false);
        a.network.column_floating[static_cast<std::size_t>(a.plus)] = true;
        a.network.column_floating[static_cast<std::size_t>(a.minus)] = true;
        Eigen::VectorXd drive = Eigen::VectorXd::Zero(rows);
        for (std::size_t c = 0; c < design.cells.size(); ++c) {
            const ReplicaCell& cell = design.cells[c];
            if (cell.step >= 0 && cell.step <= step) drive(cell.row) = chip.v_read_V;
        }
        const CrossbarSolver solver(a.network);
        n.current_A = solver.solve(drive, Eigen::VectorXd::Zero(n_columns)).column_current_A(a.replica);
        n.conductance_S = norton_conductance(solver, a.replica);
        return through_select(n);
    }

    Norton through_select(const Norton& n) const
    {
        const double through = 1.0 / (1.0 + select_ohm * n.conductance_S);
        return {n.current_A * through, n.conductance_S * through};
    }

    void build_ramp()
    {
        detail::SenseState x = detail::SenseState::Zero();
        auto advance = [&](const detail::Phase& phase, double dt) {
            x = transient ? detail::propagate_numeric(sense, x, phase, dt, line_node)
                          : detail::propagate(sense, x, phase, dt, line_node);
        };
        const CalibrationParams& cal = options.calibration;
        ramp.assign(static_cast<std::size_t>(steps), 0.0);
        enabled_cells.assign(static_cast<std::size_t>(steps), 0);
        for (int k = 1; k <= steps; ++k) {
            const Norton n = replica_norton(k);
            const detail::Phase integrate{limited(n.current_A), n.conductance_S};
            for (const ReplicaCell& cell : design.cells)
                if (cell.step >= 0 && cell.step <= k) ++enabled_cells[static_cast<std::size_t>(k - 1)];
            if (sense.tia) {
                advance(integrate, sense.compare_s);
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

    // ---------------------------------------------------------------- decisions
    bool ramp_monotone = true;

    int decide(double u_mac, RandomStream* noise) const
    {
        if (hysteresis_V == 0.0 && (!noise || noise_V == 0.0) && !(transient && !options.ideal.comparator) &&
            (ramp_monotone || !tech.counter.early_stop)) {
            // Every decision is "ramp below MAC by more than the metastability band";
            // with a monotone ramp (or counting all decisions) that is a count.
            const double limit = u_mac + kick_V - offset_V - meta_V;
            int code = 0;
            if (meta_V > 0)
                for (double r : ramp) code += r <= limit;
            else
                for (double r : ramp) code += r < limit;
            return code;
        }
        int code = 0;
        bool previous = false;
        for (int k = 0; k < steps; ++k) {
            const double threshold = offset_V + (previous ? -0.5 : 0.5) * hysteresis_V;
            double difference = u_mac - ramp[static_cast<std::size_t>(k)] + kick_V - threshold;
            if (noise && noise_V > 0) difference += noise_V * noise->normal();
            bool decision;
            if (std::abs(difference) < meta_V)
                decision = noise ? noise->uniform() < 0.5 : false;  // metastable
            else if (transient && !options.ideal.comparator)
                decision = regenerate(difference);
            else
                decision = difference > 0;
            if (decision) {
                ++code;
            } else if (tech.counter.early_stop) {
                break;
            }
            previous = decision;
        }
        return code;
    }

    /// Latch regeneration dv/dt = (v / tau)(1 - (v / V_dd)^2) for the resolve time.
    bool regenerate(double difference) const
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
};

BehavioralAdc::BehavioralAdc(const ReplicaDesign& design, const Technology& tech, const ChipInstance& chip,
                             const AdcOptions& options)
    : BehavioralAdc(design, tech, chip, options, nullptr)
{
}

BehavioralAdc::BehavioralAdc(const ReplicaDesign& design, const Technology& technology, const ChipInstance& chip,
                             const AdcOptions& options, std::shared_ptr<const void> shared_response)
    : impl_(std::make_unique<Impl>())
{
    Impl& m = *impl_;
    m.design = design;
    m.tech = technology;
    for (const auto& [key, value] : options.calibration.block_parameters) set_technology_number(m.tech, key, value);
    // Everything below sees the measured block parameters (the GBW scale is applied last).
    const Technology tech = m.tech;
    if (!(options.calibration.gbw_scale > 0))
        throw Error(fmt::format("calibration gbw_scale = {:g} must be positive", options.calibration.gbw_scale));
    m.tech.sense.opamp_gbw_Hz *= options.calibration.gbw_scale;
    m.chip = chip;
    m.options = options;
    if (options.mode != "static" && options.mode != "transient")
        throw UsageError(fmt::format("mode '{}' is not static or transient", options.mode));
    m.transient = options.mode == "transient";
    if (chip.replica_conductance_S.size() != design.cells.size())
        throw Error(fmt::format("chip has {} replica conductances, the design {} cells",
                                chip.replica_conductance_S.size(), design.cells.size()));
    if (tech.sense.mode == "integrator" && !(tech.sense.capacitance_F > 0))
        throw Error("sense.capacitance_F is 0: map the level set first (the mapping sizes it)");
    if (tech.sense.mode == "tia" && !(tech.sense.tia_resistance_ohm > 0))
        throw Error("sense.tia_resistance_ohm is 0: map the level set first (the mapping sizes it)");
    m.rows = tech.array.rows;
    m.columns = tech.array.columns;
    m.steps = static_cast<int>(design.levels.thresholds.size());
    for (const ReplicaCell& cell : design.cells)
        if (cell.row >= m.rows)
            throw Error(fmt::format("replica cell in row {} is outside array.rows = {}", cell.row, m.rows));
    const Idealization& ideal = options.ideal;
    m.alpha = ideal.cells ? 0.0 : tech.device.iv_alpha_per_V;
    m.access_ohm = ideal.cells || tech.device.cell_type != "1T1R"
                       ? 0.0
                       : std::max(0.0, tech.device.access_resistance_ohm + options.calibration.access_resistance_delta_ohm);
    m.wire_ohm = ideal.wires ? 0.0 : chip.wire_resistance_ohm;
    m.sense = detail::sense_constants(m.tech, ideal.integrator);
    m.mirror = ideal.integrator ? 1.0 : m.tech.sense.column_mirror_gain;
    m.select_ohm = ideal.integrator ? 0.0 : m.tech.sense.select_switch_ohm;
    if (!ideal.integrator) {
        m.tau_line = tech.sense.opamp_output_resistance_ohm * comparator_node_capacitance(tech) * m.columns;
        m.tau_node = (tech.sense.opamp_output_resistance_ohm + mac_isolation_resistance(tech)) *
                     comparator_node_capacitance(tech);
        m.line_node = {tech.sense.opamp_output_resistance_ohm, m.tau_line};
        m.mac_node = {tech.sense.opamp_output_resistance_ohm + mac_isolation_resistance(tech), m.tau_node};
    }
    m.offset_V = chip.comparator_offset_V + chip.trim_offset_V + options.calibration.offset_V;
    if (!ideal.comparator) {
        const ComparatorParams& c = tech.comparator;
        m.noise_V = c.noise_sigma_V;
        m.hysteresis_V = c.hysteresis_V;
        // Kickback: both inputs get Q/C_node at the edge; when the latch decides (5 tau_regen
        // later) each has recovered through its own source impedance; the difference is an
        // error (zero with matched input impedances).
        const double per_column = comparator_node_capacitance(tech);
        if (per_column > 0 && c.kickback_charge_C != 0) {
            const double decide_s = 5.0 * c.regeneration_tau_s;
            auto left = [&](double tau) { return tau > 0 ? std::exp(-decide_s / tau) : 0.0; };
            m.kick_V = c.kickback_charge_C / per_column * (left(m.tau_line) - left(m.tau_node));
        }
        if (c.regeneration_tau_s > 0) m.meta_V = 0.5 * c.supply_V * std::exp(-c.resolve_time_s / c.regeneration_tau_s);
    } else {
        m.offset_V = chip.trim_offset_V + options.calibration.offset_V;
    }
    m.k_vread = m.sense.tia ? m.sense.feedback_ohm * chip.v_read_V
                            : m.sense.integration_s / m.sense.capacitance_F * chip.v_read_V;

    // MAC response table over the Norton conductance the column can present (drift
    // up to 2x covered, so chips drawn from this model can share it).
    if (shared_response) {
        m.response = std::static_pointer_cast<const Impl::Response>(shared_response);
    } else if (!m.sense.ideal) {
        auto table = std::make_shared<Impl::Response>();
        const double g_top = m.rows * tech.device.g_max_S * 2.0;
        const int points = 513;
        for (int i = 0; i < points; ++i) {
            const double g = g_top * i / (points - 1);
            table->grid_S.push_back(g);
            const double offset = m.exact_response(0.0, g);
            // A milliampere keeps the difference well above rounding (the response is linear in I).
            table->per_A.push_back((m.exact_response(1e-3, g) - offset) / 1e-3);
            table->offset_V.push_back(offset);
        }
        m.response = std::move(table);
    }
    if (m.wire_ohm > 0) {
        const double lo = design.levels.lo, hi = design.levels.hi, span = hi - lo;
        const int points = 33;  // I_sc(v) is smooth: linear interpolation errs ~1e-5 relative
        for (int i = 0; i < points; ++i) {
            const double value = lo - 0.25 * span + 1.5 * span * i / (points - 1);
            m.canonical_values.push_back(value);
            m.canonical_pairs.push_back(
                m.mac_pair(Eigen::VectorXd::Ones(m.rows), m.canonical_weights(value), m.pulse_width()));
        }
    }
    m.build_ramp();
}

BehavioralAdc BehavioralAdc::with_chip(const ChipInstance& chip) const { return with_design(impl_->design, chip); }

BehavioralAdc BehavioralAdc::with_design(const ReplicaDesign& design, const ChipInstance& chip) const
{
    // impl_->tech carries the calibrated GBW already; undo the scale the constructor applies.
    Technology tech = impl_->tech;
    tech.sense.opamp_gbw_Hz /= impl_->options.calibration.gbw_scale;
    return BehavioralAdc(design, tech, chip, impl_->options, impl_->response);
}

BehavioralAdc::~BehavioralAdc() = default;
BehavioralAdc::BehavioralAdc(BehavioralAdc&&) noexcept = default;

int BehavioralAdc::convert_output(double u_mac_V, RandomStream* noise) const { return impl_->decide(u_mac_V, noise); }

int BehavioralAdc::convert(double mac_value, RandomStream* noise) const
{
    return impl_->decide(mac_output_V(mac_value), noise);
}

int BehavioralAdc::convert(const MacInputs& mac, RandomStream* noise) const
{
    const Impl& m = *impl_;
    if (mac.inputs.size() != mac.weights.size() || mac.inputs.size() > m.rows)
        throw Error(fmt::format("MAC inputs: {} inputs and {} weights for {} rows", mac.inputs.size(),
                                mac.weights.size(), m.rows));
    Eigen::VectorXd x(mac.inputs.size()), w(mac.weights.size());
    for (Eigen::Index i = 0; i < x.size(); ++i) {
        x(i) = m.quantize_input(mac.inputs(i));
        w(i) = std::clamp(mac.weights(i), -1.0, 1.0);
    }
    if (m.transient && !m.sense.ideal && !m.sense.tia && m.tech.array.input_encoding == "pulse-width")
        return m.decide(m.mac_output_pulse_width(x, w), noise);
    return m.decide(m.mac_output(m.mac_norton(x, w, m.pulse_width())), noise);
}

PreparedColumn BehavioralAdc::prepare(const Eigen::VectorXd& weights) const
{
    const Impl& m = *impl_;
    if (weights.size() > m.rows)
        throw Error(fmt::format("{} weights for a column of {} rows", weights.size(), m.rows));
    PreparedColumn column;
    column.plus_S.resize(weights.size());
    column.minus_S.resize(weights.size());
    for (Eigen::Index i = 0; i < weights.size(); ++i) {
        const auto [gp, gm] = m.pair_conductance(std::clamp(weights(i), -1.0, 1.0));
        column.plus_S(i) = m.effective(gp);
        column.minus_S(i) = m.effective(gm);
    }
    const auto [gp0, gm0] = m.pair_conductance(0.0);
    // Both columns (rows without weights included) are seen through their select switches.
    const double plus_total = column.plus_S.sum() + (m.rows - weights.size()) * m.effective(gp0);
    const double minus_total = column.minus_S.sum() + (m.rows - weights.size()) * m.effective(gm0);
    const double through = 1.0 / (1.0 + m.select_ohm * plus_total);
    column.difference_S = column.plus_S * through - m.mirror / (1.0 + m.select_ohm * minus_total) * column.minus_S;
    column.norton_conductance_S = plus_total * through;
    if (m.sense.ideal) {
        column.response_V_per_A = m.sense.tia ? m.sense.feedback_ohm : m.sense.integration_s / m.sense.capacitance_F;
    } else {
        column.offset_V = m.response_at(column.norton_conductance_S, 0.0);
        column.response_V_per_A = m.response_at(column.norton_conductance_S, 1.0) - column.offset_V;
    }
    return column;
}

namespace {

/// steps[i] = trunc(clamp(x[i], 0, 1) * levels + 0.5): the B_in-bit input code, round half
/// up. Two at a time with SSE2's packed double <-> int32 conversions (Eigen's cast does
/// not vectorize across the size change); the same values as the scalar expression.
void quantize_inputs(const double* x, Eigen::Index n, double levels, double* steps)
{
    Eigen::Index i = 0;
#if defined(__SSE2__)
    const __m128d zero = _mm_setzero_pd(), one = _mm_set1_pd(1.0), scale = _mm_set1_pd(levels),
                  half = _mm_set1_pd(0.5);
    for (; i + 2 <= n; i += 2) {
        // _mm_max_pd returns its second operand when one is NaN: a NaN input counts as 0.
        __m128d v = _mm_loadu_pd(x + i);
        v = _mm_min_pd(_mm_max_pd(v, zero), one);
        v = _mm_add_pd(_mm_mul_pd(v, scale), half);
        _mm_storeu_pd(steps + i, _mm_cvtepi32_pd(_mm_cvttpd_epi32(v)));
    }
#endif
    for (; i < n; ++i) {
        const double clamped = x[i] > 0.0 ? (x[i] < 1.0 ? x[i] : 1.0) : 0.0;  // NaN -> 0 as above
        steps[i] = static_cast<double>(static_cast<std::int32_t>(clamped * levels + 0.5));
    }
}

}  // namespace

int BehavioralAdc::convert(const PreparedColumn& column, const Eigen::VectorXd& inputs, RandomStream* noise) const
{
    const Impl& m = *impl_;
    const bool slow = m.wire_ohm > 0 || m.alpha > 0 ||
                      (m.transient && !m.sense.ideal && m.pulse_width());
    if (slow || inputs.size() != column.plus_S.size()) {
        // Recover the weights and take the full path.
        const double span = m.tech.device.g_max_S - m.tech.device.g_min_S;
        Eigen::VectorXd w(column.plus_S.size());
        for (Eigen::Index i = 0; i < w.size(); ++i) {
            const double raw_plus = m.access_ohm > 0 ? column.plus_S(i) / (1 - column.plus_S(i) * m.access_ohm)
                                                     : column.plus_S(i);
            const double raw_minus = m.access_ohm > 0 ? column.minus_S(i) / (1 - column.minus_S(i) * m.access_ohm)
                                                      : column.minus_S(i);
            w(i) = (raw_plus - raw_minus) / (m.chip.drift_factor * span);
        }
        return convert(MacInputs{inputs, w}, noise);
    }
    const double levels = std::ldexp(1.0, m.tech.array.input_bits) - 1.0;
    // Quantize the inputs (round half up by int32 truncation of x >= 0; Eigen
    // vectorizes max/min/convert), then one dot product. No allocation for <= 256 rows.
    constexpr Eigen::Index kStack = 256;
    double stack[kStack];
    std::vector<double> heap;
    double* buffer = stack;
    if (inputs.size() > kStack) {
        heap.resize(static_cast<std::size_t>(inputs.size()));
        buffer = heap.data();
    }
    Eigen::Map<Eigen::ArrayXd> steps(buffer, inputs.size());
    quantize_inputs(inputs.data(), inputs.size(), levels, buffer);
    const double current = m.limited(steps.matrix().dot(column.difference_S) * (m.chip.v_read_V / levels));
    double u = column.response_V_per_A * current + column.offset_V;
    if (!m.sense.ideal) u = std::clamp(u, -m.sense.swing_V, m.sense.swing_V);
    return m.decide(m.calibrated_mac(u), noise);
}

double BehavioralAdc::mac_output_V(double mac_value) const
{
    return impl_->mac_output(impl_->canonical_norton_of(mac_value));
}

double BehavioralAdc::reconstruct(int code) const
{
    const auto& levels = impl_->design.levels.levels;
    return levels[static_cast<std::size_t>(std::clamp(code, 0, static_cast<int>(levels.size()) - 1))];
}

std::vector<double> BehavioralAdc::transition_levels(double tolerance) const
{
    const Impl& m = *impl_;
    const LevelSet& set = m.design.levels;
    const double span = set.hi - set.lo;
    if (tolerance <= 0) tolerance = set.lsb() * 1e-7;
    const double low = set.lo - 0.25 * span, high = set.hi + 0.25 * span;
    std::vector<double> levels;
    const int code_low = convert(low), code_high = convert(high);
    for (int k = 1; k <= m.steps; ++k) {
        if (code_low >= k) {
            levels.push_back(-std::numeric_limits<double>::infinity());
            continue;
        }
        if (code_high < k) {
            levels.push_back(std::numeric_limits<double>::infinity());
            continue;
        }
        double a = low, b = high;
        while (b - a > tolerance) {
            const double mid = 0.5 * (a + b);
            (convert(mid) >= k ? b : a) = mid;
        }
        levels.push_back(0.5 * (a + b));
    }
    return levels;
}

const std::vector<double>& BehavioralAdc::ramp_V() const { return impl_->ramp; }

ArrayLoad array_load(const Technology& tech)
{
    ArrayLoad load;
    if (!(tech.array.background_conductance_S > 0)) return load;
    load.background_columns = tech.array.columns - 3;  // all but the MAC pair and the replica
    load.cell_S = series_access(tech.array.background_conductance_S * tech.device.drift_factor, tech.device);
    load.column_current_A = tech.array.rows * load.cell_S * tech.array.v_read_V;
    load.row_current_A = load.background_columns * load.cell_S * tech.array.v_read_V;
    return load;
}

ConversionEnergy BehavioralAdc::energy(double mac_value) const
{
    const Impl& m = *impl_;
    ConversionEnergy e;
    const double v = m.chip.v_read_V, t = m.sense.integration_s, period = m.sense.period_s;
    const int code = convert(mac_value);
    const int decisions = m.tech.counter.early_stop ? std::min(code + 1, m.steps) : m.steps;
    // MAC cells: every row at input 1 in the canonical realization.
    double mac_j = 0.0;
    const Eigen::VectorXd w = m.canonical_weights(mac_value);
    for (Eigen::Index i = 0; i < w.size(); ++i) {
        const auto [gp, gm] = m.pair_conductance(w(i));
        mac_j += v * (m.read_current(gp, v) + m.read_current(gm, v)) * t;
    }
    double replica_j = 0.0;
    for (int k = 1; k <= decisions; ++k) replica_j += v * m.replica_norton(k).current_A * t;
    const double sense_time = m.sense.reset_s + t + decisions * period;
    const double integrators_j =
        opamp_power_W(m.tech) * (sense_time + decisions * period / m.columns);  // replica shared by the columns
    e.terms = {{"mac_cell_read", mac_j},
               {"replica_cell_read", replica_j},
               {"comparator", decisions * m.tech.comparator.energy_J},
               {"integrators", integrators_j},
               {"conveyor", m.tech.sense.conveyor_power_W * sense_time},
               {"counter", decisions * m.tech.counter.energy_per_clock_J}};
    for (const auto& term : e.terms) e.total_J += term.joules;
    e.clocks = decisions;
    e.latency_s = m.sense.reset_s + t + decisions * period;
    return e;
}

const ReplicaDesign& BehavioralAdc::design() const { return impl_->design; }
const Technology& BehavioralAdc::technology() const { return impl_->tech; }

}  // namespace nladc
