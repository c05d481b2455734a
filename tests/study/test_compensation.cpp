// Compensation of the mapping for the nominal circuit (study/compensation.hpp).
#include <catch2/catch.hpp>

#include <cmath>

#include "nladc/study/compensation.hpp"
#include "nladc/study/defaults.hpp"

using namespace nladc;

namespace {

double max_abs(const std::vector<double>& v)
{
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

}  // namespace

TEST_CASE("compensation puts the nominal model's thresholds on the targets", "[study][mapping]")
{
    const ReplicaDesign plain = default_design();
    const LevelSet& set = plain.levels;
    const CompensationResult r = compensate_mapping(set, Technology{}, {});
    // It was needed: IR drop and the integrators move the top threshold by more than 1 LSB.
    CHECK(max_abs(r.before_lsb) > 1.0);
    CHECK(r.stopped.empty());
    CHECK(r.iterations >= 1);
    CHECK(max_abs(r.after_lsb) <= 0.005);

    // Independently: a fresh model of the compensated design hits the targets.
    const ReplicaDesign& d = r.design;
    const std::vector<double> t =
        BehavioralAdc(d, d.tech, nominal_chip(d, d.tech)).transition_levels(set.lsb() * 1e-7);
    REQUIRE(t.size() == set.thresholds.size());
    for (std::size_t k = 0; k < t.size(); ++k) CHECK(std::abs(t[k] - set.thresholds[k]) / set.lsb() <= 0.005);
    // The uncompensated design misses them by what before_lsb says.
    const std::vector<double> t_plain =
        BehavioralAdc(plain, plain.tech, nominal_chip(plain, plain.tech)).transition_levels(set.lsb() * 1e-7);
    for (std::size_t k = 0; k < t.size(); ++k)
        CHECK(std::abs((t_plain[k] - set.thresholds[k]) / set.lsb() - r.before_lsb[k]) <= 1e-3);

    // The targets, the MAC scale and the sense sizing are those of the plain mapping.
    CHECK(d.levels.thresholds == set.thresholds);
    CHECK(d.levels.levels == set.levels);
    CHECK(d.scale_per_S == plain.scale_per_S);
    CHECK(d.tech.sense.capacitance_F == plain.tech.sense.capacitance_F);
    // threshold_error_lsb keeps its definition: the ideal circuit's realized vs the target.
    for (std::size_t k = 0; k < t.size(); ++k)
        CHECK(std::abs(d.threshold_error_lsb[k] - (d.realized_thresholds[k] - set.thresholds[k]) / set.lsb()) < 1e-9);
}

TEST_CASE("compensation against an ideal circuit changes nothing", "[study][mapping]")
{
    const LevelSet set = default_design().levels;
    CompensationOptions options;
    options.adc.ideal = Idealization::all();
    const CompensationResult r = compensate_mapping(set, Technology{}, {}, options);
    CHECK(r.iterations == 0);
    CHECK(max_abs(r.before_lsb) <= 0.005);
    CHECK(r.design.realized_thresholds == map_levels(set, Technology{}, {}).realized_thresholds);
}

TEST_CASE("compensation of a linear set whose low thresholds the circuit pulls below zero", "[study][mapping]")
{
    // A 3-bit linear set: the nominal circuit realizes every threshold about 1 LSB low, the
    // first one below zero. The ratio update would reorder the low steps; the offset
    // update must take over and converge (it used to stop with "no longer a valid level set").
    LevelSet set;
    set.bits = 3;
    set.lo = 0;
    set.hi = 6;
    for (int k = 0; k < 8; ++k) set.levels.push_back(6.0 * k / 7.0);
    set.thresholds = midpoint_thresholds(set.levels);
    set.method = "linear";
    const CompensationResult r = compensate_mapping(set, Technology{}, {});
    CHECK(max_abs(r.before_lsb) > 1.0);
    CHECK(r.stopped.empty());
    CHECK(max_abs(r.after_lsb) <= 0.01);
    const ReplicaDesign& d = r.design;
    const std::vector<double> t = BehavioralAdc(d, d.tech, nominal_chip(d, d.tech)).transition_levels(set.lsb() * 1e-7);
    for (std::size_t k = 0; k < t.size(); ++k) CHECK(std::abs(t[k] - set.thresholds[k]) / set.lsb() <= 0.01);
}
