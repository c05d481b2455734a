// Behavioral NL-ADC against analytic references (BRIEF §2, §4).
#include <catch2/catch.hpp>

#include <cmath>

#include "nladc/adc/behavioral.hpp"
#include "nladc/core/random.hpp"

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

TEST_CASE("static and transient modes agree with an ideal integrator and a fast comparator", "[adc]")
{
    Technology tech;  // wires, access resistance, kickback stay on
    tech.comparator.regeneration_tau_s = 5e-12;
    const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
    AdcOptions options;
    options.ideal.integrator = true;
    const ChipInstance chip = nominal_chip(design, design.tech);
    const auto fixed = levels_for(design, design.tech, chip, options);
    options.mode = "transient";
    const auto moving = levels_for(design, design.tech, chip, options);
    for (std::size_t k = 0; k < fixed.size(); ++k)
        CHECK(std::abs(moving[k] - fixed[k]) / design.levels.lsb() < 0.01);
    // And with the real integrator the closed form and the ODE still agree closely.
    options.ideal.integrator = false;
    const auto real_transient = levels_for(design, design.tech, chip, options);
    options.mode = "static";
    const auto real_static = levels_for(design, design.tech, chip, options);
    for (std::size_t k = 0; k < fixed.size(); ++k)
        CHECK(std::abs(real_transient[k] - real_static[k]) / design.levels.lsb() < 0.01);
}

TEST_CASE("the ideal switch reproduces the mapped thresholds exactly", "[adc]")
{
    Technology tech;
    const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
    AdcOptions options;
    options.ideal = Idealization::all();
    const auto measured = levels_for(design, design.tech, nominal_chip(design, design.tech), options);
    for (std::size_t k = 0; k < measured.size(); ++k)
        CHECK(measured[k] == Approx(design.realized_thresholds[k]).epsilon(1e-9));
}

TEST_CASE("each nonideality alone moves the thresholds, and by a bounded amount", "[adc]")
{
    Technology tech;
    const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
    const ChipInstance chip = nominal_chip(design, design.tech);
    const double lsb = design.levels.lsb();
    for (int which = 0; which < 4; ++which) {
        AdcOptions options;
        options.ideal = Idealization::all();
        bool* on[] = {&options.ideal.cells, &options.ideal.wires, &options.ideal.integrator, &options.ideal.comparator};
        *on[which] = false;
        const auto measured = levels_for(design, design.tech, chip, options);
        double worst = 0;
        for (std::size_t k = 0; k < measured.size(); ++k)
            worst = std::max(worst, std::abs(measured[k] - design.realized_thresholds[k]) / lsb);
        INFO("nonideality " << which << ": " << worst << " LSB");
        // The nominal comparator has no systematic offset, and its kickback residual
        // needs the output RC of a real integrator: alone it does not move thresholds.
        if (which < 3) CHECK(worst > 1e-4);
        CHECK(worst < 3.0);
    }
}

TEST_CASE("conversion API: codes, ReLU, explicit weights, prepared columns, energy", "[adc]")
{
    Technology tech = clean_technology();
    const ReplicaDesign design = map_levels(bskmq_like(3), tech, {});
    AdcOptions ideal;
    ideal.ideal = Idealization::all();
    const BehavioralAdc adc(design, design.tech, nominal_chip(design, design.tech), ideal);
    CHECK(adc.convert(-2.0) == 0);  // a negative MAC gives code 0
    CHECK(adc.convert(100.0) == 7);
    for (double v : {0.05, 0.5, 1.7, 3.3, 5.9})
        CHECK(adc.convert(v) == design.levels.code(v));
    CHECK(adc.reconstruct(adc.convert(5.9)) == design.levels.quantize(5.9));
    // Explicit inputs and weights equal to the canonical spread give the same code.
    const int rows = design.tech.array.rows;
    const double span = design.tech.device.g_max_S - design.tech.device.g_min_S;
    for (double v : {0.4, 2.2, 4.8}) {
        const Eigen::VectorXd w = Eigen::VectorXd::Constant(rows, v / design.scale_per_S / (rows * span));
        const Eigen::VectorXd x = Eigen::VectorXd::Ones(rows);
        CHECK(adc.convert(MacInputs{x, w}) == adc.convert(v));
        CHECK(adc.convert(adc.prepare(w), x) == adc.convert(v));
        CHECK(adc.convert(MacInputs{x, Eigen::VectorXd(-w)}) == 0);
    }
    const ConversionEnergy e = adc.energy(3.0);
    double sum = 0;
    for (const auto& term : e.terms) {
        CHECK(term.joules >= 0);
        sum += term.joules;
    }
    CHECK(e.total_J == Approx(sum));
    CHECK(e.clocks == 7);
    CHECK(e.latency_s == Approx(design.tech.sense.reset_time_s + design.tech.sense.integration_time_s +
                                7 / design.tech.counter.clock_hz));
}

TEST_CASE("noise, hysteresis, early stop and metastability behave as specified", "[adc]")
{
    Technology tech = clean_technology();
    const ReplicaDesign design = map_levels(bskmq_like(3), tech, {});
    Technology t = design.tech;
    AdcOptions options;
    options.ideal.integrator = true;
    const ChipInstance chip = nominal_chip(design, t);
    const double k_vread = t.sense.integration_time_s / t.sense.capacitance_F * t.array.v_read_V;
    const double threshold = design.realized_thresholds[3];
    const double u_at = k_vread * threshold / design.scale_per_S;
    {
        BehavioralAdc adc(design, t, chip, options);
        CHECK(adc.convert_output(u_at + 1e-6) == 4);
        CHECK(adc.convert_output(u_at - 1e-6) == 3);
    }
    {
        // Noise: near a threshold the code flips with probability ~ Phi(d / sigma).
        Technology noisy = t;
        noisy.comparator.noise_sigma_V = 1e-3;
        BehavioralAdc adc(design, noisy, chip, options);
        RandomStream rng(7, 0);
        int above = 0;
        for (int i = 0; i < 4000; ++i) above += adc.convert_output(u_at + 1e-3, &rng) >= 4;
        CHECK(above / 4000.0 == Approx(0.8413).margin(0.03));  // Phi(1)
    }
    {
        // Metastability: a slow latch cannot resolve small overdrives in time.
        Technology slow = t;
        slow.comparator.regeneration_tau_s = slow.comparator.resolve_time_s / 3;  // band V_dd/2 e^-3 = 30 mV
        BehavioralAdc adc(design, slow, chip, options);
        CHECK(adc.convert_output(u_at + 0.01) == 3);   // unresolved: not counted
        CHECK(adc.convert_output(u_at + 0.05) >= 4);
    }
    {
        Technology early = t;
        early.counter.early_stop = true;
        BehavioralAdc adc(design, early, chip, options);
        BehavioralAdc counting(design, t, chip, options);
        for (double v : {0.3, 1.1, 2.9, 5.2}) CHECK(adc.convert(v) == counting.convert(v));
        CHECK(adc.energy(0.3).clocks < counting.energy(0.3).clocks);
    }
}

TEST_CASE("prepared columns quantize inputs like the general path (odd row counts, out-of-range inputs)", "[adc]")
{
    // The prepared static path quantizes two inputs at a time (SSE2) with a scalar tail;
    // the general path quantizes one at a time. Same codes, row count odd or even.
    for (int rows : {63, 64}) {
        INFO(rows << " rows");
        Technology tech = clean_technology();
        tech.array.rows = rows;
        const ReplicaDesign design = map_levels(bskmq_like(4), tech, {});
        const BehavioralAdc adc(design, design.tech, nominal_chip(design, design.tech));
        RandomStream random(7, static_cast<std::uint64_t>(rows));
        const double span = design.tech.device.g_max_S - design.tech.device.g_min_S;
        int mismatches = 0, nonzero = 0;
        for (int draw = 0; draw < 300; ++draw) {
            Eigen::VectorXd x(rows), w(rows);
            for (int i = 0; i < rows; ++i) {
                x(i) = 1.4 * random.uniform() - 0.2;  // also below 0 and above 1: clamped
                w(i) = 6.0 / design.scale_per_S / (rows * span) * random.uniform();
            }
            const int general = adc.convert(MacInputs{x, w});
            mismatches += adc.convert(adc.prepare(w), x) != general;
            nonzero += general > 0;
        }
        CHECK(mismatches == 0);
        CHECK(nonzero > 250);
    }
}
