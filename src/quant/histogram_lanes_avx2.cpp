// See histogram_lanes.hpp: four samples per iteration.
#include "histogram_lanes.hpp"

#include <immintrin.h>

namespace nladc::histogram_lanes {

std::size_t cells_avx2(const float* block, std::size_t count, std::size_t first, const Binning& b, double* value,
                       std::uint32_t* cell_of)
{
    const __m256d lo = _mm256_set1_pd(b.lo), hi = _mm256_set1_pd(b.hi), tolerance = _mm256_set1_pd(b.tolerance);
    const __m256d range_min = _mm256_set1_pd(b.range_min), scale = _mm256_set1_pd(b.scale),
                  top = _mm256_set1_pd(b.top), zero = _mm256_setzero_pd();
    const __m256d magnitude = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    // The low 32 bits of each 64-bit lane mask, packed into four 32-bit lanes.
    const __m256i pack = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    auto to32 = [&](__m256d mask) {
        return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(mask), pack));
    };
    const __m128i bins = _mm_set1_epi32(static_cast<int>(b.bins)), one = _mm_set1_epi32(1),
                  replica_mask = _mm_set1_epi32(static_cast<int>(b.replicas - 1));
    std::size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const __m256d raw = _mm256_cvtps_pd(_mm_loadu_ps(block + i));
        // std::clamp(raw, lo, hi): raw < lo ? lo : (hi < raw ? hi : raw); NaN passes through.
        __m256d x = _mm256_blendv_pd(raw, hi, _mm256_cmp_pd(hi, raw, _CMP_LT_OQ));
        x = _mm256_blendv_pd(x, lo, _mm256_cmp_pd(raw, lo, _CMP_LT_OQ));
        _mm256_storeu_pd(value + i, x);
        const __m256d at_lo = _mm256_cmp_pd(_mm256_and_pd(_mm256_sub_pd(x, lo), magnitude), tolerance, _CMP_LE_OQ);
        const __m256d at_hi = _mm256_cmp_pd(_mm256_and_pd(_mm256_sub_pd(x, hi), magnitude), tolerance, _CMP_LE_OQ);
        __m256d p = _mm256_mul_pd(_mm256_sub_pd(x, range_min), scale);
        p = _mm256_blendv_pd(p, zero, _mm256_cmp_pd(p, zero, _CMP_LT_OQ));
        p = _mm256_blendv_pd(p, top, _mm256_cmp_pd(p, top, _CMP_GT_OQ));
        const __m128i bin = _mm256_cvttpd_epi32(p);
        const __m128i index = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(first + i)), _mm_setr_epi32(0, 1, 2, 3));
        const __m128i replica = _mm_and_si128(index, replica_mask);
        const __m128i hi_bit = _mm_and_si128(to32(at_hi), one);
        const __m128i boundary = _mm_add_epi32(_mm_add_epi32(bins, _mm_add_epi32(replica, replica)), hi_bit);
        const __m128i take = _mm_or_si128(to32(at_lo), to32(at_hi));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(cell_of + i), _mm_blendv_epi8(bin, boundary, take));
    }
    return i;
}

}  // namespace nladc::histogram_lanes
