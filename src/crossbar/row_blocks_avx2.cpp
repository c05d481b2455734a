// The row_blocks kernels on four networks at once, compiled with -mavx2 -mno-fma
// -ffp-contract=off (CMakeLists.txt): one AVX register per Double4 instead of two SSE2
// halves, the same arithmetic in the same order (bit-identical results). Only raw arrays
// cross this file's boundary (see row_blocks.hpp).
#include "row_blocks.hpp"

namespace nladc::row_blocks {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

long factorize4_avx2(int C, const Structure& s, const double* cells, double* cholesky_vv, double* cholesky)
{
    return factorize_any(C, s, reinterpret_cast<const Double4*>(cells), reinterpret_cast<Double4*>(cholesky_vv),
                         reinterpret_cast<Double4*>(cholesky));
}

void solve4_avx2(int C, const Structure& s, const double* cells, const double* cholesky_vv, const double* cholesky,
                 const double* const* b, double* const* x, double* work)
{
    solve_any(C, s, reinterpret_cast<const Double4*>(cells), reinterpret_cast<const Double4*>(cholesky_vv),
              reinterpret_cast<const Double4*>(cholesky), b, x, reinterpret_cast<Double4*>(work));
}

#pragma GCC diagnostic pop

}  // namespace nladc::row_blocks
