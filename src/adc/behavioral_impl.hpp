#pragma once
// Private to src/adc: BehavioralAdc::Impl, the resolved model behind BehavioralAdc.
//
// behavioral.cpp builds it and converts; the MAC path (Norton equivalents, array
// solves, sense response) is in behavioral_mac.cpp, the replica ramp and the latch in
// behavioral_ramp.cpp. The small members every conversion calls stay inline here.

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/crossbar/crossbar.hpp"
#include "nladc/device/rram.hpp"
#include "sense.hpp"

namespace nladc {

struct BehavioralAdc::Impl {
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
    std::vector<Norton> replica;     ///< the replica column's Norton equivalent at step k (k = 1 .. L-1)
    /// MAC output per unit Norton current as a function of the Norton conductance
    /// (tabulated; chip-independent, shared between chips).
    struct Response {
        std::vector<double> grid_S, per_A, offset_V;  ///< u = per_A(G) I + offset_V(G)
    };
    std::shared_ptr<const Response> response;
    /// Canonical MAC realization with wires (docs/adc.md, "The MAC path with wires"): on
    /// each side of value 0 (below it only the G- column moves, above it only G+), over
    /// transition_levels' range within full scale (where the weights clamp; beyond the
    /// range an exact solve), the column pair at the n + 1 Chebyshev-Lobatto nodes
    /// x_j = cos(j pi / n) of the side, n doubled from 4 until, for every quantity, the
    /// last Chebyshev coefficient (the error estimate) is below canonical_tolerance of
    /// its largest value and the one before below 100 times that; evaluated by
    /// barycentric interpolation. A relative error e moves a threshold T by about e T,
    /// at most e 2^bits LSB.
    struct CanonicalSide {
        double lo = 0.0, hi = 0.0;       ///< the side's value range
        std::vector<ColumnPair> pairs;   ///< at the nodes, j = 0 .. n (x = 1 is hi)
        std::vector<double> nodes, weights;  ///< x_j and the barycentric weights
    };
    static constexpr double canonical_tolerance = 1e-6;
    static constexpr int canonical_max_nodes = 64;
    /// [0]: values <= 0 (mutable: built lazily, under negative_side_built), [1]: >= 0.
    mutable std::array<CanonicalSide, 2> canonical;
    /// Side [0] is built on the first request of a negative value: the transition
    /// levels of a chip whose code at 0 is 0 never need it (monotone codes).
    mutable std::once_flag negative_side_built;
    void build_canonical_side(CanonicalSide& side) const;
    const CanonicalSide& canonical_side(double value) const;
    ColumnPair canonical_pair(double value) const;  ///< the array solved at `value`
    /// The column pair at each value (ohmic cells: one network refactorized per value,
    /// adjoint solves; the same numbers as canonical_pair to rounding).
    std::vector<ColumnPair> canonical_pairs(const std::vector<double>& values) const;

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

    // Defined in behavioral_mac.cpp, like every MAC-path member declared without a body.
    Norton sensed(const ColumnPair& p) const;
    ColumnPair mac_pair(const Eigen::VectorXd& x, const Eigen::VectorXd& w, bool pulse) const;
    /// One cell pair of a column without wires, at input x and weight w, added to p.
    void add_row(ColumnPair& p, double x, double w, bool pulse) const;
    Norton mac_norton(const Eigen::VectorXd& x, const Eigen::VectorXd& w, bool pulse) const;
    double mac_output_pulse_width(const Eigen::VectorXd& x, const Eigen::VectorXd& w) const;

    /// Whether a prepared column converts by its closed-form static path (one dot product):
    /// ideal wires, ohmic cells, and no transient pulse-width inputs into a real integrator.
    bool static_column_path() const { return !(wire_ohm > 0 || alpha > 0 || (transient && !sense.ideal && pulse_width())); }

    /// The column current the op-amp can take (a class-A output stage sinks at most its bias).
    double limited(double current) const
    {
        const double cap = sense.max_current_A;
        return cap > 0 ? std::clamp(current, -cap, cap) : current;
    }

    detail::SenseState after_integration(detail::SenseState x, double conductance, double idle,
                                         const detail::OutputNode& node, bool numeric) const;

    /// The array as a network: the MAC pair and the replica column kept, the other
    /// columns lumped into the row wires (exact when they are empty; with background
    /// cells, their cells go straight to VCM: CrossbarNetwork::lumped_cell_conductance_S).
    struct ArrayNetwork {
        CrossbarNetwork network;
        int plus = 0, minus = 1, replica = 2;  ///< column indices in `network`
    };

    ArrayNetwork array_network(const Eigen::VectorXd& w) const;
    ColumnPair solve_mac_network(const Eigen::VectorXd& w, const Eigen::VectorXd& drive) const;
    double norton_conductance(const CrossbarSolver& solver, Eigen::Index column) const;
    /// The canonical spread's weight of every row for a MAC value, and the vector of them.
    double canonical_weight(double value) const;
    Eigen::VectorXd canonical_weights(double value) const;
    Norton canonical_norton_of(double value) const;
    double mac_output(const Norton& n) const;

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

    double exact_response(double current, double conductance) const;

    // ---------------------------------------------------------------- ramp
    // Defined in behavioral_ramp.cpp.
    /// The replica column's Norton equivalent at every ramp step k = 1 .. L-1.
    std::vector<Norton> replica_nortons() const;
    Norton through_select(const Norton& n) const;
    void build_ramp();

    // ---------------------------------------------------------------- decisions
    bool ramp_monotone = true;

    /// Whether a conversion's code is the count of ramp steps below decision_limit(u):
    /// no hysteresis, no noise, no regenerating latch, and either a monotone ramp or
    /// every decision counted.
    bool counts_decisions(const RandomStream* noise) const
    {
        return hysteresis_V == 0.0 && (!noise || noise_V == 0.0) && !(transient && !options.ideal.comparator) &&
               (ramp_monotone || !tech.counter.early_stop);
    }
    /// The ramp level a step must stay below (at or below, with a metastability band)
    /// to count, for a MAC output u.
    double decision_limit(double u_mac) const { return u_mac + kick_V - offset_V - meta_V; }

    // Inline: on the path of every conversion.
    int decide(double u_mac, RandomStream* noise) const
    {
        if (counts_decisions(noise)) {
            // Every decision is "ramp below MAC by more than the metastability band";
            // with a monotone ramp (or counting all decisions) that is a count.
            const double limit = decision_limit(u_mac);
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

    bool regenerate(double difference) const;  // behavioral_ramp.cpp
};

}  // namespace nladc
