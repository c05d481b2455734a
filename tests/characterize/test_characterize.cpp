// Static linearity against hand-computed values, and the characterization of a design.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "../support.hpp"
#include "nladc/characterize/characterize.hpp"
#include "nladc/characterize/linearity.hpp"
#include "nladc/mapping/mapping.hpp"
#include "nladc/study/defaults.hpp"
#include "nladc/study/level_design.hpp"

using namespace nladc;
using Catch::Matchers::WithinAbs;

namespace {

/// 3 bits over [0, 8]: LSB 1, thresholds 1 .. 7, levels 0.5 .. 7.5.
LevelSet linear_3bit()
{
    LevelSet set;
    set.bits = 3;
    set.lo = 0;
    set.hi = 8;
    for (int k = 0; k < 8; ++k) set.levels.push_back(k + 0.5);
    set.thresholds = midpoint_thresholds(set.levels);
    set.method = "linear";
    return set;
}

// Injected threshold errors: +0.1, 0, -0.1, +0.3, 0, 0, -0.2 LSB.
const std::vector<double> kMeasured = {1.1, 2.0, 2.9, 4.3, 5.0, 6.0, 6.8};

void check_all(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance)
{
    REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        INFO("index " << i);
        CHECK_THAT(actual[i], WithinAbs(expected[i], tolerance));
    }
}

}  // namespace

TEST_CASE("IEEE 1241 terminal and best-fit INL/DNL equal hand-computed values", "[characterize]")
{
    // Computed by hand: Q_t = (6.8 - 1.1) / 6 = 0.95; widths 0.9 0.9 1.4 0.7 1.0 0.8.
    const IeeeLinearity r = ieee_linearity(kMeasured, 1.0, 1.0);
    CHECK_THAT(r.terminal_width, WithinAbs(0.95, 1e-12));
    check_all(r.dnl_lsb, {0.9 / 0.95 - 1, 0.9 / 0.95 - 1, 1.4 / 0.95 - 1, 0.7 / 0.95 - 1, 1.0 / 0.95 - 1, 0.8 / 0.95 - 1},
              1e-12);
    check_all(r.inl_terminal_lsb, {0, -0.05 / 0.95, -0.1 / 0.95, 0.35 / 0.95, 0.1 / 0.95, 0.15 / 0.95, 0}, 1e-12);
    // Best fit by hand: sum k = 28, sum k^2 = 140, sum T = 28.1, sum kT = 139.6
    // -> b = 190.4 / 196, a = (28.1 - 28 b) / 7.
    const double b = 190.4 / 196, a = (28.1 - 28 * b) / 7;
    std::vector<double> best_fit;
    for (int k = 1; k <= 7; ++k) best_fit.push_back(kMeasured[k - 1] - a - b * k);
    check_all(r.inl_best_fit_lsb, best_fit, 1e-12);
    check_all(r.inl_best_fit_lsb, {0.0, -0.0714286, -0.1428571, 0.2857143, 0.0142857, 0.0428571, -0.1285714}, 1e-6);
    CHECK_THAT(r.offset, WithinAbs(0.1, 1e-12));  // a + b - T_target[1]
    CHECK_THAT(r.gain, WithinAbs(0.9714286, 1e-6));
    CHECK(r.missing_codes.empty());
}

TEST_CASE("terminal INL is the running sum of DNL", "[characterize]")
{
    // On the hand-computed case and on random linear ADCs.
    std::vector<std::vector<double>> cases = {kMeasured};
    std::uint64_t state = 12345;
    for (int c = 0; c < 20; ++c) {
        std::vector<double> t;
        double x = 0;
        for (int k = 0; k < 15; ++k) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            x += 0.2 + static_cast<double>(state >> 40) / static_cast<double>(1ull << 24);
            t.push_back(x);
        }
        cases.push_back(t);
    }
    for (const auto& measured : cases) {
        const IeeeLinearity r = ieee_linearity(measured, measured.front(), 1.0);
        double running = 0;
        for (std::size_t k = 0; k < measured.size(); ++k) {
            CHECK_THAT(r.inl_terminal_lsb[k], WithinAbs(running, 1e-9));
            if (k < r.dnl_lsb.size()) running += r.dnl_lsb[k];
        }
        CHECK_THAT(std::accumulate(r.dnl_lsb.begin(), r.dnl_lsb.end(), 0.0), WithinAbs(0.0, 1e-9));
    }
}

TEST_CASE("nonlinear INL/DNL reduce to threshold errors over LSB and relative code widths", "[characterize]")
{
    const LevelSet set = linear_3bit();
    const Linearity r = nonlinear_linearity(set, kMeasured);
    check_all(r.inl_lsb, {0.1, 0.0, -0.1, 0.3, 0.0, 0.0, -0.2}, 1e-12);
    check_all(r.dnl, {-0.1, -0.1, 0.4, -0.3, 0.0, -0.2}, 1e-12);
    CHECK_THAT(r.max_abs_inl_lsb, WithinAbs(0.3, 1e-12));
    CHECK_THAT(r.max_abs_dnl, WithinAbs(0.4, 1e-12));
    CHECK(r.code_errors == 0);
    CHECK(r.missing_codes.empty());
    CHECK(is_linear_levelset(set));

    SECTION("a swapped pair of thresholds is a missing code")
    {
        const Linearity m = nonlinear_linearity(set, {1.0, 2.0, 3.5, 3.4, 5.0, 6.0, 7.0});
        REQUIRE(m.missing_codes == std::vector<int>{3});
        CHECK(m.dnl[2] == -1.0);
        CHECK(m.code_errors == 1);  // T[4] = 3.4 is 0.6 LSB off
        const IeeeLinearity ieee = ieee_linearity({1.0, 2.0, 3.5, 3.4, 5.0, 6.0, 7.0}, 1.0, 1.0);
        CHECK(ieee.missing_codes == std::vector<int>{3});
    }
    SECTION("a code narrower than 0.1 LSB is narrow, not missing; a code designed that narrow is neither")
    {
        const Linearity m = nonlinear_linearity(set, {1.0, 2.0, 3.0, 3.05, 5.0, 6.0, 7.0});
        CHECK(m.missing_codes.empty());
        CHECK(m.narrow_codes == std::vector<int>{3});
        CHECK(nonlinear_linearity(set, {1.0, 2.0, 3.0, 3.11, 5.0, 6.0, 7.0}).narrow_codes.empty());
        LevelSet dense = set;
        dense.thresholds[3] = 3.05;  // the target itself: code 3 is 0.05 LSB wide by design
        CHECK(nonlinear_linearity(dense, dense.thresholds).narrow_codes.empty());
    }
    SECTION("an unreachable threshold counts as a full-range error")
    {
        std::vector<double> t = kMeasured;
        t.back() = std::numeric_limits<double>::infinity();
        const Linearity u = nonlinear_linearity(set, t);
        CHECK(u.inl_lsb.back() == 8.0);
        CHECK(u.code_errors == 1);
        CHECK_THROWS(ieee_linearity(t, 1.0, 1.0));
    }
    SECTION("a nonlinear level set is not linear")
    {
        LevelSet bent = set;
        bent.thresholds[3] += 0.01;
        CHECK_FALSE(is_linear_levelset(bent));
    }
}

TEST_CASE("code-density and bisection transition levels agree within 0.02 LSB", "[characterize]")
{
    // A linear 4-bit set and the default 4-bit BS-KMQ design, with every default nonideality.
    LevelSet linear;
    linear.bits = 4;
    linear.lo = 0;
    linear.hi = 6;
    for (int k = 0; k < 16; ++k) linear.levels.push_back((k + 0.5) * 6.0 / 16);
    linear.thresholds = midpoint_thresholds(linear.levels);
    linear.method = "linear";
    for (const ReplicaDesign& design : {map_levels(linear, Technology{}, {}), default_design()}) {
        CharacterizeOptions options;
        options.ramp_points = 1000000;
        const Characterization c = characterize(design, design.tech, "test", options);
        INFO(design.levels.method);
        CHECK(c.max_density_vs_bisection_lsb <= 0.02);
        REQUIRE(c.code_density.size() == design.levels.thresholds.size());
        // The histogram holds every ramp point.
        CHECK(std::accumulate(c.histogram.begin(), c.histogram.end(), 0) == 1000000);
        CHECK(c.ieee.has_value() == (design.levels.method == "linear"));
        if (c.ieee) {
            // On the characterized ADC, too, terminal INL is the running sum of DNL.
            double running = 0;
            for (std::size_t k = 0; k < c.ieee->inl_terminal_lsb.size(); ++k) {
                CHECK_THAT(c.ieee->inl_terminal_lsb[k], WithinAbs(running, 1e-9));
                if (k < c.ieee->dnl_lsb.size()) running += c.ieee->dnl_lsb[k];
            }
        }
        CHECK(c.mean_energy_J > 0);
        CHECK(c.mean_latency_s > 0);
    }
}
