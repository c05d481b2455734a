#include "nladc/quant/clustering.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"

namespace nladc {

namespace {

/// One layer of the DP by divide and conquer over the monotone split point.
class LayerSolver {
public:
    LayerSolver(const SampleSummary& summary, const std::vector<double>& previous, std::vector<double>& current,
                std::uint32_t* split, const std::uint32_t* previous_split)
        : summary_(summary), previous_(previous), current_(current), split_(split), previous_split_(previous_split)
    {
    }

    // Fills current[j] for j in [j_lo, j_hi] with candidate splits i in [i_lo, i_hi].
    void solve(std::size_t j_lo, std::size_t j_hi, std::size_t i_lo, std::size_t i_hi)
    {
        while (j_lo <= j_hi) {
            const std::size_t mid = j_lo + (j_hi - j_lo) / 2;
            // Knuth's bound: with one group more, the last group starts no earlier.
            const std::size_t first = previous_split_ ? std::max<std::size_t>(i_lo, previous_split_[mid]) : i_lo;
            const std::size_t last = std::min(i_hi, mid - 1);
            double best = std::numeric_limits<double>::infinity();
            std::size_t best_i = first;
            for (std::size_t i = first; i <= last; ++i) {
                const double cost = previous_[i] + summary_.sse(i, mid);
                if (cost < best) {
                    best = cost;
                    best_i = i;
                }
            }
            current_[mid] = best;
            split_[mid] = static_cast<std::uint32_t>(best_i);
            if (mid > j_lo) solve(j_lo, mid - 1, i_lo, best_i);
            // Tail-iterate on the right half.
            j_lo = mid + 1;
            i_lo = best_i;
        }
    }

private:
    const SampleSummary& summary_;
    const std::vector<double>& previous_;
    std::vector<double>& current_;
    std::uint32_t* split_;
    const std::uint32_t* previous_split_;  ///< split points of the previous layer, or null
};

}  // namespace

Partition optimal_partition(const SampleSummary& summary, std::size_t clusters)
{
    const std::size_t n = summary.size();
    if (clusters == 0 || clusters > n)
        throw Error(fmt::format("cannot split {} distinct values into {} clusters", n, clusters));
    if (clusters * n > kMaxDpCells)
        throw Error(fmt::format("exact k-means over {} atoms into {} clusters exceeds the DP table budget", n,
                                clusters));

    const double infinity = std::numeric_limits<double>::infinity();
    std::vector<double> previous(n + 1, infinity), current(n + 1, infinity);
    for (std::size_t j = 1; j <= n; ++j) previous[j] = summary.sse(0, j);
    // split[(m - 1) * (n + 1) + j]: start of the last group when j atoms form m groups.
    std::vector<std::uint32_t> split(clusters * (n + 1), 0);
    for (std::size_t m = 2; m <= clusters; ++m) {
        std::fill(current.begin(), current.end(), infinity);
        const std::uint32_t* previous_split = m > 2 ? split.data() + (m - 2) * (n + 1) : nullptr;
        LayerSolver layer(summary, previous, current, split.data() + (m - 1) * (n + 1), previous_split);
        layer.solve(m, n, m - 1, n - 1);
        std::swap(previous, current);
    }

    Partition partition;
    partition.sse = previous[n];
    partition.ends.assign(clusters, 0);
    std::size_t end = n;
    for (std::size_t m = clusters; m >= 1; --m) {
        partition.ends[m - 1] = end;
        end = m > 1 ? split[(m - 1) * (n + 1) + end] : 0;
    }
    return partition;
}

std::vector<double> group_means(const SampleSummary& summary, const Partition& partition)
{
    std::vector<double> means;
    std::size_t begin = 0;
    for (std::size_t end : partition.ends) {
        means.push_back(summary.mean(begin, end));
        begin = end;
    }
    return means;
}

LloydResult lloyd_refine(const SampleSummary& summary, std::vector<double> levels, const LloydStop& stop)
{
    const std::size_t count = levels.size();
    const double variance = summary.sse(0, summary.size()) / summary.total_weight();
    LloydResult result;
    double previous_sse = std::numeric_limits<double>::infinity();
    std::vector<std::size_t> cell_start(count + 1);
    for (result.iterations = 0; result.iterations < stop.max_iterations;) {
        // Cells: atoms with value <= threshold k go to levels 0..k (lower code on a tie).
        cell_start[0] = 0;
        cell_start[count] = summary.size();
        for (std::size_t k = 0; k + 1 < count; ++k) {
            const double threshold = 0.5 * (levels[k] + levels[k + 1]);
            const std::size_t below = summary.count_below(threshold);
            // count_below counts values < t; an atom exactly at t also belongs below.
            std::size_t at_or_below = below;
            while (at_or_below < summary.size() && summary.value(at_or_below) == threshold) ++at_or_below;
            cell_start[k + 1] = std::max(at_or_below, cell_start[k]);
        }
        double sse = 0.0, shift = 0.0;
        for (std::size_t k = 0; k < count; ++k) {
            const std::size_t begin = cell_start[k], end = cell_start[k + 1];
            if (end <= begin) continue;  // empty cell keeps its level
            const double mean = summary.mean(begin, end);
            shift += (mean - levels[k]) * (mean - levels[k]);
            levels[k] = mean;
            sse += summary.sse(begin, end);
        }
        // An empty cell's kept level can be overtaken by a neighbour; keep the order.
        std::sort(levels.begin(), levels.end());
        ++result.iterations;
        result.sse = sse;
        const bool sse_settled = previous_sse - sse <= stop.relative_sse_tolerance * sse;
        const bool shift_settled = stop.shift_tolerance > 0 && shift <= stop.shift_tolerance * variance;
        previous_sse = sse;
        if (sse_settled || shift_settled || sse == 0.0) {
            result.converged = true;
            break;
        }
    }
    result.levels = std::move(levels);
    return result;
}

std::vector<double> kmeans_plus_plus(const SampleSummary& summary, std::size_t clusters, std::uint64_t seed)
{
    const std::size_t n = summary.size();
    if (clusters == 0 || clusters > n)
        throw Error(fmt::format("cannot seed {} clusters from {} distinct values", clusters, n));
    RandomStream random(seed, 0);
    std::vector<double> distance(n, std::numeric_limits<double>::infinity());
    std::vector<double> centers;
    auto pick = [&](const std::vector<double>& mass) {
        double total = 0.0;
        for (double m : mass) total += m;
        double target = random.uniform() * total;
        for (std::size_t i = 0; i < n; ++i) {
            target -= mass[i];
            if (target < 0 && mass[i] > 0) return i;
        }
        for (std::size_t i = n; i-- > 0;)  // rounding left target >= 0: last atom with mass
            if (mass[i] > 0) return i;
        return std::size_t{0};
    };
    std::vector<double> mass(n);
    for (std::size_t i = 0; i < n; ++i) mass[i] = summary.atoms()[i].weight;
    while (centers.size() < clusters) {
        const std::size_t chosen = pick(mass);
        const double center = summary.value(chosen);
        centers.push_back(center);
        for (std::size_t i = 0; i < n; ++i) {
            const double d = summary.value(i) - center;
            distance[i] = std::min(distance[i], d * d);
            mass[i] = summary.atoms()[i].weight * distance[i];
        }
    }
    std::sort(centers.begin(), centers.end());
    return centers;
}

}  // namespace nladc
