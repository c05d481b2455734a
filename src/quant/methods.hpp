#pragma once
// Private to src/quant: the method factories and the pieces several methods share.

#include <memory>
#include <vector>

#include "nladc/quant/quantizer.hpp"

namespace nladc::detail {

std::unique_ptr<Quantizer> make_linear();
std::unique_ptr<Quantizer> make_lloyd_max();
std::unique_ptr<Quantizer> make_cdf();
std::unique_ptr<Quantizer> make_kmeans();
std::unique_ptr<Quantizer> make_bs_kmq();

/// Minimum-SSE levels for `clusters` groups of the summary's atoms: the exact DP
/// when its table fits kMaxDpCells, else (above ~8 bits) Lloyd iteration from
/// uniform levels; records "solver_exact_dp" (1/0) and "lloyd_iterations" in `set`.
/// With fewer atoms than clusters, every atom becomes a level and the rest are
/// filled into the widest gaps (those codes stay unused).
std::vector<double> kmeans_levels(const SampleSummary& summary, std::size_t clusters, LevelSet& set);

/// Inserts levels at the midpoints of the widest gaps of [lo, hi] until there are `count`.
std::vector<double> fill_levels(std::vector<double> levels, std::size_t count, double lo, double hi);

}  // namespace nladc::detail
