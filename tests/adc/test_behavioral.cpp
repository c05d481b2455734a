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
