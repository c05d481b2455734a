#pragma once
// A level set: the reconstruction levels and decision thresholds of an N-bit ADC.
//
// Code convention (the comparator's, BRIEF §2): code(x) = #{k : thresholds[k] < x},
// so an input exactly on a threshold takes the lower code. Code k reconstructs to
// levels[k]. The range [lo, hi] is the input range the levels serve; it defines
// LSB = (hi - lo) / 2^bits everywhere in nladc (BRIEF §4).

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nladc {

/// Number of entries of the ascending array t[0..n) that are < x (branch-free
/// binary search; the code of x for thresholds t).
inline std::size_t count_below(const double* t, std::size_t n, double x)
{
    if (n == 0) return 0;
    std::size_t first = 0, length = n;
    while (length > 1) {
        const std::size_t half = length / 2;
        first += (t[first + half - 1] < x) ? half : 0;
        length -= half;
    }
    return first + (t[first] < x ? 1 : 0);
}

struct LevelSet {
    int bits = 0;
    double lo = 0.0, hi = 0.0;       ///< input range, in the data's units
    std::vector<double> levels;      ///< 2^bits reconstruction values, non-decreasing
    std::vector<double> thresholds;  ///< 2^bits - 1 decision thresholds, non-decreasing
    std::string method;              ///< "linear", "lloyd-max", "cdf", "kmeans", "bs-kmq"
    std::string variant;             ///< method variant, e.g. "drop-pin"
    /// Method knobs actually used (iterations run, alpha, bins, ...), name -> value.
    std::vector<std::pair<std::string, double>> parameters;
    /// Codes whose cell is degenerate (coinciding thresholds): no input maps to them.
    std::vector<int> empty_codes;

    std::size_t size() const { return levels.size(); }
    double lsb() const { return (hi - lo) / static_cast<double>(levels.size()); }
    /// Output code of input x (see the convention above).
    int code(double x) const
    {
        return static_cast<int>(count_below(thresholds.data(), thresholds.size(), x));
    }
    double quantize(double x) const { return levels[static_cast<std::size_t>(code(x))]; }
    /// Value of a named parameter; `fallback` when absent.
    double parameter(const std::string& name, double fallback) const;
};

/// Midpoints of consecutive levels (nearest-neighbour thresholds).
std::vector<double> midpoint_thresholds(const std::vector<double>& levels);

/// Codes whose cell [thresholds[k-1], thresholds[k]] has zero width.
std::vector<int> degenerate_codes(const std::vector<double>& thresholds);

/// Checks the invariants of a level set and throws Error with `what` naming the
/// first violation ("levels[3] = 1.2 is not above levels[2] = 1.5"):
/// bits in [1, 16]; sizes 2^bits and 2^bits - 1; lo < hi; every value finite;
/// thresholds non-decreasing; levels[k] <= thresholds[k] <= levels[k+1]; levels
/// strictly ascending except where a code is listed in empty_codes, and a code is
/// listed there only if its cell is degenerate. Returns the place and reason of
/// the first violation, or an empty pair when valid.
std::pair<std::string, std::string> find_levelset_violation(const LevelSet& set);

}  // namespace nladc
