#pragma once
// Threshold lookup over large arrays: the code (or the output level) of every value, with
// the comparator convention of quant/levelset.hpp, code(x) = #{k : thresholds[k] < x}.
// This is the hot path of an NL-ADC layer in a network (python/, nladc.torch): it runs
// over whole tensors, multi-threaded, and gives exactly the codes LevelSet::code gives
// (float32 inputs are compared against their thresholds without rounding error).

#include <cstddef>
#include <cstdint>
#include <span>

namespace nladc {

/// What one lookup call reads and writes. `values` and the output have `count` elements.
struct LookupTable {
    std::span<const double> thresholds;  ///< ascending, K = L - 1 entries
    std::span<const double> levels;      ///< L output levels (may be empty for codes only)
};

/// Codes of float32 / float64 values into `codes`. Returns the index of the first NaN
/// value (and then leaves the output unspecified), or -1. `threads` 0 = all cores; the
/// result does not depend on it.
std::int64_t lookup_codes(std::span<const float> values, const LookupTable& table, std::span<std::int32_t> codes,
                          int threads = 0);
std::int64_t lookup_codes(std::span<const double> values, const LookupTable& table, std::span<std::int32_t> codes,
                          int threads = 0);

/// Output levels levels[code(x)] of every value, in the values' precision (float32 output
/// holds the levels rounded to float32).
std::int64_t lookup_levels(std::span<const float> values, const LookupTable& table, std::span<float> out,
                           int threads = 0);
std::int64_t lookup_levels(std::span<const double> values, const LookupTable& table, std::span<double> out,
                           int threads = 0);

/// The largest float32 not above t: for a float32 x, x > t exactly when x > float_floor(t).
float float_floor(double t);

}  // namespace nladc
