// convert_batch's kernel for four conversions at once (see convert_lanes.hpp). Each
// conversion keeps the scalar path's four partial sums in the four lanes of one register
// (lane k sums the rows i = k mod 4), so its inputs load contiguously and four independent
// conversions hide the adder's latency; the tail (limits, calibration, the count over the
// ramp) then runs on the four conversions' sums in one register.
#include "convert_lanes.hpp"

#include <immintrin.h>

namespace nladc::adc_lanes {

void codes4_avx2(const double* const* x, long rows, const double* d, const StaticTail& tail, int* codes)
{
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0), levels = _mm256_set1_pd(tail.levels),
                  half = _mm256_set1_pd(0.5);
    // floor(v L + 0.5) equals the scalar path's int32 truncation for the clamped,
    // nonnegative v; max returns its second operand for a NaN input, which counts as 0.
    auto quantized = [&](__m256d v) {
        v = _mm256_min_pd(_mm256_max_pd(v, zero), one);
        return _mm256_floor_pd(_mm256_add_pd(_mm256_mul_pd(v, levels), half));
    };
    __m256d s0 = zero, s1 = zero, s2 = zero, s3 = zero;
    long i = 0;
    for (; i + 4 <= rows; i += 4) {
        const __m256d di = _mm256_loadu_pd(d + i);
        s0 = _mm256_add_pd(s0, _mm256_mul_pd(quantized(_mm256_loadu_pd(x[0] + i)), di));
        s1 = _mm256_add_pd(s1, _mm256_mul_pd(quantized(_mm256_loadu_pd(x[1] + i)), di));
        s2 = _mm256_add_pd(s2, _mm256_mul_pd(quantized(_mm256_loadu_pd(x[2] + i)), di));
        s3 = _mm256_add_pd(s3, _mm256_mul_pd(quantized(_mm256_loadu_pd(x[3] + i)), di));
    }
    if (i < rows) {
        // The last 1-3 rows go to lanes 0.. as in the scalar path; the other lanes keep
        // their sums untouched (a blend, not an added zero, so even a zero's sign holds).
        const long left = rows - i;
        const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
        const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(left), lane);
        const __m256d keep = _mm256_castsi256_pd(mask);
        const __m256d di = _mm256_maskload_pd(d + i, mask);
        auto add_rows = [&](__m256d s, const double* xc) {
            const __m256d sum = _mm256_add_pd(s, _mm256_mul_pd(quantized(_mm256_maskload_pd(xc + i, mask)), di));
            return _mm256_blendv_pd(s, sum, keep);
        };
        s0 = add_rows(s0, x[0]);
        s1 = add_rows(s1, x[1]);
        s2 = add_rows(s2, x[2]);
        s3 = add_rows(s3, x[3]);
    }
    // (p0 + p1) + (p2 + p3) per conversion, the four conversions in the four lanes.
    const __m256d pairs01 = _mm256_hadd_pd(s0, s1);  // [c0 p0+p1, c1 p0+p1, c0 p2+p3, c1 p2+p3]
    const __m256d pairs23 = _mm256_hadd_pd(s2, s3);
    const __m256d dot = _mm256_add_pd(_mm256_permute2f128_pd(pairs01, pairs23, 0x20),
                                      _mm256_permute2f128_pd(pairs01, pairs23, 0x31));

    // The scalar tail: current limit, MAC output, swing clamp, calibration, decision limit.
    const __m256d cap = _mm256_set1_pd(tail.current_cap_A), swing = _mm256_set1_pd(tail.swing_V);
    const __m256d neg_cap = _mm256_sub_pd(zero, cap), neg_swing = _mm256_sub_pd(zero, swing);
    __m256d current = _mm256_mul_pd(dot, _mm256_set1_pd(tail.scale));
    current = _mm256_min_pd(_mm256_max_pd(current, neg_cap), cap);
    __m256d u = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(tail.response_V_per_A), current),
                              _mm256_set1_pd(tail.column_offset_V));
    u = _mm256_min_pd(_mm256_max_pd(u, neg_swing), swing);
    u = _mm256_sub_pd(_mm256_mul_pd(u, _mm256_set1_pd(tail.gain)),
                      _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(tail.compression), u), u));
    const __m256d limit = _mm256_sub_pd(
        _mm256_sub_pd(_mm256_add_pd(u, _mm256_set1_pd(tail.kick_V)), _mm256_set1_pd(tail.offset_V)),
        _mm256_set1_pd(tail.meta_V));
    // The count over the ramp, in two partial counts (integers: exact in any order) so
    // that the additions do not wait on each other.
    auto below = [&](long k) {
        const __m256d r = _mm256_set1_pd(tail.ramp[k]);
        return _mm256_and_pd(tail.at_or_below ? _mm256_cmp_pd(r, limit, _CMP_LE_OQ) : _mm256_cmp_pd(r, limit, _CMP_LT_OQ),
                             one);
    };
    __m256d count0 = zero, count1 = zero;
    long k = 0;
    for (; k + 2 <= tail.steps; k += 2) {
        count0 = _mm256_add_pd(count0, below(k));
        count1 = _mm256_add_pd(count1, below(k + 1));
    }
    if (k < tail.steps) count0 = _mm256_add_pd(count0, below(k));
    const __m256d count = _mm256_add_pd(count0, count1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes), _mm256_cvttpd_epi32(count));
}

}  // namespace nladc::adc_lanes
