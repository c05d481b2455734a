// The static conversion path as plain numbers, shared by BehavioralAdc::convert_batch
// (behavioral.cpp) and its AVX2 kernel (convert_lanes_avx2.cpp, compiled with -mavx2
// -mno-fma -ffp-contract=off). Only raw arrays and doubles cross the boundary, so the
// kernel's file includes nothing that inline code of the default build also defines.
#pragma once

namespace nladc::adc_lanes {

/// Everything after the dot product of BehavioralAdc::convert, for a code that is the
/// count of ramp steps below the decision limit (Impl::counts_decisions). Each field is
/// the value the scalar path uses, computed by it, so the kernel repeats its arithmetic
/// operation by operation.
struct StaticTail {
    double levels = 0;           ///< input steps 2^bits - 1
    double scale = 0;            ///< V_read / levels: ampere per unit of the dot product
    double current_cap_A = 0;    ///< sense current limit (+inf: none)
    double response_V_per_A = 0; ///< the column's MAC output per ampere
    double column_offset_V = 0;  ///< the column's MAC output at zero current
    double swing_V = 0;          ///< output clamp (+inf: ideal sense)
    double gain = 0;             ///< 1 + calibration gain error
    double compression = 0;      ///< calibration MAC compression (1/V)
    double kick_V = 0, offset_V = 0, meta_V = 0;  ///< decision_limit(u) = u + kick - offset - meta
    const double* ramp = nullptr;  ///< the ramp at the compare instants
    long steps = 0;                ///< ramp size
    bool at_or_below = false;      ///< count r <= limit (metastability band) rather than r < limit
};

/// Codes of conversions x[0..3] (each `rows` inputs) on the column with differential
/// conductances d: the scalar path's quantization, its dot product in its order (four
/// partial sums over i mod 4, then (s0 + s1) + (s2 + s3)) and its tail. Call only on
/// CPUs with AVX2 (cpu_has_avx2, nladc/core/cpu.hpp).
void codes4_avx2(const double* const* x, long rows, const double* d, const StaticTail& tail, int* codes);

}  // namespace nladc::adc_lanes
