#pragma once
// 1-D clustering on a SampleSummary: the exact k-means dynamic program and
// Lloyd's iteration (which in 1-D is the Lloyd-Max iteration).
//
// Exact k-means (Wang & Song 2011): D[m][j] = min_{i<j} D[m-1][i] + SSE(i, j) over
// contiguous groups of atoms. SSE(i, j) obeys the quadrangle inequality, so the
// optimal split is monotone in j and in m: each layer is solved by divide and
// conquer in O(n log n), its candidate range also bounded below by the previous
// layer's split (Knuth). O(k n log n) in all, k*n split points kept for the
// backtrack. (SMAWK's O(k n) measured slower here at n <= 2^18: more overhead.)

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nladc/quant/summary.hpp"

namespace nladc {

/// Contiguous groups of atoms: group g holds atoms [ends[g-1], ends[g]), ends[-1] = 0.
struct Partition {
    std::vector<std::size_t> ends;
    double sse = 0.0;  ///< total squared error of the groups around their means
};

/// Largest clusters * atoms for which optimal_partition keeps its split table (128 MiB).
inline constexpr std::size_t kMaxDpCells = std::size_t{1} << 25;

/// Minimum-SSE partition of the atoms into `clusters` contiguous groups (exact over
/// the atoms). Requires 1 <= clusters <= summary.size() and clusters * size() <=
/// kMaxDpCells; throws Error otherwise.
Partition optimal_partition(const SampleSummary& summary, std::size_t clusters);

/// Mean of each group of a partition.
std::vector<double> group_means(const SampleSummary& summary, const Partition& partition);

struct LloydStop {
    int max_iterations = 1000000;
    /// Stop when the relative decrease of the SSE falls below this (BRIEF §3: 1e-9).
    double relative_sse_tolerance = 1e-9;
    /// Stop when the sum of squared level moves is <= this times the data variance
    /// (scikit-learn's rule); 0 disables it.
    double shift_tolerance = 0.0;
};

struct LloydResult {
    std::vector<double> levels;
    int iterations = 0;
    bool converged = false;
    double sse = 0.0;
};

/// Lloyd iteration from `levels` (ascending): nearest-level cells (an atom on a
/// midpoint goes to the lower level), then cell means; an empty cell keeps its level.
LloydResult lloyd_refine(const SampleSummary& summary, std::vector<double> levels, const LloydStop& stop);

/// k-means++ seeding (Arthur & Vassilvitskii 2007) on the atoms, weighted by their
/// weights; returns `clusters` distinct ascending atom values.
std::vector<double> kmeans_plus_plus(const SampleSummary& summary, std::size_t clusters, std::uint64_t seed);

}  // namespace nladc
