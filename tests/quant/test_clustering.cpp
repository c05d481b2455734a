// Exact k-means DP against brute force, and Lloyd iteration against known optima.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "nladc/core/random.hpp"
#include "nladc/quant/clustering.hpp"

using namespace nladc;

namespace {

double sse_of_groups(const std::vector<double>& sorted, const std::vector<std::size_t>& ends)
{
    double total = 0;
    std::size_t begin = 0;
    for (std::size_t end : ends) {
        double mean = 0;
        for (std::size_t i = begin; i < end; ++i) mean += sorted[i];
        mean /= static_cast<double>(end - begin);
        for (std::size_t i = begin; i < end; ++i) total += (sorted[i] - mean) * (sorted[i] - mean);
        begin = end;
    }
    return total;
}

// Every assignment of n points to k labels (k^n), no contiguity assumed.
double brute_force_any_assignment(const std::vector<double>& x, int k)
{
    const std::size_t n = x.size();
    std::vector<int> label(n, 0);
    double best = std::numeric_limits<double>::infinity();
    while (true) {
        std::vector<double> sum(static_cast<std::size_t>(k), 0), count(static_cast<std::size_t>(k), 0);
        for (std::size_t i = 0; i < n; ++i) {
            sum[static_cast<std::size_t>(label[i])] += x[i];
            count[static_cast<std::size_t>(label[i])] += 1;
        }
        bool all_used = true;
        for (double c : count) all_used = all_used && c > 0;
        if (all_used) {
            double total = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const auto c = static_cast<std::size_t>(label[i]);
                const double d = x[i] - sum[c] / count[c];
                total += d * d;
            }
            best = std::min(best, total);
        }
        std::size_t i = 0;
        while (i < n && ++label[i] == k) label[i++] = 0;
        if (i == n) break;
    }
    return best;
}

// Every split of sorted points into k contiguous groups (C(n-1, k-1)).
double brute_force_contiguous(const std::vector<double>& sorted, std::size_t k)
{
    const std::size_t n = sorted.size();
    std::vector<std::size_t> cut(k - 1);
    std::iota(cut.begin(), cut.end(), 1);
    double best = std::numeric_limits<double>::infinity();
    while (true) {
        std::vector<std::size_t> ends(cut.begin(), cut.end());
        ends.push_back(n);
        best = std::min(best, sse_of_groups(sorted, ends));
        // next combination of k-1 cut positions in [1, n-1]
        std::ptrdiff_t i = static_cast<std::ptrdiff_t>(k) - 2;
        while (i >= 0 && cut[static_cast<std::size_t>(i)] == n - (k - 1) + static_cast<std::size_t>(i)) --i;
        if (i < 0) break;
        ++cut[static_cast<std::size_t>(i)];
        for (std::size_t j = static_cast<std::size_t>(i) + 1; j < k - 1; ++j) cut[j] = cut[j - 1] + 1;
    }
    return best;
}

std::vector<double> random_points(std::size_t n, std::uint64_t seed)
{
    RandomStream random(seed, 0);
    std::vector<double> x;
    for (std::size_t i = 0; i < n; ++i) x.push_back(std::round(random.uniform() * 1000.0) / 100.0);
    return x;
}

}  // namespace

TEST_CASE("exact k-means DP equals brute force over all assignments (n <= 9, k <= 3)", "[quant][dp]")
{
    const int k = GENERATE(1, 2, 3);
    const std::uint64_t seed = GENERATE(1, 2, 3, 4, 5);
    const std::vector<double> x = random_points(9, seed);
    const SampleSummary summary = summarize_exact(std::span<const double>(x), 0.0, 10.0);
    if (static_cast<std::size_t>(k) > summary.size()) return;
    const Partition partition = optimal_partition(summary, static_cast<std::size_t>(k));
    CHECK(partition.sse == Approx(brute_force_any_assignment(x, k)).epsilon(1e-12).margin(1e-12));
}

TEST_CASE("exact k-means DP equals brute force over contiguous splits (n = 12)", "[quant][dp]")
{
    const std::size_t k = GENERATE(2, 3, 4, 5, 6, 8);
    const std::uint64_t seed = GENERATE(11, 12, 13);
    std::vector<double> x = random_points(12, seed);
    std::sort(x.begin(), x.end());
    x.erase(std::unique(x.begin(), x.end()), x.end());  // distinct values: atoms == points
    const SampleSummary summary = summarize_exact(std::span<const double>(x), 0.0, 10.0);
    if (k > summary.size()) return;
    const Partition partition = optimal_partition(summary, k);
    const double reference = brute_force_contiguous(x, k);
    CHECK(partition.sse == Approx(reference).epsilon(1e-12).margin(1e-12));
    // The reported partition really has that cost.
    CHECK(sse_of_groups(x, partition.ends) == Approx(reference).epsilon(1e-12).margin(1e-12));
}

TEST_CASE("duplicate values are weighted atoms", "[quant][dp]")
{
    const std::vector<double> x = {0, 0, 0, 0, 1, 2, 2, 5, 5, 5, 9};
    const SampleSummary summary = summarize_exact(std::span<const double>(x), 0.0, 9.0);
    REQUIRE(summary.size() == 5);
    CHECK(summary.total_weight() == 11);
    const Partition partition = optimal_partition(summary, 3);
    CHECK(partition.sse == Approx(brute_force_any_assignment(x, 3)).epsilon(1e-12));
}

TEST_CASE("optimal_partition refuses more clusters than atoms", "[quant][dp]")
{
    const std::vector<double> x = {1, 2, 3};
    const SampleSummary summary = summarize_exact(std::span<const double>(x), 0.0, 4.0);
    CHECK_THROWS_WITH(optimal_partition(summary, 4), Catch::Contains("3 distinct values into 4 clusters"));
}

TEST_CASE("Lloyd iteration reaches the uniform quantizer on uniform data", "[quant][lloyd]")
{
    // For a uniform density the Lloyd-Max optimum is the uniform quantizer with
    // levels at cell centres: (k + 0.5) / L.
    std::vector<double> x;
    for (int i = 0; i < 100000; ++i) x.push_back((i + 0.5) / 100000.0);
    const SampleSummary summary = summarize_exact(std::span<const double>(x), 0.0, 1.0);
    std::vector<double> start = {0.0, 0.05, 0.1, 0.9, 0.95, 1.0, 0.5, 0.3};
    std::sort(start.begin(), start.end());
    const LloydResult result = lloyd_refine(summary, start, LloydStop{});
    CHECK(result.converged);
    for (std::size_t k = 0; k < 8; ++k) CHECK(result.levels[k] == Approx((k + 0.5) / 8.0).margin(2e-4));
}

TEST_CASE("k-means++ seeding is reproducible and seed-dependent", "[quant][lloyd]")
{
    const std::vector<double> x = random_points(500, 7);
    const SampleSummary summary = summarize_exact(std::span<const double>(x), 0.0, 10.0);
    const auto a = kmeans_plus_plus(summary, 8, 42), b = kmeans_plus_plus(summary, 8, 42),
               c = kmeans_plus_plus(summary, 8, 43);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(std::is_sorted(a.begin(), a.end()));
    CHECK(std::adjacent_find(a.begin(), a.end()) == a.end());
}
