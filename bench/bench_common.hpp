#pragma once
// Minimal timing harness for the benchmarks: median of repeated runs, so that
// ratios against a baseline measured in the same run are stable.

#include <algorithm>
#include <chrono>
#include <vector>

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

/// Keeps a value alive so the optimizer cannot drop the work that made it.
template <class T>
void keep(const T& value)
{
    asm volatile("" : : "g"(&value) : "memory");
}

}  // namespace nladc::bench
