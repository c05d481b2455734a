#pragma once
// Private to src/crossbar: the kernels of the row_blocks factorization (equations at the
// top of include/nladc/crossbar/crossbar.hpp), written once for a lane type V: double
// (one network) or Double4 (four networks side by side, a GCC vector extension: SSE2
// pairs in the default build, one AVX register in row_blocks_avx2.cpp).
//
// Each lane does exactly the scalar arithmetic of V = double, in the same order, and no
// build contracts a multiply-add into an FMA (the default build targets x86-64 without
// FMA; the AVX2 one is compiled with -mno-fma -ffp-contract=off): batched, single and
// AVX2 results are bit-identical.
//
// This header is compiled into two translation units with different instruction sets,
// so everything in it has internal linkage (an anonymous namespace) and touches raw
// arrays only: an inline function shared by both (an Eigen or std::vector member) could
// be kept by the linker in its AVX2 copy and run on a CPU without AVX2.

#include <cstddef>

namespace nladc::row_blocks {

/// The network's structure as the kernels need it (C columns, all arrays owned by the
/// caller): the row-wire block without its cells (C x C, row-major), the column-wire
/// coupling g per column (0 on a pinned column), flags per column, the wire conductance.
struct Structure {
    long rows = 0;
    const double* wire = nullptr;
    const double* coupling = nullptr;
    const unsigned char* pinned = nullptr;
    const unsigned char* floating = nullptr;
    double wire_conductance_S = 0.0;
};

namespace {

// Its alignment is 32 bytes with AVX but 16 without: arrays handed to the AVX2 kernels
// must be allocated 32-byte aligned (AlignedAllocator in crossbar.cpp).
using Double4 = double __attribute__((vector_size(32)));
// Double4 values are passed between inline functions of one translation unit only: the
// calling convention GCC warns about (AVX registers or memory) never crosses it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

template <class V>
struct Lanes;
template <>
struct Lanes<double> {
    static constexpr int count = 1;
    [[gnu::always_inline]] static double inverse_sqrt(double x) { return 1.0 / __builtin_sqrt(x); }
    [[gnu::always_inline]] static bool positive(double x) { return x > 0.0; }
    [[gnu::always_inline]] static double load(const double* const* lanes, std::size_t index) { return lanes[0][index]; }
    [[gnu::always_inline]] static void store(double* const* lanes, std::size_t index, double x) { lanes[0][index] = x; }
    [[gnu::always_inline]] static double broadcast(double x) { return x; }
};
template <>
struct Lanes<Double4> {
    static constexpr int count = 4;
    [[gnu::always_inline]] static Double4 inverse_sqrt(Double4 x)
    {
        return Double4{1.0, 1.0, 1.0, 1.0} /
               Double4{__builtin_sqrt(x[0]), __builtin_sqrt(x[1]), __builtin_sqrt(x[2]), __builtin_sqrt(x[3])};
    }
    [[gnu::always_inline]] static bool positive(Double4 x) { return x[0] > 0.0 && x[1] > 0.0 && x[2] > 0.0 && x[3] > 0.0; }
    [[gnu::always_inline]] static Double4 load(const double* const* lanes, std::size_t index)
    {
        return Double4{lanes[0][index], lanes[1][index], lanes[2][index], lanes[3][index]};
    }
    [[gnu::always_inline]] static void store(double* const* lanes, std::size_t index, Double4 x)
    {
        for (int l = 0; l < 4; ++l) lanes[l][index] = x[l];
    }
    [[gnu::always_inline]] static Double4 broadcast(double x) { return Double4{x, x, x, x}; }
};

/// Cholesky factor L (lower triangle, row-major N x N) of the SPD matrix `a`, in place;
/// the diagonal holds 1 / L_jj (the solves multiply). False when a pivot (of any lane)
/// is not positive: not positive definite.
template <int N, class V>
[[gnu::always_inline]] inline bool cholesky_in_place(V* a)
{
    bool positive = true;
    for (int j = 0; j < N; ++j) {
        V pivot = a[j * N + j];
        for (int k = 0; k < j; ++k) pivot -= a[j * N + k] * a[j * N + k];
        positive = positive && Lanes<V>::positive(pivot);
        const V inverse = Lanes<V>::inverse_sqrt(pivot);
        a[j * N + j] = inverse;
        for (int i = j + 1; i < N; ++i) {
            V sum = a[i * N + j];
            for (int k = 0; k < j; ++k) sum -= a[i * N + k] * a[j * N + k];
            a[i * N + j] = sum * inverse;
        }
    }
    return positive;
}

/// Solves L L^T x = b in place (x holds b on entry) with cholesky_in_place's factor.
template <int N, class V>
[[gnu::always_inline]] inline void cholesky_solve(const V* f, V* x)
{
    for (int i = 0; i < N; ++i) {
        for (int k = 0; k < i; ++k) x[i] -= f[i * N + k] * x[k];
        x[i] *= f[i * N + i];
    }
    for (int i = N - 1; i >= 0; --i) {
        for (int k = i + 1; k < N; ++k) x[i] -= f[k * N + i] * x[k];
        x[i] *= f[i * N + i];
    }
}

/// Y = L^-1 diag(d) for the factor f; Y is lower triangular (forward substitution of
/// column c from row c).
template <int N, class V>
[[gnu::always_inline]] inline void triangular_diagonal_solve(const V* f, const V* d, V* y)
{
    for (int c = 0; c < N; ++c) {
        y[c * N + c] = d[c] * f[c * N + c];
        for (int r = c + 1; r < N; ++r) {
            V sum = Lanes<V>::broadcast(0.0);
            for (int m = c; m < r; ++m) sum -= f[r * N + m] * y[m * N + c];
            y[r * N + c] = sum * f[r * N + r];
        }
    }
}

/// s -= Y^T Y on the lower triangle, Y lower triangular.
template <int N, class V>
[[gnu::always_inline]] inline void subtract_gram(const V* y, V* s)
{
    for (int a = 0; a < N; ++a)
        for (int b = 0; b <= a; ++b) {
            V sum = Lanes<V>::broadcast(0.0);
            for (int m = a; m < N; ++m) sum += y[m * N + a] * y[m * N + b];
            s[a * N + b] -= sum;
        }
}

/// The row_blocks factors of the nodal matrices whose cell conductances are `cells`
/// (per row i, column j: cells[i C + j], one network per lane; 0 where there is no cell
/// or the column is pinned): per row the Cholesky factors of K_vv,i (into
/// cholesky_vv[i C^2 ..]) and of S_i (into cholesky[i C^2 ..]), with D_i W_i D_i = Y^T Y
/// for Y = L_vv^-1 D_i and g^2 P S_(i-1)^-1 P = X^T X for X = L_(i-1)^-1 g P
/// (triangular solves, no inverses). Returns -1, or 2 i (K_vv,i) or 2 i + 1 (S_i) for
/// the first block that is not positive definite.
template <int C, class V>
long factorize(const Structure& s, const V* cells, V* cholesky_vv, V* cholesky)
{
    constexpr long block = C * C;
    V coupling[C];
    for (int j = 0; j < C; ++j) coupling[j] = Lanes<V>::broadcast(s.coupling[j]);
    for (long i = 0; i < s.rows; ++i) {
        const V* cell = cells + i * C;
        V* k = cholesky_vv + i * block;
        V* f = cholesky + i * block;
        for (int e = 0; e < C * C; ++e) k[e] = Lanes<V>::broadcast(s.wire[e]);
        for (int j = 0; j < C; ++j) k[j * C + j] += cell[j];
        if (!cholesky_in_place<C>(k)) return 2 * i;
        // S_i = K_uu,i - Y^T Y - X^T X (lower triangle).
        V y[C * C];
        triangular_diagonal_solve<C>(k, cell, y);
        for (int e = 0; e < C * C; ++e) f[e] = Lanes<V>::broadcast(0.0);
        subtract_gram<C>(y, f);
        if (i > 0) {
            V x[C * C];
            triangular_diagonal_solve<C>(f - block, coupling, x);
            subtract_gram<C>(x, f);
        }
        for (int j = 0; j < C; ++j) {
            // The wire segments to the rows above and below (or the sense node).
            const int wires = (i > 0 ? 1 : 0) + (i + 1 < s.rows || !s.floating[j] ? 1 : 0);
            // A pinned node: u = V_sense.
            f[j * C + j] += s.pinned[j] ? Lanes<V>::broadcast(1.0) : cell[j] + wires * s.wire_conductance_S;
        }
        if (!cholesky_in_place<C>(f)) return 2 * i + 1;
    }
    return -1;
}

/// x_l = A_l^-1 b_l with the factors of factorize, one network per lane (unknowns in
/// row order: row i's row nodes, then its column nodes, at [2 C i, 2 C (i + 1)); b[l]
/// and x[l] of 2 C rows entries each). `work` holds 2 C rows values.
template <int C, class V>
void solve(const Structure& s, const V* cells, const V* cholesky_vv, const V* cholesky, const double* const* b,
           double* const* x, V* work)
{
    constexpr long block = C * C;
    V coupling[C];
    for (int j = 0; j < C; ++j) coupling[j] = Lanes<V>::broadcast(s.coupling[j]);
    // Forward: per row, W b_v (row-node slots) and z_i (column-node slots).
    for (long i = 0; i < s.rows; ++i) {
        const V* cell = cells + i * C;
        V* wb = work + 2 * C * i;
        V* z = wb + C;
        for (int a = 0; a < 2 * C; ++a) wb[a] = Lanes<V>::load(b, static_cast<std::size_t>(2 * C * i + a));
        cholesky_solve<C>(cholesky_vv + i * block, wb);
        for (int a = 0; a < C; ++a) z[a] += cell[a] * wb[a];
        if (i > 0) {  // + g P S_(i-1)^-1 z_(i-1)
            V previous[C];
            for (int a = 0; a < C; ++a) previous[a] = z[a - 2 * C];
            cholesky_solve<C>(cholesky + (i - 1) * block, previous);
            for (int a = 0; a < C; ++a) z[a] += coupling[a] * previous[a];
        }
    }
    // Back: u_i = S_i^-1 (z_i + g P u_(i+1)), v_i = W b_v + W D u_i.
    for (long i = s.rows - 1; i >= 0; --i) {
        V* v = work + 2 * C * i;
        V* u = v + C;
        if (i + 1 < s.rows)
            for (int a = 0; a < C; ++a) u[a] += coupling[a] * u[a + 2 * C];
        cholesky_solve<C>(cholesky + i * block, u);
        const V* cell = cells + i * C;
        V du[C];
        for (int a = 0; a < C; ++a) du[a] = cell[a] * u[a];
        cholesky_solve<C>(cholesky_vv + i * block, du);
        for (int a = 0; a < C; ++a) v[a] += du[a];
    }
    for (long e = 0; e < 2 * C * s.rows; ++e) Lanes<V>::store(x, static_cast<std::size_t>(e), work[e]);
}

/// factorize and solve for a run-time column count 1 .. 8.
template <class V>
long factorize_any(int C, const Structure& s, const V* cells, V* cholesky_vv, V* cholesky)
{
    switch (C) {
    case 1: return factorize<1>(s, cells, cholesky_vv, cholesky);
    case 2: return factorize<2>(s, cells, cholesky_vv, cholesky);
    case 3: return factorize<3>(s, cells, cholesky_vv, cholesky);
    case 4: return factorize<4>(s, cells, cholesky_vv, cholesky);
    case 5: return factorize<5>(s, cells, cholesky_vv, cholesky);
    case 6: return factorize<6>(s, cells, cholesky_vv, cholesky);
    case 7: return factorize<7>(s, cells, cholesky_vv, cholesky);
    default: return factorize<8>(s, cells, cholesky_vv, cholesky);  // the caller checks C <= 8
    }
}
template <class V>
void solve_any(int C, const Structure& s, const V* cells, const V* cholesky_vv, const V* cholesky,
               const double* const* b, double* const* x, V* work)
{
    switch (C) {
    case 1: return solve<1>(s, cells, cholesky_vv, cholesky, b, x, work);
    case 2: return solve<2>(s, cells, cholesky_vv, cholesky, b, x, work);
    case 3: return solve<3>(s, cells, cholesky_vv, cholesky, b, x, work);
    case 4: return solve<4>(s, cells, cholesky_vv, cholesky, b, x, work);
    case 5: return solve<5>(s, cells, cholesky_vv, cholesky, b, x, work);
    case 6: return solve<6>(s, cells, cholesky_vv, cholesky, b, x, work);
    case 7: return solve<7>(s, cells, cholesky_vv, cholesky, b, x, work);
    default: return solve<8>(s, cells, cholesky_vv, cholesky, b, x, work);
    }
}

#pragma GCC diagnostic pop

}  // namespace

/// The Double4 kernels compiled for AVX2 (row_blocks_avx2.cpp): call only when the CPU
/// has AVX2 (cpu_has_avx2, nladc/core/cpu.hpp). Arrays as for factorize and solve, as raw
/// doubles (4 per Double4, 32-byte aligned).
long factorize4_avx2(int C, const Structure& s, const double* cells, double* cholesky_vv, double* cholesky);
void solve4_avx2(int C, const Structure& s, const double* cells, const double* cholesky_vv, const double* cholesky,
                 const double* const* b, double* const* x, double* work);

}  // namespace nladc::row_blocks
