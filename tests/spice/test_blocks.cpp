// Block characterization of the transistor-level sense circuit (spice/blocks.hpp): each
// measured figure against a hand analysis from the operating point the testbenches
// print, the extracted behavioral integrator against the step testbenches it was fitted
// to, and the technology defaults against a fresh extraction (they must stay current).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <numbers>

#include "nladc/adc/behavioral.hpp"
#include "nladc/core/error.hpp"
#include "nladc/spice/blocks.hpp"
#include "nladc/spice/extract.hpp"
#include "nladc/spice/library.hpp"
#include "nladc/study/defaults.hpp"

using namespace nladc;

namespace {

/// The default design's blocks at TT, characterized once for every test here.
const spice::BlockCharacterization& default_blocks()
{
    static const spice::BlockCharacterization blocks = [] {
        const ReplicaDesign design = default_design();
        spice::WorkerPool pool(2);
        return spice::characterize_blocks(design, design.tech, pool, spice::NetlistOptions{});
    }();
    return blocks;
}

/// A default parameter of a subcircuit in circuits/nladc_cells.lib, evaluated.
double library_default(const std::string& subckt, const std::string& name)
{
    const spice::Library lib = spice::read_library(std::filesystem::path(NLADC_SOURCE_DIR) / "circuits" / "nladc_cells.lib");
    const spice::Subcircuit* s = lib.find_subckt(subckt);
    REQUIRE(s != nullptr);
    for (const auto& [key, expression] : s->defaults)
        if (key == name) return spice::evaluate(expression, {}, lib.file, s->first_line);
    FAIL("no parameter " << name << " on " << subckt);
    return 0;
}

double extracted(const std::string& key)
{
    for (const auto& p : default_blocks().parameters())
        if (p.key == key) return p.value;
    FAIL("no extracted parameter " << key);
    return 0;
}

}  // namespace

TEST_CASE("blocks: the integrator's OTA against hand analysis", "[ngspice][circuits][blocks]")
{
    const auto& b = default_blocks();
    std::cout << fmt::format("ota_miller (k = {:.3g}): A0 {:.1f}, |A| {:.3g} at {:.3g} Hz, UGF {:.4g} Hz, phase margin {:.1f} deg, "
                             "slew {:.3g} / {:.3g} V/ns, linear output {:.3f}..{:.3f} V, offset {:.3g} mV, supply {:.4g} mA\n",
                             b.ota_k, b.dc_gain, b.fit_gain.front(), b.fit_frequency_Hz,
                             fmt::join(b.unity_gain_Hz, " / "), fmt::join(b.phase_margin_deg, " / "),
                             b.slew_fall_V_per_s * 1e-9, b.slew_rise_V_per_s * 1e-9, b.swing_low_V, b.swing_high_V,
                             b.offset_V * 1e3, b.supply_A * 1e3);
    // DC gain: the two stages' gm / gds from the operating point (10 %).
    const double hand_gain =
        b.gm_in_S / (b.gds_in_S + b.gds_load_S) * b.gm_driver_S / (b.gds_driver_S + b.gds_sink_S);
    CHECK(b.dc_gain == Approx(hand_gain).epsilon(0.10));
    // Gain in the single-pole region: gm1 / (2 pi f Cc) (35 %: Cc is not the only capacitance).
    const double cc = library_default("ota_miller", "cc");
    CHECK(b.fit_gain.front() == Approx(b.gm_in_S / (2 * std::numbers::pi * b.fit_frequency_Hz * cc)).epsilon(0.35));
    // Slew: the tail current charging Cc (35 %), and fast enough for the integrator's ramp.
    CHECK(b.slew_rise_V_per_s == Approx(b.tail_A / cc).epsilon(0.35));
    const Technology tech = default_design().tech;
    const double ramp_slope = tech.sense.swing_fraction * tech.sense.output_swing_V / tech.sense.integration_time_s;
    CHECK(std::min(b.slew_fall_V_per_s, b.slew_rise_V_per_s) > 2 * ramp_slope);
    // Supply: the bias, the tail and the output stage's sink (3 %).
    CHECK(b.supply_A == Approx(library_default("ota_miller", "ibias") + b.tail_A + b.sink_A).epsilon(0.03));
    // The sink covers the largest column current the design integrates.
    CHECK(b.sink_A > ramp_slope * b.capacitance_F);
    CHECK(std::abs(b.offset_V) < 1e-3);
    // The linear range covers the integrator's excursion from VCM.
    CHECK(b.swing_low_V < tech.spice.common_mode_V - tech.sense.swing_fraction * tech.sense.output_swing_V);
    CHECK(b.swing_high_V > tech.spice.common_mode_V);
    for (double pm : b.phase_margin_deg)
        if (std::isfinite(pm)) CHECK(pm >= 60.0);
}

TEST_CASE("blocks: switches, injected charge, mirror and comparator against hand analysis", "[ngspice][circuits][blocks]")
{
    const auto& b = default_blocks();
    const Technology tech = default_design().tech;
    std::cout << fmt::format("switches: reset {:.2f} ohm at 0.3 / 0.6 / 0.9 V, select {:.3f} ohm; injected charge reset "
                             "{:.3g} fC, select {:.3g} fC, MAC-only {:.3g} fC; mirror gain {:.5f} (raw {:.5f}), conveyor "
                             "input {:+.3g} mV, settles in {:.3g} ns, {:.3g} mA; comparator offset {:.4f} V per V of "
                             "mismatch\n",
                             fmt::join(b.reset_switch_ohm, " / "), b.select_switch_ohm, b.reset_injection_C * 1e15,
                             b.select_injection_C * 1e15, b.mirror_injection_C * 1e15, b.mirror_gain, b.mirror_raw_gain,
                             b.conveyor_input_error_V * 1e3, b.mirror_settling_s * 1e9, b.conveyor_supply_A * 1e3,
                             b.comparator_offset_per_mismatch);
    // The sizing rules (R_on = r_w / W) hit their targets at VCM (10 %).
    CHECK(b.reset_switch_ohm.back() == Approx(tech.sense.reset_switch_ohm).epsilon(0.10));
    CHECK(b.select_switch_ohm == Approx(tech.sense.select_switch_ohm).epsilon(0.10));
    // A transmission gate is worst in mid-rail, where neither device is fully on.
    CHECK(b.reset_switch_ohm[1] > b.reset_switch_ohm[0]);
    CHECK(b.reset_switch_ohm[1] > b.reset_switch_ohm[2]);
    // The opening select NMOS: its channel's electrons (negative) dominate; bounded by the
    // channel charge W L C_ox (V_GS - V_t), V_t ~ 0.6 V with the body at 0 and the source at VCM,
    // plus the overlap feedthrough of the same order.
    const double w = tech.spice.select_ron_width_ohm_m / tech.sense.select_switch_ohm;
    const double cox = 3.45e-11 / 1.85e-9;  // F/m^2, toxe of generic65
    const double channel = w * 60e-9 * cox * (tech.spice.word_line_V - tech.spice.common_mode_V - 0.6);
    CHECK(b.select_injection_C < 0);
    CHECK(std::abs(b.select_injection_C) < 4 * channel);
    // The mirror: within 1 % of unity, its virtual ground within 2 mV of VCM, settled well
    // inside the tail its output switch waits for
    CHECK(std::abs(b.mirror_gain - 1.0) < 0.01);
    CHECK(std::abs(b.conveyor_input_error_V) < 2e-3);
    // (1 % left after 0.7 tails: what is still missing when the switch opens is < 1e-4 of the
    // charge the lag withheld.)
    CHECK(b.mirror_settling_s < 0.7 * tech.spice.mirror_tail_s);
    // A symmetric input pair gives 1 V of offset per V of threshold mismatch; the latch's
    // own devices add a little.
    CHECK(b.comparator_offset_per_mismatch > 1.0);
    CHECK(b.comparator_offset_per_mismatch < 1.2);
}

TEST_CASE("blocks: the extracted behavioral integrator reproduces the step testbenches within 1 %",
          "[ngspice][circuits][blocks]")
{
    const auto& b = default_blocks();
    const Technology tech = spice::technology_with(default_design().tech, b.parameters());
    REQUIRE(b.step_points.size() == 6);
    for (const auto& p : b.step_points) {
        const double model = integrator_output_V(tech, p.current_A, p.conductance_S);
        INFO(fmt::format("I {:.4g} A, G {:.4g} S: SPICE {:.5f} V, model {:.5f} V", p.current_A, p.conductance_S,
                         p.spice_V, model));
        CHECK(model == Approx(p.spice_V).epsilon(0.01));
    }
    CHECK(b.step_fit_rms < 0.005);
    // The fit did not just copy its starting point: the AC estimate alone is worse.
    Technology ac = tech;
    ac.sense.opamp_gbw_Hz = b.ac_gbw_Hz;
    double worst_ac = 0;
    for (const auto& p : b.step_points)
        worst_ac = std::max(worst_ac, std::abs(integrator_output_V(ac, p.current_A, p.conductance_S) / p.spice_V - 1));
    CHECK(worst_ac > b.step_fit_rms);
}

TEST_CASE("blocks: the technology defaults are the default design's extracted block parameters",
          "[ngspice][circuits][blocks]")
{
    // When the circuits change, extract again (nladc calibrate on the default design) and
    // update the defaults in include/nladc/device/technology.hpp.
    const Technology defaults;
    struct Expect {
        const char* key;
        double value, relative, absolute;
    };
    const std::vector<Expect> expectations = {
        {"sense.opamp_gain", defaults.sense.opamp_gain, 0.03, 0},
        {"sense.opamp_gbw_Hz", defaults.sense.opamp_gbw_Hz, 0.03, 0},
        {"sense.opamp_open_loop_output_ohm", defaults.sense.opamp_open_loop_output_ohm, 0.10, 0},
        {"sense.output_swing_V", defaults.sense.output_swing_V, 0.02, 0},
        {"sense.opamp_max_current_A", defaults.sense.opamp_max_current_A, 0.03, 0},
        {"sense.opamp_bias_power_W", defaults.sense.opamp_bias_power_W, 0.03, 0},
        {"sense.opamp_output_stage_power_W", defaults.sense.opamp_output_stage_power_W, 0.03, 0},
        {"sense.conveyor_power_W", defaults.sense.conveyor_power_W, 0.03, 0},
        {"sense.reset_switch_ohm", defaults.sense.reset_switch_ohm, 0.05, 0},
        {"sense.select_switch_ohm", defaults.sense.select_switch_ohm, 0.05, 0},
        {"sense.reset_injection_C", defaults.sense.reset_injection_C, 0.10, 2e-15},
        {"sense.select_injection_C", defaults.sense.select_injection_C, 0.10, 2e-15},
        {"sense.mirror_injection_C", defaults.sense.mirror_injection_C, 0.10, 2e-15},
        {"sense.column_mirror_gain", defaults.sense.column_mirror_gain, 0, 1e-3},
        {"comparator.offset_per_mismatch", defaults.comparator.offset_per_mismatch, 0.03, 0},
    };
    for (const Expect& e : expectations) {
        const double x = extracted(e.key);
        INFO(fmt::format("{}: default {:.6g}, extracted {:.6g}", e.key, e.value, x));
        CHECK(std::abs(x - e.value) <= std::max(e.relative * std::abs(x), e.absolute));
    }
}

TEST_CASE("blocks: technology_with sets each parameter by key; unknown keys and bad values are errors", "[blocks]")
{
    const Technology t = spice::technology_with(Technology{}, {{"sense.opamp_gain", 321.0, "V/V", "x"},
                                                             {"comparator.offset_per_mismatch", 1.07, "V/V", "y"}});
    CHECK(t.sense.opamp_gain == 321.0);
    CHECK(t.comparator.offset_per_mismatch == 1.07);
    CHECK_THROWS_WITH(spice::technology_with(Technology{}, {{"sense.opamp_gian", 1.0, "", ""}}),
                      Catch::Contains("sense.opamp_gian"));
    CHECK_THROWS_WITH(spice::technology_with(Technology{}, {{"sense.opamp_gain", -5.0, "", ""}}),
                      Catch::Contains("outside"));
    CHECK_THROWS_WITH(spice::technology_with(Technology{}, {{"sense.mode", 1.0, "", ""}}),
                      Catch::Contains("not a number"));
}

TEST_CASE("blocks: a chip's input-referred comparator offset is what SPICE's latch shows", "[ngspice][blocks]")
{
    // The netlist writes the offset as a pair mismatch divided by the extracted ratio, so
    // the offset measured at the latch input equals the chip's (Monte Carlo compares the
    // two simulators on the same chip). Without the ratio it would be ~9 % larger.
    const ReplicaDesign design = default_design();
    Technology tech = design.tech;
    tech.comparator.offset_per_mismatch = default_blocks().comparator_offset_per_mismatch;
    spice::WorkerPool pool(2);
    spice::SpiceChip chip = spice::nominal_spice_chip(design, tech);
    const double cm = 0.9 - 0.5 * tech.sense.swing_fraction * tech.sense.output_swing_V;
    int simulations = 0;
    chip.comparator_offset_V = 0.0;
    const double plain = spice::comparator_offset(design, tech, chip, cm, pool, {}, simulations);
    chip.comparator_offset_V = 8e-3;
    const double shifted = spice::comparator_offset(design, tech, chip, cm, pool, {}, simulations);
    INFO("offset 0 -> " << plain << " V, 8 mV -> " << shifted << " V");
    CHECK(shifted - plain == Approx(8e-3).epsilon(0.03));
}
