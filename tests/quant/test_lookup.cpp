// Threshold lookup over arrays (quant/lookup.hpp) against LevelSet::code, element by element.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "nladc/core/random.hpp"
#include "nladc/quant/levelset.hpp"
#include "nladc/quant/lookup.hpp"

using namespace nladc;

TEST_CASE("lookup gives LevelSet's codes and levels, float32 exactly, any thread count", "[quant]")
{
    RandomStream random(7, 0);
    for (const int thresholds : {1, 15, 63, 200}) {  // counting kernel, and the binary search above 64
        LevelSet set;
        for (int k = 0; k <= thresholds; ++k) set.levels.push_back(k + 0.25 * random.uniform());
        set.thresholds = midpoint_thresholds(set.levels);
        const LookupTable table{set.thresholds, set.levels};
        std::vector<double> values(150'001);
        for (auto& v : values) v = (thresholds + 2) * random.uniform() - 1;
        for (int k = 0; k < thresholds; ++k) values[static_cast<std::size_t>(k)] = set.thresholds[static_cast<std::size_t>(k)];
        std::vector<float> narrow(values.begin(), values.end());
        for (int k = 0; k < thresholds; ++k) {  // float32 values right at the rounded thresholds
            narrow[static_cast<std::size_t>(k)] = float_floor(set.thresholds[static_cast<std::size_t>(k)]);
            narrow[static_cast<std::size_t>(k + thresholds)] =
                std::nextafter(narrow[static_cast<std::size_t>(k)], std::numeric_limits<float>::infinity());
        }
        for (const int threads : {1, 2, 3}) {
            std::vector<std::int32_t> codes(values.size());
            std::vector<double> out(values.size());
            std::vector<float> out32(values.size());
            REQUIRE(lookup_codes(values, table, codes, threads) == -1);
            REQUIRE(lookup_levels(values, table, out, threads) == -1);
            REQUIRE(lookup_levels(narrow, table, out32, threads) == -1);
            for (std::size_t i = 0; i < values.size(); ++i) {
                REQUIRE(codes[i] == set.code(values[i]));
                REQUIRE(out[i] == set.quantize(values[i]));
                REQUIRE(out32[i] == static_cast<float>(set.quantize(static_cast<double>(narrow[i]))));
            }
        }
    }
}

TEST_CASE("lookup reports the first NaN and refuses bad tables", "[quant]")
{
    const std::vector<double> thresholds{0.5, 1.5}, levels{0, 1, 2}, two_levels{0, 1}, unsorted{1.5, 0.5};
    std::vector<float> values(300'000, 1.0f);
    values[200'001] = std::numeric_limits<float>::quiet_NaN();
    values[250'000] = std::numeric_limits<float>::quiet_NaN();
    std::vector<std::int32_t> codes(values.size());
    CHECK(lookup_codes(values, {thresholds, levels}, codes, 2) == 200'001);
    std::vector<float> out(values.size());
    CHECK_THROWS_WITH(lookup_levels(values, {thresholds, two_levels}, out), Catch::Contains("2 levels for 2 thresholds"));
    CHECK_THROWS_WITH(lookup_codes(values, {unsorted, levels}, codes),
                      Catch::Contains("thresholds[1] = 0.5 is below"));
    std::vector<std::int32_t> short_codes(10);
    CHECK_THROWS_WITH(lookup_codes(values, {thresholds, levels}, short_codes), Catch::Contains("room for 10"));
    CHECK(float_floor(0.1) <= 0.1f);
    CHECK(static_cast<double>(float_floor(0.1)) <= 0.1);
    CHECK(static_cast<double>(std::nextafter(float_floor(0.1), 1.0f)) > 0.1);
}
