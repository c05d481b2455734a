// Replica-column mapping: exact thresholds, cell windows, unit grid, fit, errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/mapping/mapping.hpp"

using namespace nladc;

namespace {
LevelSet example_levels(int bits)
{
    // A nonlinear set: levels growing quadratically over [0, 6].
    LevelSet set;
    set.bits = bits;
    set.lo = 0;
    set.hi = 6;
    const int n = 1 << bits;
    for (int k = 0; k < n; ++k) set.levels.push_back(6.0 * (k / double(n - 1)) * (k / double(n - 1)));
    set.thresholds = midpoint_thresholds(set.levels);
    set.method = "test";
    return set;
}
}  // namespace

TEST_CASE("automatic mapping realizes every threshold with cells inside the window", "[mapping]")
{
    const int bits = GENERATE(3, 4, 5);
    const LevelSet set = example_levels(bits);
    Technology tech;
    tech.array.rows = 1024;  // the quadratic 5-bit set has a tiny first step: many cells
    const ReplicaDesign d = map_levels(set, tech, {});
    REQUIRE(d.realized_thresholds.size() == set.thresholds.size());
    for (std::size_t k = 0; k < set.thresholds.size(); ++k) {
        CHECK(d.realized_thresholds[k] == Approx(set.thresholds[k]).epsilon(1e-12));
        CHECK(std::abs(d.threshold_error_lsb[k]) < 1e-9);
    }
    double smallest = INFINITY;
    for (const ReplicaCell& c : d.cells) {
        if (c.role != "step") continue;
        CHECK(c.target_S >= tech.device.g_min_S * (1 - 1e-12));
        CHECK(c.target_S <= tech.device.g_max_S * (1 + 1e-12));
        smallest = std::min(smallest, c.target_S);
    }
    CHECK(smallest == Approx(tech.device.g_min_S));  // the smallest step maps to g_min
    // Cells of one step are enabled together and sum to the step.
    for (int k = 1; k <= static_cast<int>(set.thresholds.size()); ++k) {
        const double step = set.thresholds[k - 1] - (k > 1 ? set.thresholds[k - 2] : 0.0);
        CHECK(d.scale_per_S * (d.cumulative_target_S(k) - d.cumulative_target_S(k - 1)) ==
              Approx(step).epsilon(1e-12));
    }
    // Calibration spares and load cells are never enabled; rows are unique.
    std::vector<int> rows;
    for (const ReplicaCell& c : d.cells) {
        if (c.role != "step") CHECK(c.step == -1);
        rows.push_back(c.row);
    }
    std::sort(rows.begin(), rows.end());
    CHECK(std::adjacent_find(rows.begin(), rows.end()) == rows.end());
    CHECK(d.tech.sense.capacitance_F > 0);
}

TEST_CASE("unit grid rounds cumulative counts (error <= half a cell)", "[mapping]")
{
    const LevelSet set = example_levels(4);
    Technology tech;
    MappingOptions options;
    options.unit_grid = true;
    options.rows = 64;
    const ReplicaDesign d = map_levels(set, tech, options);
    const double half_cell = 0.5 * d.scale_per_S * tech.device.g_min_S;
    for (std::size_t k = 0; k < set.thresholds.size(); ++k)
        CHECK(std::abs(d.realized_thresholds[k] - set.thresholds[k]) <= half_cell * (1 + 1e-9));
    for (const ReplicaCell& c : d.cells)
        if (c.role == "step") CHECK(c.target_S == tech.device.g_min_S);
    CHECK(d.step_cells() <= 64 - 5);
}

TEST_CASE("mapping reports what it cannot realize", "[mapping]")
{
    Technology tech;
    MappingOptions tight;
    tight.rows = 10;
    CHECK_THROWS_WITH(map_levels(example_levels(4), tech, tight),
                      Catch::Contains("needs") && Catch::Contains("but the column has 10 rows"));
    LevelSet negative = example_levels(2);
    negative.lo = -1;
    negative.levels[0] = -1;
    negative.thresholds[0] = -0.5;
    CHECK_THROWS_WITH(map_levels(negative, tech, {}), Catch::Contains("thresholds[0] = -0.5 is negative"));
    // A given scale that makes a step smaller than g_min: realized at g_min, error reported.
    MappingOptions given;
    given.scale_per_S = 1e5;  // 0.1 activation units per uS
    const ReplicaDesign d = map_levels(example_levels(4), tech, given);
    double worst = 0;
    for (double e : d.threshold_error_lsb) worst = std::max(worst, std::abs(e));
    CHECK(worst > 0.01);
    bool noted = false;
    for (const auto& n : d.notes) noted = noted || n.find("below g_min") != std::string::npos;
    CHECK(noted);
}
