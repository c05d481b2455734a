#pragma once
// Minimal timing harness for the benchmarks: median of repeated runs, so that
// ratios against a baseline measured in the same run are stable.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "nladc/quant/levelset.hpp"

namespace nladc::bench {

/// Median wall time of `repeats` calls of `work`, in seconds.
template <class Work>
double median_seconds(int repeats, Work&& work)
{
    std::vector<double> times;
    for (int i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        work();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

/// The benchmarks' 4-bit level set on [0, 6]: levels 6 (k/15)^1.3, midpoint thresholds
/// (denser at the bottom, like a ReLU layer's).
inline LevelSet example_levels()
{
    LevelSet set;
    set.bits = 4;
    set.lo = 0;
    set.hi = 6;
    for (int k = 0; k < 16; ++k) set.levels.push_back(6.0 * std::pow(k / 15.0, 1.3));
    set.thresholds = midpoint_thresholds(set.levels);
    return set;
}

/// Keeps a value alive so the optimizer cannot drop the work that made it.
template <class T>
void keep(const T& value)
{
    asm volatile("" : : "g"(&value) : "memory");
}

}  // namespace nladc::bench
