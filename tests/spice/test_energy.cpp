// Energy per conversion from ngspice (spice/energy.hpp): the integration rule against
// analytic cases, then transistor-level conversions against the behavioral model's
// energy terms.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <iostream>
#include <map>

#include "nladc/adc/behavioral.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/spice/energy.hpp"
#include "nladc/study/defaults.hpp"

using namespace nladc;

TEST_CASE("energy: -integral of v i dt by the trapezoid rule, clipped to the window", "[spice][energy]")
{
    Eigen::VectorXd time(4), current(4), voltage(4), none;
    time << 0, 1e-9, 2e-9, 4e-9;
    current << -1e-3, -1e-3, -1e-3, -1e-3;  // a source delivering 1 mA
    // 1 mA at 1 V (no voltage vector) for 4 ns, and over [0.5, 3] ns.
    CHECK(spice::delivered_energy(time, none, 0.0, current, 0, 4e-9) == Approx(4e-12).epsilon(1e-12));
    CHECK(spice::delivered_energy(time, none, 0.0, current, 0.5e-9, 3e-9) == Approx(2.5e-12).epsilon(1e-12));
    // A current ramp 0 -> 2 mA into v - ref = 0.2 V: 0.2 V x 1 mA mean x 4 ns.
    current << 0, -0.5e-3, -1e-3, -2e-3;
    voltage << 1.1, 1.1, 1.1, 1.1;
    CHECK(spice::delivered_energy(time, voltage, 0.9, current, 0, 4e-9) == Approx(0.2 * 4e-12).epsilon(1e-12));
    // A window outside the simulation is empty.
    CHECK(spice::delivered_energy(time, voltage, 0.9, current, 5e-9, 6e-9) == 0.0);
}

TEST_CASE("energy: a transistor-level conversion against the behavioral model, term by term", "[ngspice][energy]")
{
    // The default design is where the model's energy constants were measured (op-amp and
    // conveyor power by the block testbenches, the comparator's energy per decision by
    // this testbench); the 3-bit design integrates on a smaller capacitor.
    const io::DesignRecord three_bit =
        io::read_design(std::filesystem::path(NLADC_SOURCE_DIR) / "netlists" / "bskmq3_design.json");
    for (const ReplicaDesign& design : {default_design(), three_bit.design}) {
        const bool is_default = design.levels.bits == 4;
        const Technology& tech = design.tech;
        const double mac = design.levels.lo + 0.5 * (design.levels.hi - design.levels.lo);
        spice::WorkerPool pool(2);
        const spice::SpiceEnergy s = spice::conversion_energy(design, tech, spice::nominal_spice_chip(design, tech),
                                                              mac, tech.counter.energy_per_clock_J, pool, {});
        const ConversionEnergy m = BehavioralAdc(design, tech, nominal_chip(design, tech), {}).energy(mac);
        std::cout << fmt::format("{}-bit design, energy at MAC {}: ngspice {:.4g} pJ (code {}, {} decisions), model "
                                 "{:.4g} pJ\n",
                                 design.levels.bits, mac, s.total_J * 1e12, s.code, s.decisions, m.total_J * 1e12);
        REQUIRE(s.decisions == m.clocks);
        std::map<std::string, double> model;
        for (const auto& t : m.terms) model[t.name] = t.joules;
        for (const auto& term : s.terms) {
            std::cout << fmt::format("  {:<18} ngspice {:.4g} pJ, model {:.4g} pJ\n", term.name, term.joules * 1e12,
                                     model[term.name] * 1e12);
            INFO(term.name);
            REQUIRE(model.count(term.name));
            CHECK(term.joules > 0);
        }
        const auto spice_term = [&](const std::string& name) {
            for (const auto& term : s.terms)
                if (term.name == name) return term.joules;
            return -1.0;
        };
        // The conveyor's static power is the same block on both designs (5 %).
        CHECK(spice_term("conveyor") == Approx(model["conveyor"]).epsilon(0.05));
        if (is_default) {
            CHECK(spice_term("integrators") == Approx(model["integrators"]).epsilon(0.05));
            CHECK(s.comparator_per_decision_J == Approx(tech.comparator.energy_J).epsilon(0.10));
            CHECK(s.total_J == Approx(m.total_J).epsilon(0.05));
        } else {
            // Off the design the constants came from: the op-amp's output stage shrinks with
            // C (k = max(1, C / 2 pF)), so its power must follow, not stay at the default's.
            CHECK(spice_term("integrators") == Approx(model["integrators"]).epsilon(0.10));
            CHECK(s.total_J == Approx(m.total_J).epsilon(0.15));
        }
    }
}
