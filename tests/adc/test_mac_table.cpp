// The MAC path with wires: the per-chip Chebyshev table of the canonical realization
// against solving the array at every value (AdcOptions::exact_mac_solves), on sampled
// chips of the default study (docs/adc.md, "The MAC path with wires").
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "nladc/adc/behavioral.hpp"
#include "nladc/montecarlo/engine.hpp"

using namespace nladc;

namespace {

/// max_k |a_k - b_k| / lsb over the finite entries (both infinite: equal).
double max_difference_lsb(const std::vector<double>& a, const std::vector<double>& b, double lsb)
{
    REQUIRE(a.size() == b.size());
    double worst = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (!std::isfinite(a[k]) || !std::isfinite(b[k])) {
            CHECK(a[k] == b[k]);
            continue;
        }
        worst = std::max(worst, std::abs(a[k] - b[k]) / lsb);
    }
    return worst;
}

}  // namespace

TEST_CASE("with wires, the per-chip MAC table gives the thresholds of exact array solves", "[adc][montecarlo]")
{
    const auto inputs = load_study_inputs(StudySpec{});  // the default design, technology (1 ohm wires) and spreads
    REQUIRE(inputs->tech.array.wire_resistance_ohm > 0);
    const ReplicaDesign& design = inputs->design;
    const double lsb = design.levels.lsb();
    AdcOptions exact = inputs->options;
    exact.exact_mac_solves = true;
    // 1000 chips: every table threshold T_k is bracketed by exact conversions,
    // code(T_k - delta) < k <= code(T_k + delta); 20 of them also by a whole exact bisection.
    const double delta = 1e-4 * lsb;
    double worst_bisection = 0.0;
    int bracketed = 0;
    for (int trial = 0; trial < 1000; ++trial) {
        const ChipInstance chip = draw_chip(*inputs, static_cast<std::uint64_t>(trial));
        const BehavioralAdc table(design, inputs->tech, chip, inputs->options);
        const BehavioralAdc reference(design, inputs->tech, chip, exact);
        const auto levels = table.transition_levels(lsb * 1e-9);
        for (std::size_t k = 0; k < levels.size(); ++k) {
            if (!std::isfinite(levels[k])) continue;
            const int code = static_cast<int>(k) + 1;
            CHECK(reference.convert(levels[k] - delta) < code);
            CHECK(reference.convert(levels[k] + delta) >= code);
            ++bracketed;
        }
        if (trial % 50 == 0) {
            worst_bisection =
                std::max(worst_bisection, max_difference_lsb(levels, reference.transition_levels(lsb * 1e-9), lsb));
            // Conversions over and beyond the range (the weights clamp at full scale).
            for (double value = design.levels.lo - design.levels.hi; value <= 2 * design.levels.hi;
                 value += 0.137 * lsb)
                CHECK(table.mac_output_V(value) == Approx(reference.mac_output_V(value)).epsilon(1e-7).margin(1e-8));
        }
    }
    CHECK(bracketed > 14000);
    INFO("largest threshold difference to a whole exact bisection: " << worst_bisection << " LSB");
    CHECK(worst_bisection < 1e-4);
}
