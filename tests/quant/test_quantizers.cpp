// Each quantizer against its definition (BRIEF §3), on small exact data.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"
#include "nladc/quant/clustering.hpp"
#include "nladc/quant/metrics.hpp"
#include "nladc/quant/quantizer.hpp"

using namespace nladc;

namespace {

std::vector<double> relu_clamp_samples(std::size_t n, std::uint64_t seed)
{
    RandomStream random(seed, 0);
    std::vector<double> x;
    for (std::size_t i = 0; i < n; ++i) {
        const double u = random.uniform();
        if (u < 0.4) x.push_back(0.0);
        else if (u < 0.45) x.push_back(6.0);
        else x.push_back(std::min(5.999, std::abs(2.0 * random.normal())));
    }
    return x;
}

LevelSet fit(const std::vector<double>& x, const std::string& method, const std::string& variant, int bits,
             double lo = 0.0, double hi = 6.0)
{
    QuantizerOptions options;
    options.bits = bits;
    options.method = method;
    options.variant = variant;
    return fit_levels(summarize_exact(std::span<const double>(x), lo, hi), options);
}

}  // namespace

TEST_CASE("linear mid-tread has both ends as levels and midpoint thresholds", "[quant]")
{
    const auto x = relu_clamp_samples(2000, 1);
    const LevelSet set = fit(x, "linear", "midtread", 3);
    REQUIRE(set.levels.size() == 8);
    for (std::size_t k = 0; k < 8; ++k) CHECK(set.levels[k] == Approx(6.0 * static_cast<double>(k) / 7.0));
    CHECK(set.levels.front() == 0.0);
    CHECK(set.levels.back() == 6.0);
    for (std::size_t k = 0; k < 7; ++k) CHECK(set.thresholds[k] == Approx(6.0 * (k + 0.5) / 7.0));
    CHECK(set.lsb() == Approx(0.75));
}

TEST_CASE("linear floor variant reproduces code = floor((x - lo) / D)", "[quant]")
{
    const auto x = relu_clamp_samples(5000, 2);
    const int bits = GENERATE(2, 4, 6);
    const LevelSet set = fit(x, "linear", "floor", bits);
    const double step = 6.0 / std::pow(2.0, bits);
    RandomStream random(9, 0);
    for (int i = 0; i < 2000; ++i) {
        const double v = random.uniform() * 6.0;
        const int expected = std::min(static_cast<int>(std::floor(v / step)), (1 << bits) - 1);
        if (std::abs(v / step - std::round(v / step)) < 1e-9) continue;  // on an edge
        CHECK(set.code(v) == expected);
        CHECK(set.quantize(v) == Approx(expected * step));
    }
}

TEST_CASE("CDF on a point mass writes coinciding thresholds and lists the empty codes", "[quant]")
{
    const auto x = relu_clamp_samples(20000, 3);
    const LevelSet set = fit(x, "cdf", "", 4);
    // 40 % zeros: quantiles 1/16 .. 6/16 are all 0, so thresholds[0..5] coincide.
    for (int k = 0; k < 6; ++k) CHECK(set.thresholds[static_cast<std::size_t>(k)] == 0.0);
    CHECK(set.thresholds[6] > 0.0);
    CHECK(set.empty_codes == std::vector<int>{1, 2, 3, 4, 5});
    const auto metrics = score(set, std::span<const double>(x));
    for (int code : set.empty_codes) CHECK(metrics.occupancy[static_cast<std::size_t>(code)] == 0);
    CHECK(metrics.occupancy[0] > 7000);  // the zeros take the lower code on a tie
    // Non-empty cells hold close to 1/16 of the samples each (the point mass aside).
    for (std::size_t k = 7; k < 15; ++k)
        CHECK(static_cast<double>(metrics.occupancy[k]) == Approx(20000.0 / 16).epsilon(0.05));
}

TEST_CASE("Lloyd-Max converged reaches a fixed point; capped stops at its cap", "[quant]")
{
    const auto x = relu_clamp_samples(20000, 4);
    const LevelSet converged = fit(x, "lloyd-max", "converged", 4);
    CHECK(converged.parameter("converged", 0) == 1.0);
    // Fixed point: each level is the mean of its cell.
    const auto summary = summarize_exact(std::span<const double>(x), 0.0, 6.0);
    for (std::size_t k = 0; k < 16; ++k) {
        double sum = 0, count = 0;
        for (double v : x)
            if (converged.code(v) == static_cast<int>(k)) {
                sum += v;
                ++count;
            }
        if (count > 0) CHECK(converged.levels[k] == Approx(sum / count).epsilon(1e-6));
    }
    const LevelSet capped = fit(x, "lloyd-max", "capped", 4);
    CHECK(capped.parameter("iterations", 0) == 100);
    CHECK(score(capped, std::span<const double>(x)).mse >= score(converged, std::span<const double>(x)).mse * (1 - 1e-9));
}

TEST_CASE("BS-KMQ drop-pin pins the pile-ups and clusters the interior", "[quant]")
{
    const auto x = relu_clamp_samples(20000, 5);
    const LevelSet set = fit(x, "bs-kmq", "drop-pin", 3);
    CHECK(set.levels.front() == 0.0);
    CHECK(set.levels.back() == 6.0);
    CHECK(set.parameter("pinned", 0) == 2);
    // The six interior levels are the exact 6-means of the interior samples.
    std::vector<double> interior;
    for (double v : x)
        if (v > 0 && v < 6) interior.push_back(v);
    const auto interior_summary = summarize_exact(std::span<const double>(interior), 0.0, 6.0);
    const auto means = group_means(interior_summary, optimal_partition(interior_summary, 6));
    for (std::size_t k = 0; k < 6; ++k) CHECK(set.levels[k + 1] == Approx(means[k]).epsilon(1e-12));
}

TEST_CASE("BS-KMQ weight: alpha = 1 is plain k-means", "[quant]")
{
    const auto x = relu_clamp_samples(5000, 6);
    QuantizerOptions options;
    options.bits = 3;
    options.method = "bs-kmq";
    options.variant = "weight";
    options.bskmq_alpha = 1.0;
    const auto summary = summarize_exact(std::span<const double>(x), 0.0, 6.0);
    const LevelSet weighted = fit_levels(summary, options);
    options.method = "kmeans";
    options.variant = "exact";
    const LevelSet kmeans = fit_levels(summary, options);
    for (std::size_t k = 0; k < 8; ++k) CHECK(weighted.levels[k] == Approx(kmeans.levels[k]).epsilon(1e-12));
}

TEST_CASE("BS-KMQ cap lowers the boundary weight to the neighbourhood's", "[quant]")
{
    const auto x = relu_clamp_samples(20000, 7);
    const LevelSet capped = fit(x, "bs-kmq", "cap", 4);
    const LevelSet plain = fit(x, "kmeans", "exact", 4);
    // With the 40 % pile-up capped, fewer levels crowd near zero than in plain k-means.
    const auto near_zero = [](const LevelSet& s) {
        return std::count_if(s.levels.begin(), s.levels.end(), [](double v) { return v < 0.5; });
    };
    CHECK(near_zero(capped) <= near_zero(plain));
    CHECK(capped.parameter("cap_window_lsb", 0) == 1.0);
}

TEST_CASE("every method and variant yields a valid level set at 1..8 bits", "[quant]")
{
    const auto x = relu_clamp_samples(3000, 8);
    const auto summary = summarize_exact(std::span<const double>(x), 0.0, 6.0);
    const int bits = GENERATE(1, 2, 5, 8);
    for (const auto& quantizer : quantizers()) {
        for (auto variant : quantizer->variants()) {
            QuantizerOptions options;
            options.bits = bits;
            options.method = std::string(quantizer->method());
            options.variant = std::string(variant);
            INFO(options.method << "/" << options.variant << " at " << bits << " bits");
            const LevelSet set = fit_levels(summary, options);
            CHECK(find_levelset_violation(set).first.empty());
            CHECK(set.levels.size() == (std::size_t{1} << bits));
        }
    }
}

TEST_CASE("unknown methods and variants are usage errors naming the choices", "[quant]")
{
    const std::vector<double> x = {0, 1, 2, 3};
    const auto summary = summarize_exact(std::span<const double>(x), 0.0, 3.0);
    QuantizerOptions options;
    options.method = "kmedians";
    CHECK_THROWS_AS(fit_levels(summary, options), UsageError);
    CHECK_THROWS_WITH(fit_levels(summary, options), Catch::Contains("bs-kmq"));
    options.method = "bs-kmq";
    options.variant = "drop";
    CHECK_THROWS_WITH(fit_levels(summary, options), Catch::Contains("drop-pin"));
}

TEST_CASE("level-set validation names the first violation", "[quant]")
{
    LevelSet set;
    set.bits = 2;
    set.lo = 0;
    set.hi = 3;
    set.levels = {0, 1, 2, 3};
    set.thresholds = {0.5, 1.5, 2.5};
    CHECK(find_levelset_violation(set).first.empty());
    set.levels = {0, 2, 1, 3};
    CHECK(find_levelset_violation(set).first == "levels[2]");
    set.levels = {0, 1, 2, 3};
    set.thresholds = {0.5, 2.5, 1.5};
    CHECK_FALSE(find_levelset_violation(set).first.empty());
    set.thresholds = {0.5, 0.5, 2.5};
    CHECK(find_levelset_violation(set).first == "thresholds[1]");  // coinciding but not listed
    set.levels = {0, 0.5, 0.5, 3};
    set.empty_codes = {1};
    CHECK(find_levelset_violation(set).first.empty());
    set.levels = {0, 1, 2, NAN};
    CHECK(find_levelset_violation(set).first == "levels[3]");
}

TEST_CASE("the shared scorer matches a hand computation", "[quant]")
{
    LevelSet set;
    set.bits = 1;
    set.lo = 0;
    set.hi = 2;
    set.levels = {0.5, 1.5};
    set.thresholds = {1.0};
    const std::vector<double> x = {0.0, 1.0, 1.25, 2.0};
    // codes: 0 -> 0, 1.0 -> 0 (tie goes low), 1.25 -> 1, 2 -> 1
    const auto m = score(set, std::span<const double>(x));
    CHECK(m.mse == Approx((0.25 + 0.25 + 0.0625 + 0.25) / 4));
    CHECK(m.mse_interior == Approx((0.25 + 0.0625) / 2));
    CHECK(m.interior_samples == 2);
    CHECK(m.mean_square == Approx((0 + 1 + 1.5625 + 4) / 4));
    CHECK(m.sqnr_db == Approx(10 * std::log10(m.mean_square / m.mse)));
    CHECK(m.max_abs_error == Approx(0.5));
    CHECK(m.occupancy == std::vector<std::uint64_t>{2, 2});
}
