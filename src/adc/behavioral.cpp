#include "nladc/adc/behavioral.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nladc/core/cpu.hpp"
#include "nladc/core/error.hpp"
#include "nladc/crossbar/crossbar.hpp"
#include "nladc/device/rram.hpp"
#include "behavioral_impl.hpp"
#include "convert_lanes.hpp"

namespace nladc {

const std::vector<std::pair<AdcMode, std::string_view>>& Choices<AdcMode>::table()
{
    static const std::vector<std::pair<AdcMode, std::string_view>> names = {{AdcMode::static_solve, "static"},
                                                                            {AdcMode::transient, "transient"}};
    return names;
}

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
    m.transient = options.mode == AdcMode::transient;
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
    if (m.wire_ohm > 0 && !options.exact_mac_solves) {
        // The table covers the bisection range of transition_levels, [lo, hi] and a
        // quarter span either side, up to full scale (where the canonical weights reach
        // +-1); values beyond it are solved exactly.
        const double full_scale = design.scale_per_S * m.rows * (tech.device.g_max_S - tech.device.g_min_S);
        const double span = design.levels.hi - design.levels.lo;
        m.canonical[0].lo = std::min(0.0, std::max(-full_scale, design.levels.lo - 0.25 * span));
        m.canonical[1].hi = std::max(0.0, std::min(full_scale, design.levels.hi + 0.25 * span));
        if (m.canonical[1].hi > 0.0) m.build_canonical_side(m.canonical[1]);
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
        if (!std::isfinite(weights(i))) throw Error(fmt::format("weight {} is {}", i, weights(i)));
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

/// sum_i a[i] b[i] in the order convert_batch's lanes use: four partial sums over
/// i mod 4, then (s0 + s1) + (s2 + s3). Fixed here rather than left to Eigen, whose
/// reduction order depends on its packet size.
double ordered_dot(const double* a, const double* b, Eigen::Index n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    Eigen::Index i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    if (i < n) s0 += a[i] * b[i];
    if (i + 1 < n) s1 += a[i + 1] * b[i + 1];
    if (i + 2 < n) s2 += a[i + 2] * b[i + 2];
    return (s0 + s1) + (s2 + s3);
}

}  // namespace

int BehavioralAdc::convert(const PreparedColumn& column, const Eigen::VectorXd& inputs, RandomStream* noise) const
{
    const Impl& m = *impl_;
    if (!m.static_column_path() || inputs.size() != column.plus_S.size()) {
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
    quantize_inputs(inputs.data(), inputs.size(), levels, buffer);
    const double current =
        m.limited(ordered_dot(buffer, column.difference_S.data(), inputs.size()) * (m.chip.v_read_V / levels));
    double u = column.response_V_per_A * current + column.offset_V;
    if (!m.sense.ideal) u = std::clamp(u, -m.sense.swing_V, m.sense.swing_V);
    return m.decide(m.calibrated_mac(u), noise);
}

void BehavioralAdc::convert_batch(const PreparedColumn& column, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                  std::span<int> codes) const
{
    const Impl& m = *impl_;
    const Eigen::Index rows = inputs.rows(), n = inputs.cols();
    if (static_cast<Eigen::Index>(codes.size()) != n)
        throw Error(fmt::format("convert_batch: {} codes for {} conversions", codes.size(), n));
    // Where convert() takes its static path and the code is a count: four at a time.
    Eigen::Index c = 0;
    if (m.static_column_path() && m.counts_decisions(nullptr) && rows == column.difference_S.size() && cpu_has_avx2()) {
        constexpr double none = std::numeric_limits<double>::infinity();
        adc_lanes::StaticTail tail;
        tail.levels = std::ldexp(1.0, m.tech.array.input_bits) - 1.0;
        tail.scale = m.chip.v_read_V / tail.levels;
        tail.current_cap_A = m.sense.max_current_A > 0 ? m.sense.max_current_A : none;
        tail.response_V_per_A = column.response_V_per_A;
        tail.column_offset_V = column.offset_V;
        tail.swing_V = m.sense.ideal ? none : m.sense.swing_V;
        tail.gain = 1.0 + m.options.calibration.gain_error;
        tail.compression = m.options.calibration.mac_compression;
        tail.kick_V = m.kick_V;
        tail.offset_V = m.offset_V;
        tail.meta_V = m.meta_V;
        tail.ramp = m.ramp.data();
        tail.steps = static_cast<long>(m.ramp.size());
        tail.at_or_below = m.meta_V > 0;
        for (; c + 4 <= n; c += 4) {
            const double* x[4] = {inputs.col(c).data(), inputs.col(c + 1).data(), inputs.col(c + 2).data(),
                                  inputs.col(c + 3).data()};
            adc_lanes::codes4_avx2(x, static_cast<long>(rows), column.difference_S.data(), tail, codes.data() + c);
        }
    }
    for (; c < n; ++c) codes[static_cast<std::size_t>(c)] = convert(column, Eigen::VectorXd(inputs.col(c)));
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
    double low = set.lo - 0.25 * span;
    const double high = set.hi + 0.25 * span;
    // Codes rise with the value (bisection assumes it too): when 0 gives code 0, every
    // transition lies above 0 and the search starts there (negative values, on which
    // the wires' table would need its other side, are never converted).
    if (low < 0.0 && high > 0.0 && convert(0.0) == 0) low = 0.0;
    std::vector<double> levels;
    const int code_low = convert(low), code_high = convert(high);
    // When the code counts the ramp steps below decision_limit(u(v)), code(v) >= k is
    // the continuous condition decision_limit(u(v)) > r_(k) (>= with a metastability
    // band), r_(k) the k-th smallest ramp level: the bracket closes by Illinois steps on
    // g(v) = decision_limit(u(v)) - r_(k), each decided exactly as convert() decides,
    // in ~8 evaluations instead of bisection's ~30. Otherwise: bisection on the code.
    const bool counting = m.counts_decisions(nullptr);
    std::vector<double> sorted_ramp = m.ramp;
    std::sort(sorted_ramp.begin(), sorted_ramp.end());
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
        if (!counting) {
            while (b - a > tolerance) {
                const double mid = 0.5 * (a + b);
                (convert(mid) >= k ? b : a) = mid;
            }
            levels.push_back(0.5 * (a + b));
            continue;
        }
        const double level = sorted_ramp[static_cast<std::size_t>(k - 1)];
        auto g = [&](double v) { return m.decision_limit(mac_output_V(v)) - level; };
        auto counts = [&](double gv) { return m.meta_V > 0 ? gv >= 0.0 : gv > 0.0; };
        double ga = g(a), gb = g(b);
        int retained = 0;  // which end the last step kept (Illinois halves its value)
        for (int step = 0; b - a > tolerance; ++step) {
            // Secant point, at least tolerance/2 inside the bracket so that it closes;
            // plain bisection if the secant stalls.
            double x = step < 60 && gb != ga ? b - gb * (b - a) / (gb - ga) : 0.5 * (a + b);
            x = std::clamp(x, a + 0.5 * tolerance, b - 0.5 * tolerance);
            const double gx = g(x);
            if (counts(gx)) {
                b = x;
                gb = gx;
                if (retained == -1) ga *= 0.5;
                retained = -1;
            } else {
                a = x;
                ga = gx;
                if (retained == 1) gb *= 0.5;
                retained = 1;
            }
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
    for (int k = 1; k <= decisions; ++k) replica_j += v * m.replica[static_cast<std::size_t>(k - 1)].current_A * t;
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
