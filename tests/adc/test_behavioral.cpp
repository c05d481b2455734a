// Behavioral NL-ADC against analytic references (BRIEF §2, §4).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/core/cpu.hpp"
#include "nladc/core/random.hpp"
#include "adc/convert_lanes.hpp"  // white-box: the AVX2 kernel itself

using namespace nladc;

namespace {

LevelSet bskmq_like(int bits)
{
    LevelSet set;
    set.bits = bits;
    set.lo = 0;
    set.hi = 6;
    const int n = 1 << bits;
    set.levels.push_back(0.0);
    for (int k = 1; k < n - 1; ++k) set.levels.push_back(0.15 + 5.3 * std::pow(k / double(n - 1), 1.4));
    set.levels.push_back(6.0);
    set.thresholds = midpoint_thresholds(set.levels);
    set.method = "test";
    return set;
}

/// Technology with the named nonidealities removed.
Technology clean_technology()
{
    Technology tech;
    tech.device.cell_type = "0T1R";  // no access resistance
    tech.device.iv_alpha_per_V = 0;
    tech.array.wire_resistance_ohm = 0;
    tech.comparator.noise_sigma_V = 0;
    tech.comparator.hysteresis_V = 0;
    tech.comparator.kickback_charge_C = 0;
    tech.comparator.regeneration_tau_s = 1e-13;
    // Switch charge does not scale with V_read: it breaks the ratiometric cancellation
    // (checked separately below).
    tech.sense.reset_injection_C = tech.sense.select_injection_C = tech.sense.mirror_injection_C = 0;
    return tech;
}

std::vector<double> levels_for(const ReplicaDesign& design, const Technology& tech, const ChipInstance& chip,
                               AdcOptions options)
{
    const BehavioralAdc adc(design, tech, chip, options);
    return adc.transition_levels(design.levels.lsb() * 1e-12);
}

}  // namespace

TEST_CASE("ratiometric: thresholds do not move with V_read or a common drift", "[adc]")
{
    Technology tech = clean_technology();
    const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
    const Technology& t = design.tech;
    AdcOptions options;  // real (finite-gain, finite-bandwidth) integrator, ideal comparator
    options.ideal.comparator = true;
    ChipInstance chip = nominal_chip(design, t);
    const auto reference = levels_for(design, t, chip, options);
    for (double v_read : {0.15, 0.20, 0.25}) {
        chip.v_read_V = v_read;
        const auto moved = levels_for(design, t, chip, options);
        for (std::size_t k = 0; k < reference.size(); ++k)
            CHECK(moved[k] == Approx(reference[k]).epsilon(1e-9));
    }
    // A common drift changes every conductance, and with it the integrators' input
    // loading; with an ideal integrator the cancellation is exact.
    options.ideal.integrator = true;
    chip = nominal_chip(design, t);
    const auto ideal_reference = levels_for(design, t, chip, options);
    for (double drift : {0.8, 0.9, 1.1, 1.2}) {
        Technology drifted = t;
        drifted.device.drift_factor = drift;
        ChipInstance c = nominal_chip(design, drifted);
        const auto moved = levels_for(design, drifted, c, options);
        for (std::size_t k = 0; k < ideal_reference.size(); ++k)
            CHECK(moved[k] == Approx(ideal_reference[k]).epsilon(1e-9));
    }
}

TEST_CASE("a comparator offset moves every threshold by V_os / (K V_read)", "[adc]")
{
    Technology tech = clean_technology();
    const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
    const Technology& t = design.tech;
    AdcOptions options;
    options.ideal.integrator = true;  // K = T / C exactly
    for (double v_read : {0.15, 0.20, 0.25}) {
        ChipInstance chip = nominal_chip(design, t);
        chip.v_read_V = v_read;
        const auto base = levels_for(design, t, chip, options);
        chip.comparator_offset_V = 2e-3;
        const auto shifted = levels_for(design, t, chip, options);
        const double k = t.sense.integration_time_s / t.sense.capacitance_F;
        const double expected = design.scale_per_S * 2e-3 / (k * v_read);
        for (std::size_t i = 0; i < base.size(); ++i)
            CHECK(shifted[i] - base[i] == Approx(expected).epsilon(1e-6));
    }
}

TEST_CASE("switch charge: common to both integrators it mostly cancels, on the MAC side alone it is an offset of -Q/C",
          "[adc]")
{
    Technology tech = clean_technology();  // a comparator without noise, hysteresis or kickback
    const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
    const AdcOptions options;
    const Technology& t = design.tech;
    const auto base = levels_for(design, t, nominal_chip(design, t), options);
    const double k_vread = t.sense.integration_time_s / t.sense.capacitance_F * t.array.v_read_V;
    // Reset and select charges reach both integrators the same way: the thresholds move by a
    // fifth of what the same charge on one side alone would do (the rest is the two
    // integrators' different column loads while the charge settles).
    Technology common = t;
    common.sense.reset_injection_C = 60e-15;
    common.sense.select_injection_C = -40e-15;
    const auto both = levels_for(design, common, nominal_chip(design, common), options);
    const double one_sided = design.scale_per_S * (60e-15 / t.sense.capacitance_F) / k_vread;
    for (std::size_t k = 0; k < base.size(); ++k) CHECK(std::abs(both[k] - base[k]) < 0.2 * one_sided);
    // The MAC-only charge raises u_mac by Q/C: a comparator offset of -Q/C.
    Technology mac_only = t;
    mac_only.sense.mirror_injection_C = 30e-15;
    ChipInstance offset_chip = nominal_chip(design, t);
    offset_chip.comparator_offset_V = -30e-15 / t.sense.capacitance_F;
    const auto charged = levels_for(design, mac_only, nominal_chip(design, mac_only), options);
    const auto offset = levels_for(design, t, offset_chip, options);
    for (std::size_t k = 0; k < base.size(); ++k) {
        CHECK(charged[k] < base[k]);
        CHECK(charged[k] == Approx(offset[k]).margin(2e-3 * design.levels.lsb()));  // the MAC node has settled to 5e-4
    }
}

TEST_CASE("convert_batch gives the scalar codes, at every discrete transition too", "[adc]")
{
    // The AVX2 kernel's cases: a row count with and without a remainder mod 4, a decision
    // with and without the metastability band (r <= limit vs r < limit); with hysteresis
    // the code is not a count and every conversion takes convert() itself.
    struct Case {
        Eigen::Index rows;
        double regeneration_tau_s, hysteresis_V;
    };
    for (const Case& setup : {Case{64, 20e-12, 0.0}, Case{37, 20e-12, 0.0}, Case{62, 0.0, 0.0}, Case{64, 20e-12, 2e-3}}) {
        INFO("rows " << setup.rows << ", tau_regen " << setup.regeneration_tau_s << ", hysteresis " << setup.hysteresis_V);
        Technology tech;
        tech.array.wire_resistance_ohm = 0.0;  // the static fast path (wires fall back to convert())
        tech.comparator.regeneration_tau_s = setup.regeneration_tau_s;
        tech.comparator.hysteresis_V = setup.hysteresis_V;
        const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
        const BehavioralAdc adc(design, design.tech, nominal_chip(design, design.tech));
        RandomStream random(3, 0);
        const Eigen::Index rows = setup.rows;
        Eigen::VectorXd weights(rows);
        for (Eigen::Index i = 0; i < rows; ++i) weights(i) = 0.9 * random.uniform() - 0.2;
        const PreparedColumn column = adc.prepare(weights);

        // Random inputs (some outside [0, 1] and NaN: clamped as the scalar path clamps), then
        // for 40 directions x0 the scaled inputs a x0 on both sides of every code change in a:
        // the two input vectors whose quantized dot products straddle a threshold.
        std::vector<Eigen::VectorXd> cases;
        for (int k = 0; k < 400; ++k) {
            Eigen::VectorXd x(rows);
            for (Eigen::Index i = 0; i < rows; ++i) x(i) = 1.2 * random.uniform() - 0.1;
            if (k == 7) x(3) = std::nan("");
            if (k == 9) x(rows - 1) = std::nan("");  // in the remainder rows
            cases.push_back(x);
        }
        for (int d = 0; d < 40; ++d) {
            Eigen::VectorXd x0(rows);
            for (Eigen::Index i = 0; i < rows; ++i) x0(i) = random.uniform();
            double previous_a = 0.0;
            int previous = adc.convert(column, Eigen::VectorXd(0.0 * x0));
            for (int step = 1; step <= 2000; ++step) {
                const double a = step / 2000.0;
                const int code = adc.convert(column, Eigen::VectorXd(a * x0));
                if (code != previous) {
                    double lo = previous_a, hi = a;  // bisect to adjacent input vectors
                    for (int it = 0; it < 60; ++it) {
                        const double mid = 0.5 * (lo + hi);
                        (adc.convert(column, Eigen::VectorXd(mid * x0)) == previous ? lo : hi) = mid;
                    }
                    cases.push_back(lo * x0);
                    cases.push_back(hi * x0);
                }
                previous = code;
                previous_a = a;
            }
        }
        cases.push_back(cases.front());  // an odd count: the last conversions one by one
        Eigen::MatrixXd inputs(rows, static_cast<Eigen::Index>(cases.size()));
        for (std::size_t c = 0; c < cases.size(); ++c) inputs.col(static_cast<Eigen::Index>(c)) = cases[c];
        std::vector<int> codes(cases.size());
        adc.convert_batch(column, inputs, codes);
        int transitions = 0, mismatches = 0;
        for (std::size_t c = 0; c < cases.size(); ++c) {
            mismatches += codes[c] != adc.convert(column, cases[c]);
            if (c >= 400 && c % 2 == 1 && c + 1 < cases.size()) transitions += codes[c] != codes[c - 1];
        }
        CHECK(mismatches == 0);
        CHECK(transitions > 100);  // the straddling pairs really straddle
        std::vector<int> wrong(3);
        CHECK_THROWS_WITH(adc.convert_batch(column, inputs, wrong),
                          Catch::Matchers::StartsWith("convert_batch: 3 codes for"));
    }
}

TEST_CASE("codes4_avx2: exact ties, every clamp and the calibration terms as the scalar arithmetic", "[adc]")
{
    // The kernel against the scalar path's arithmetic written out here, on the cases the
    // model-level test above cannot reach: ramp steps exactly at a conversion's decision
    // limit and one ulp either side, the current and swing clamps, nonzero gain and
    // compression, 1 to 9 rows (every remainder mod 4), NaN and out-of-range inputs.
    if (!cpu_has_avx2()) {
        WARN("this CPU has no AVX2: the kernel is never called, nothing to compare");
        return;
    }
    RandomStream random(17, 0);
    int checked = 0, capped = 0, clamped = 0;
    for (long rows = 1; rows <= 9; ++rows) {
        for (const bool at_or_below : {false, true}) {
            adc_lanes::StaticTail tail;
            tail.levels = 255.0;
            tail.scale = 0.2 / tail.levels;
            tail.current_cap_A = 1e-4;
            tail.response_V_per_A = 5e3;
            tail.column_offset_V = 1e-3;
            tail.swing_V = 0.3;
            tail.gain = 1.013;
            tail.compression = 0.21;
            tail.kick_V = 2e-4;
            tail.offset_V = -3e-4;
            tail.meta_V = at_or_below ? 1e-6 : 0.0;
            tail.at_or_below = at_or_below;
            for (int trial = 0; trial < 100; ++trial) {
                std::vector<double> d(static_cast<std::size_t>(rows)), x(static_cast<std::size_t>(4 * rows));
                for (double& v : d) v = 8e-4 * random.uniform() - 4e-4;
                for (double& v : x) v = 1.4 * random.uniform() - 0.2;
                if (trial % 10 == 3) x[static_cast<std::size_t>(trial) % x.size()] = std::nan("");
                // The scalar path: quantize_inputs, ordered_dot, limited, response, swing
                // clamp, calibrated_mac, decision_limit.
                double limit[4];
                for (int c = 0; c < 4; ++c) {
                    double partial[4] = {0, 0, 0, 0};
                    for (long i = 0; i < rows; ++i) {
                        const double v = x[static_cast<std::size_t>(c * rows + i)];
                        const double clamp01 = v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0;
                        const double step = static_cast<double>(static_cast<std::int32_t>(clamp01 * tail.levels + 0.5));
                        partial[i % 4] += step * d[static_cast<std::size_t>(i)];
                    }
                    const double dot = (partial[0] + partial[1]) + (partial[2] + partial[3]);
                    capped += std::abs(dot * tail.scale) > tail.current_cap_A;
                    const double current = std::clamp(dot * tail.scale, -tail.current_cap_A, tail.current_cap_A);
                    double u = tail.response_V_per_A * current + tail.column_offset_V;
                    clamped += std::abs(u) > tail.swing_V;
                    u = std::clamp(u, -tail.swing_V, tail.swing_V);
                    u = u * tail.gain - tail.compression * u * u;
                    limit[c] = ((u + tail.kick_V) - tail.offset_V) - tail.meta_V;
                }
                std::vector<double> ramp;
                for (const double l : limit) {
                    ramp.insert(ramp.end(), {l, std::nextafter(l, -1.0), std::nextafter(l, 1.0)});
                    ramp.push_back(0.8 * random.uniform() - 0.4);
                }
                std::sort(ramp.begin(), ramp.end());
                tail.ramp = ramp.data();
                tail.steps = static_cast<long>(ramp.size());
                const double* lanes[4] = {&x[0], &x[static_cast<std::size_t>(rows)], &x[static_cast<std::size_t>(2 * rows)],
                                          &x[static_cast<std::size_t>(3 * rows)]};
                int codes[4];
                adc_lanes::codes4_avx2(lanes, rows, d.data(), tail, codes);
                for (int c = 0; c < 4; ++c) {
                    int expected = 0;
                    for (const double r : ramp) expected += at_or_below ? r <= limit[c] : r < limit[c];
                    INFO("rows " << rows << ", trial " << trial << ", conversion " << c);
                    REQUIRE(codes[c] == expected);
                    ++checked;
                }
            }
        }
    }
    CHECK(checked == 9 * 2 * 100 * 4);
    CHECK(capped > 100);   // the current limit is exercised
    CHECK(clamped > 100);  // and the swing clamp
}
