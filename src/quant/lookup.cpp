// Threshold lookup over large arrays (quant/lookup.hpp).
//
// Few thresholds (an ADC has L - 1 <= 63 of them up to 6 bits) are counted, not searched:
// for a block of values, code += (x > t_k) for every k. The loop over the block has no
// branch, so the compiler vectorizes it (AVX2 where the CPU has it: target_clones picks
// at load time). More thresholds use the branch-free binary search of LevelSet::code.
#include "nladc/quant/lookup.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "nladc/quant/levelset.hpp"

namespace nladc {

float float_floor(double t)
{
    constexpr double kMax = std::numeric_limits<float>::max();
    if (std::isnan(t)) return std::numeric_limits<float>::quiet_NaN();
    if (t >= kMax) return t == std::numeric_limits<double>::infinity() ? std::numeric_limits<float>::infinity()
                                                                      : std::numeric_limits<float>::max();
    if (t < -kMax) return -std::numeric_limits<float>::infinity();
    float f = static_cast<float>(t);
    if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
}

namespace {

constexpr std::size_t kBlock = 256;
constexpr std::size_t kLinearMax = 64;        // thresholds counted rather than searched
constexpr std::size_t kMinPerThread = 1 << 16;  // below this a thread costs more than it saves

/// One block: codes of values[0..n) against thresholds t[0..k) (already in the values'
/// precision).
template <class T>
inline __attribute__((always_inline)) void block_codes(const T* values, std::size_t n, const T* t, std::size_t k,
                                                       std::int32_t* codes)
{
    for (std::size_t j = 0; j < n; ++j) codes[j] = 0;
    for (std::size_t i = 0; i < k; ++i) {
        const T threshold = t[i];
        for (std::size_t j = 0; j < n; ++j) codes[j] += values[j] > threshold ? 1 : 0;
    }
}

/// One block of output levels: out = levels[code(x)] as a select chain (thresholds
/// ascending, so the last threshold below x picks the level): exact, and it vectorizes
/// into compare-and-blend without a gather.
template <class T>
inline __attribute__((always_inline)) void block_levels(const T* values, std::size_t n, const T* t, std::size_t k,
                                                        const T* levels, T* out)
{
    for (std::size_t j = 0; j < n; ++j) out[j] = levels[0];
    for (std::size_t i = 0; i < k; ++i) {
        const T threshold = t[i], level = levels[i + 1];
        for (std::size_t j = 0; j < n; ++j) out[j] = values[j] > threshold ? level : out[j];
    }
}

template <class T, class Out>
inline __attribute__((always_inline)) std::int64_t lookup_range(const T* values, std::size_t count, const T* t,
                                                                std::size_t k, const T* levels, Out* out)
{
    alignas(64) std::int32_t codes[kBlock];
    for (std::size_t begin = 0; begin < count; begin += kBlock) {
        const std::size_t n = std::min(kBlock, count - begin);
        const T* v = values + begin;
        Out* o = out + begin;
        bool nan = false;
        if (k <= kLinearMax) {
            if constexpr (std::is_same_v<Out, std::int32_t>) {
                block_codes(v, n, t, k, o);
            } else {
                block_levels(v, n, t, k, levels, o);
            }
            for (std::size_t j = 0; j < n; ++j) nan |= v[j] != v[j];
        } else {
            for (std::size_t j = 0; j < n; ++j) {
                nan |= v[j] != v[j];
                std::size_t first = 0, length = k;  // count_below on T
                while (length > 1) {
                    const std::size_t half = length / 2;
                    first += (t[first + half - 1] < v[j]) ? half : 0;
                    length -= half;
                }
                codes[j] = static_cast<std::int32_t>(first + (t[first] < v[j] ? 1 : 0));
            }
            if constexpr (std::is_same_v<Out, std::int32_t>)
                for (std::size_t j = 0; j < n; ++j) o[j] = codes[j];
            else
                for (std::size_t j = 0; j < n; ++j) o[j] = levels[codes[j]];
        }
        if (nan)
            for (std::size_t j = 0; j < n; ++j)
                if (v[j] != v[j]) return static_cast<std::int64_t>(begin + j);
    }
    return -1;
}

// The four instantiations, each compiled for AVX2 and for the baseline (GCC on x86-64;
// clang's sanitizer and fuzz builds take the baseline only).
#if defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NLADC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NLADC_CLONES
#endif
#define NLADC_LOOKUP_CLONE(NAME, T, OUT)                                                                      \
    NLADC_CLONES std::int64_t NAME(                                                                           \
        const T* values, std::size_t count, const T* t, std::size_t k, const T* levels, OUT* out)            \
    {                                                                                                        \
        return lookup_range(values, count, t, k, levels, out);                                               \
    }
NLADC_LOOKUP_CLONE(codes_float, float, std::int32_t)
NLADC_LOOKUP_CLONE(codes_double, double, std::int32_t)
NLADC_LOOKUP_CLONE(levels_float, float, float)
NLADC_LOOKUP_CLONE(levels_double, double, double)
#undef NLADC_LOOKUP_CLONE
#undef NLADC_CLONES

std::int64_t range_kernel(const float* v, std::size_t n, const float* t, std::size_t k, const float* l, std::int32_t* o)
{
    return codes_float(v, n, t, k, l, o);
}
std::int64_t range_kernel(const double* v, std::size_t n, const double* t, std::size_t k, const double* l,
                          std::int32_t* o)
{
    return codes_double(v, n, t, k, l, o);
}
std::int64_t range_kernel(const float* v, std::size_t n, const float* t, std::size_t k, const float* l, float* o)
{
    return levels_float(v, n, t, k, l, o);
}
std::int64_t range_kernel(const double* v, std::size_t n, const double* t, std::size_t k, const double* l, double* o)
{
    return levels_double(v, n, t, k, l, o);
}

/// Splits the values into contiguous chunks, one per thread; the first NaN over all chunks.
template <class T, class Out>
std::int64_t run_lookup(std::span<const T> values, const LookupTable& table, Out* out, int threads)
{
    // Thresholds in the values' precision: for float32 the largest float not above each
    // threshold, so x > t is decided exactly; levels rounded to the output precision.
    if (!table.levels.empty() && table.levels.size() != table.thresholds.size() + 1)
        throw Error(fmt::format("lookup: {} levels for {} thresholds (need one more level than thresholds)",
                                table.levels.size(), table.thresholds.size()));
    if constexpr (!std::is_same_v<Out, std::int32_t>)
        if (table.levels.empty()) throw Error("lookup: output levels requested without levels");
    for (std::size_t i = 1; i < table.thresholds.size(); ++i)
        if (!(table.thresholds[i - 1] <= table.thresholds[i]))
            throw Error(fmt::format("lookup: thresholds[{}] = {} is below thresholds[{}] = {}", i,
                                    table.thresholds[i], i - 1, table.thresholds[i - 1]));
    std::vector<T> t(table.thresholds.size()), levels(table.levels.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        if constexpr (std::is_same_v<T, float>)
            t[i] = float_floor(table.thresholds[i]);
        else
            t[i] = table.thresholds[i];
    }
    for (std::size_t i = 0; i < levels.size(); ++i) levels[i] = static_cast<T>(table.levels[i]);

    const std::size_t count = values.size();
    std::size_t workers = threads > 0 ? static_cast<std::size_t>(threads)
                                      : std::max(1u, std::thread::hardware_concurrency());
    workers = std::max<std::size_t>(1, std::min(workers, count / kMinPerThread));
    if (workers == 1) return range_kernel(values.data(), count, t.data(), t.size(), levels.data(), out);

    const std::size_t per = (count + workers - 1) / workers / kBlock * kBlock + kBlock;
    std::vector<std::int64_t> first_nan(workers, -1);
    std::vector<std::thread> pool;
    for (std::size_t w = 0; w < workers; ++w) {
        const std::size_t begin = std::min(count, w * per), end = std::min(count, begin + per);
        if (begin == end) break;
        pool.emplace_back([&, w, begin, end] {
            const std::int64_t nan =
                range_kernel(values.data() + begin, end - begin, t.data(), t.size(), levels.data(), out + begin);
            first_nan[w] = nan < 0 ? -1 : nan + static_cast<std::int64_t>(begin);
        });
    }
    for (auto& thread : pool) thread.join();
    for (const std::int64_t nan : first_nan)
        if (nan >= 0) return nan;
    return -1;
}

}  // namespace

namespace {
void check_sizes(std::size_t values, std::size_t out)
{
    if (values != out) throw Error(fmt::format("lookup: {} values but room for {} outputs", values, out));
}
}  // namespace

std::int64_t lookup_codes(std::span<const float> values, const LookupTable& table, std::span<std::int32_t> codes,
                          int threads)
{
    check_sizes(values.size(), codes.size());
    return run_lookup(values, table, codes.data(), threads);
}
std::int64_t lookup_codes(std::span<const double> values, const LookupTable& table, std::span<std::int32_t> codes,
                          int threads)
{
    check_sizes(values.size(), codes.size());
    return run_lookup(values, table, codes.data(), threads);
}
std::int64_t lookup_levels(std::span<const float> values, const LookupTable& table, std::span<float> out, int threads)
{
    check_sizes(values.size(), out.size());
    return run_lookup(values, table, out.data(), threads);
}
std::int64_t lookup_levels(std::span<const double> values, const LookupTable& table, std::span<double> out,
                           int threads)
{
    check_sizes(values.size(), out.size());
    return run_lookup(values, table, out.data(), threads);
}

}  // namespace nladc
