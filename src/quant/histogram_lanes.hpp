// The binning loop of HistogramBuilder::add (summary.cpp) across AVX2 lanes, in its own
// file compiled with -mavx2 -mno-fma -ffp-contract=off (CMakeLists.txt): each sample's
// clamp, boundary test and bin are the scalar path's operations in its order (the same
// values, bit for bit). Raw arrays only cross the boundary.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nladc::histogram_lanes {

/// The scalar loop's constants (HistogramBuilder, HistogramGrid).
struct Binning {
    double lo = 0, hi = 0, tolerance = 0;       ///< the clamp range and the boundary tolerance
    double range_min = 0, scale = 0, top = 0;   ///< HistogramGrid::bin_of
    std::uint32_t bins = 0;                     ///< boundary cells follow the bins
    std::uint32_t replicas = 0;                 ///< boundary cell replicas (a power of two)
};

/// For samples block[i], i < count rounded down to a multiple of 4 (returned; the caller
/// does the rest): value[i] = clamp(block[i], lo, hi) as a double and cell_of[i] = the
/// sample's bin, or for a sample within `tolerance` of lo or hi the boundary cell
/// bins + 2 ((first + i) mod replicas) + at_hi.
std::size_t cells_avx2(const float* block, std::size_t count, std::size_t first, const Binning& binning,
                       double* value, std::uint32_t* cell_of);

}  // namespace nladc::histogram_lanes
