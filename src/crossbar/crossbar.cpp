#include "nladc/crossbar/crossbar.hpp"

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <new>
#include <string>
#include <utility>

#include "nladc/core/cpu.hpp"
#include "nladc/core/error.hpp"
#include "row_blocks.hpp"

// Double4 (row_blocks.hpp) values stay inside this library: the calling convention GCC
// warns about for them without AVX never crosses an ABI boundary.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace nladc {

namespace {

using SparseMatrix = Eigen::SparseMatrix<double>;
// The unknowns are numbered in a fill-reducing order already (Impl::order_nodes).
using Factor = Eigen::SimplicialLDLT<SparseMatrix, Eigen::Lower, Eigen::NaturalOrdering<int>>;

[[noreturn]] void fail(const std::string& detail) { throw Error("crossbar: " + detail); }

void check_conductances(const Eigen::MatrixXd& conductance_S)
{
    for (Eigen::Index j = 0; j < conductance_S.cols(); ++j)
        for (Eigen::Index i = 0; i < conductance_S.rows(); ++i) {
            const double g = conductance_S(i, j);
            if (!std::isfinite(g)) fail(fmt::format("conductance_S({}, {}) = {} is not finite", i, j, g));
            if (g < 0.0) fail(fmt::format("conductance_S({}, {}) = {} is negative", i, j, g));
        }
}

void check_alpha(double alpha)
{
    if (!std::isfinite(alpha) || alpha < 0.0)
        fail(fmt::format("iv_alpha_per_V = {} is not a finite value >= 0", alpha));
}

void check_voltages(const Eigen::VectorXd& v, const char* name, Eigen::Index expected, const char* what)
{
    if (v.size() != expected)
        fail(fmt::format("{} has {} entries, the network has {} {}", name, v.size(), expected, what));
    for (Eigen::Index k = 0; k < v.size(); ++k)
        if (!std::isfinite(v(k))) fail(fmt::format("{}({}) = {} is not finite", name, k, v(k)));
}

/// Voltage at which the currents of an ideal floating column cancel:
/// sum_i f(G_i, drive_i - u) = 0. `fallback` when the column has no nonzero cell.
double floating_column_voltage(const Eigen::MatrixXd& G, Eigen::Index j, const Eigen::VectorXd& drive_V,
                               double alpha, double fallback)
{
    double total_G = 0.0, weighted = 0.0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (Eigen::Index i = 0; i < G.rows(); ++i) {
        if (G(i, j) <= 0.0) continue;
        total_G += G(i, j);
        weighted += G(i, j) * drive_V(i);
        lo = std::min(lo, drive_V(i));
        hi = std::max(hi, drive_V(i));
    }
    if (total_G == 0.0) return fallback;
    if (alpha == 0.0 || lo == hi) return std::clamp(weighted / total_G, lo, hi);
    // The net current leaving the column's cells into it is decreasing in u and
    // changes sign on [lo, hi]: bisect to the last representable interval.
    auto net = [&](double u) {
        double sum = 0.0;
        for (Eigen::Index i = 0; i < G.rows(); ++i) sum += cell_current_A(G(i, j), drive_V(i) - u, alpha);
        return sum;
    };
    for (int step = 0; step < 200; ++step) {
        const double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        (net(mid) > 0.0 ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

}  // namespace

double cell_current_A(double G_S, double V_V, double iv_alpha_per_V)
{
    if (iv_alpha_per_V == 0.0) return G_S * V_V;
    return G_S * std::sinh(iv_alpha_per_V * V_V) / iv_alpha_per_V;
}

double cell_secant_conductance_S(double G_S, double V_V, double iv_alpha_per_V)
{
    const double x = iv_alpha_per_V * V_V;
    if (x == 0.0) return G_S;
    return G_S * (std::sinh(x) / x);
}

void validate_crossbar_network(const CrossbarNetwork& network)
{
    const auto& G = network.conductance_S;
    if (G.rows() == 0 || G.cols() == 0)
        fail(fmt::format("conductance_S is {} x {}; a crossbar needs at least one row and one column", G.rows(),
                         G.cols()));
    check_conductances(G);
    if (!std::isfinite(network.wire_resistance_ohm) || network.wire_resistance_ohm < 0.0)
        fail(fmt::format("wire_resistance_ohm = {} is not a finite value >= 0", network.wire_resistance_ohm));
    check_alpha(network.iv_alpha_per_V);
    if (!network.row_segments.empty()) {
        if (static_cast<Eigen::Index>(network.row_segments.size()) != G.cols())
            fail(fmt::format("row_segments has {} entries for {} columns", network.row_segments.size(), G.cols()));
        for (std::size_t j = 0; j < network.row_segments.size(); ++j) {
            const double segments = network.row_segments[j];
            if (!(segments >= 1.0) || !std::isfinite(segments))
                fail(fmt::format("row_segments[{}] = {} is not >= 1", j, segments));
            if (network.lumped_cell_conductance_S > 0 && (segments != std::floor(segments) || segments > 1e6))
                fail(fmt::format("row_segments[{}] = {} is not a whole number of columns (lumped cells need one)", j,
                                 segments));
        }
    }
    if (!std::isfinite(network.lumped_cell_conductance_S) || network.lumped_cell_conductance_S < 0.0)
        fail(fmt::format("lumped_cell_conductance_S = {} is not a finite value >= 0", network.lumped_cell_conductance_S));
    if (network.trailing_lumped_columns < 0 || network.trailing_lumped_columns > 1000000)
        fail(fmt::format("trailing_lumped_columns = {} is not in [0, 1e6]", network.trailing_lumped_columns));
    if (!network.column_floating.empty() && static_cast<Eigen::Index>(network.column_floating.size()) != G.cols())
        fail(fmt::format("column_floating has {} entries, conductance_S has {} columns",
                         network.column_floating.size(), G.cols()));
}

Eigen::VectorXd ideal_column_currents(const Eigen::MatrixXd& conductance_S, const Eigen::VectorXd& drive_V,
                                      const Eigen::VectorXd& sense_V, double iv_alpha_per_V)
{
    check_conductances(conductance_S);
    check_alpha(iv_alpha_per_V);
    check_voltages(drive_V, "drive_V", conductance_S.rows(), "rows");
    check_voltages(sense_V, "sense_V", conductance_S.cols(), "columns");
    Eigen::VectorXd current_A(conductance_S.cols());
    if (iv_alpha_per_V == 0.0) {
        // Ohmic: I = G^T V_drive - (column sums of G) .* V_sense.
        current_A.noalias() = conductance_S.transpose() * drive_V;
        current_A -= (conductance_S.colwise().sum().transpose().array() * sense_V.array()).matrix();
    } else {
        for (Eigen::Index j = 0; j < conductance_S.cols(); ++j) {
            double sum = 0.0;
            for (Eigen::Index i = 0; i < conductance_S.rows(); ++i)
                sum += cell_current_A(conductance_S(i, j), drive_V(i) - sense_V(j), iv_alpha_per_V);
            current_A(j) = sum;
        }
    }
    for (Eigen::Index j = 0; j < current_A.size(); ++j)
        if (!std::isfinite(current_A(j)))
            fail(fmt::format("column {} current is not finite (iv_alpha_per_V = {}: the sinh overflows)", j,
                             iv_alpha_per_V));
    return current_A;
}

namespace {

/// ABCD (chain) parameters of a row-wire ladder: [A B; C D] maps the far end's
/// (voltage, current out) to the near end's.
struct Chain {
    double a = 1, b = 0, c = 0, d = 1;
    Chain then(const Chain& next) const
    {
        return {a * next.a + b * next.c, a * next.b + b * next.d, c * next.a + d * next.c, c * next.b + d * next.d};
    }
};

Chain ladder_chain(int segments, double wire_ohm, double cell_S, bool open_end)
{
    const Chain wire{1, wire_ohm, 0, 1}, cell{1, 0, cell_S, 1};
    Chain chain;
    for (int k = 0; k < segments; ++k) {
        chain = chain.then(wire);
        if (k + 1 < segments || open_end) chain = chain.then(cell);
    }
    return chain;
}

}  // namespace

LadderTwoPort ladder_two_port(int segments, double wire_ohm, double cell_S)
{
    if (segments < 1 || !(wire_ohm > 0) || !std::isfinite(wire_ohm) || !(cell_S >= 0) || !std::isfinite(cell_S))
        fail(fmt::format("ladder_two_port: segments = {}, wire_ohm = {}, cell_S = {} (need >= 1, > 0, >= 0)", segments,
                         wire_ohm, cell_S));
    const Chain chain = ladder_chain(segments, wire_ohm, cell_S, false);
    return {1.0 / chain.b, (chain.d - 1.0) / chain.b, (chain.a - 1.0) / chain.b};
}

double ladder_tail_S(int columns, double wire_ohm, double cell_S)
{
    if (columns < 0 || !(wire_ohm > 0) || !std::isfinite(wire_ohm) || !(cell_S >= 0) || !std::isfinite(cell_S))
        fail(fmt::format("ladder_tail_S: columns = {}, wire_ohm = {}, cell_S = {} (need >= 0, > 0, >= 0)", columns,
                         wire_ohm, cell_S));
    if (columns == 0) return 0.0;
    const Chain chain = ladder_chain(columns, wire_ohm, cell_S, true);
    return chain.c / chain.a;
}

// ---------------------------------------------------------------------------------

namespace {

/// Largest column count of the row_blocks factorization (its blocks are C x C).
constexpr Eigen::Index max_row_block = 8;

/// Allocates on 32-byte boundaries: the AVX2 kernels load Double4 arrays aligned.
template <class T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t alignment{32};
    AlignedAllocator() = default;
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept
    {
    }
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, alignment); }
    bool operator==(const AlignedAllocator&) const { return true; }
};
template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

/// A Double4 array as the AVX2 kernels take it: its doubles, four per element.
const double* as_doubles(const row_blocks::Double4* p) { return reinterpret_cast<const double*>(p); }
double* as_doubles(row_blocks::Double4* p) { return reinterpret_cast<double*>(p); }

}  // namespace

/// What a network's solvers share: its shape, wire stamps, column flags and node order
/// (copied as is by with_conductances).
struct NetworkLayout {
    Eigen::Index rows = 0, cols = 0;
    double wire_conductance_S = 0.0;  ///< 1 / wire_resistance_ohm (0 for ideal wires)
    /// The row wire in front of each column (from the previous column, or the driver):
    /// its segments and lumped cells as a pi equivalent; and the lumped tail's conductance.
    std::vector<LadderTwoPort> gaps;
    double tail_S = 0.0;
    std::vector<bool> floating;       ///< per column
    std::vector<bool> pinned;         ///< floating with every cell zero: nodes pinned to V_sense
    /// Unknown index of row node (i, j) at [i*cols + j], of column node (i, j) at
    /// [rows*cols + i*cols + j]: a nested-dissection order (see order_nodes), or row by
    /// row for the row_blocks method (order_by_rows).
    std::vector<int> position;
    bool row_blocks = false;  ///< the row_blocks method is in use (ohmic and sinh cells)
    std::vector<double> coupling_S;  ///< row_blocks: per column, g on a column wire, 0 on a pinned column
    std::vector<double> row_wire;    ///< row_blocks: the row-wire block K_vv without cells, C x C
    std::vector<unsigned char> pinned_flags, floating_flags;  ///< row_blocks: per column
};

struct CrossbarSolver::Impl : NetworkLayout {
    Factor factor;  ///< ohmic cells with wires, sparse method: factor of the nodal matrix
    /// The row_blocks factor (see the header), per row i, each block C x C row-major:
    /// the Cholesky factor of K_vv,i, the cell conductances D_i, that of S_i.
    template <class V>
    struct RowBlockFactor {
        AlignedVector<V> cholesky_vv, cells, cholesky;
    };
    RowBlockFactor<double> blocks;
    /// Sinh cells with wires: the nodal matrix without the cells (their entries
    /// present as explicit zeros), and per cell (i*cols + j) the value indices of its
    /// (row, row), (column, column), (row, column), (column, row) entries (-1: no cell).
    SparseMatrix wires_only;
    std::vector<std::array<Eigen::Index, 4>> cell_slots;
    std::atomic<std::int64_t> factorizations{0};

    Eigen::Index row_node(Eigen::Index i, Eigen::Index j) const
    {
        return position[static_cast<std::size_t>(i * cols + j)];
    }
    Eigen::Index column_node(Eigen::Index i, Eigen::Index j) const
    {
        return position[static_cast<std::size_t>(rows * cols + i * cols + j)];
    }
    Eigen::Index nodes() const { return 2 * rows * cols; }

    /// Fill-reducing nested-dissection order of the unknowns. Contracting the cells,
    /// the network is a rows x cols grid; the row nodes of one grid column separate
    /// its left and right parts (column wires run vertically and cross no grid
    /// column), and the column nodes of one grid row separate its upper and lower
    /// parts. Each rectangle is split across its longer side, the halves ordered
    /// recursively, then the wire piece cut off with the separator (the column wire
    /// of the separating grid column, resp. the row wire of the separating grid
    /// row), then the separator; rectangles of <= 8 grid points are leaves. On a
    /// 64 x 64 array this gives ~25 % less fill than AMD (nnz(L) ~1.1e5 vs 1.5e5)
    /// and takes O(nodes) time instead of AMD's ~4 ms.
    void order_nodes()
    {
        position.assign(static_cast<std::size_t>(nodes()), -1);
        int next = 0;
        auto place = [&](Eigen::Index id) { position[static_cast<std::size_t>(id)] = next++; };
        const Eigen::Index column_base = rows * cols;
        auto recurse = [&](auto&& self, Eigen::Index i0, Eigen::Index i1, Eigen::Index j0, Eigen::Index j1) -> void {
            const Eigen::Index height = i1 - i0, width = j1 - j0;
            if (height <= 0 || width <= 0) return;
            if (height * width <= 8) {
                for (Eigen::Index i = i0; i < i1; ++i)
                    for (Eigen::Index j = j0; j < j1; ++j) {
                        place(i * cols + j);
                        place(column_base + i * cols + j);
                    }
                return;
            }
            if (width >= height) {
                const Eigen::Index m = j0 + width / 2;
                self(self, i0, i1, j0, m);
                self(self, i0, i1, m + 1, j1);
                for (Eigen::Index i = i0; i < i1; ++i) place(column_base + i * cols + m);
                for (Eigen::Index i = i0; i < i1; ++i) place(i * cols + m);
            } else {
                const Eigen::Index m = i0 + height / 2;
                self(self, i0, m, j0, j1);
                self(self, m + 1, i1, j0, j1);
                for (Eigen::Index j = j0; j < j1; ++j) place(m * cols + j);
                for (Eigen::Index j = j0; j < j1; ++j) place(column_base + m * cols + j);
            }
        };
        recurse(recurse, 0, rows, 0, cols);
    }

    /// Nodal conductance matrix with cell conductances `cell_S`; the sparsity pattern
    /// depends only on which entries of `pattern_S` (the network's G) are nonzero.
    SparseMatrix assemble(const Eigen::MatrixXd& pattern_S, const Eigen::MatrixXd& cell_S) const
    {
        using Triplet = Eigen::Triplet<double>;
        std::vector<Triplet> t;
        t.reserve(static_cast<std::size_t>(12 * rows * cols));
        auto stamp = [&t](Eigen::Index a, Eigen::Index b, double g) {
            const auto ia = static_cast<int>(a), ib = static_cast<int>(b);
            t.emplace_back(ia, ia, g);
            t.emplace_back(ib, ib, g);
            t.emplace_back(ia, ib, -g);
            t.emplace_back(ib, ia, -g);
        };
        auto diagonal = [&t](Eigen::Index a, double g) {
            t.emplace_back(static_cast<int>(a), static_cast<int>(a), g);
        };
        const double g = wire_conductance_S;
        for (Eigen::Index i = 0; i < rows; ++i) {
            // Driver segment(s); their near shunt hangs on the driver and changes nothing here.
            diagonal(row_node(i, 0), gaps[0].series_S + gaps[0].far_shunt_S);
            for (Eigen::Index j = 0; j + 1 < cols; ++j) {
                const LadderTwoPort& gap = gaps[static_cast<std::size_t>(j + 1)];
                stamp(row_node(i, j), row_node(i, j + 1), gap.series_S);
                diagonal(row_node(i, j), gap.near_shunt_S);
                diagonal(row_node(i, j + 1), gap.far_shunt_S);
            }
            diagonal(row_node(i, cols - 1), tail_S);
        }
        for (Eigen::Index j = 0; j < cols; ++j) {
            const auto uj = static_cast<std::size_t>(j);
            if (pinned[uj]) {
                for (Eigen::Index i = 0; i < rows; ++i) diagonal(column_node(i, j), 1.0);
                continue;
            }
            for (Eigen::Index i = 0; i + 1 < rows; ++i) stamp(column_node(i, j), column_node(i + 1, j), g);
            if (!floating[uj]) diagonal(column_node(rows - 1, j), g);  // sense segment
            for (Eigen::Index i = 0; i < rows; ++i)
                if (pattern_S(i, j) != 0.0) stamp(row_node(i, j), column_node(i, j), cell_S(i, j));
        }
        SparseMatrix A(nodes(), nodes());
        A.setFromTriplets(t.begin(), t.end());
        return A;
    }

    /// Row-major order for the row_blocks method: row i's row nodes, then its column
    /// nodes, at [2 C i, 2 C (i + 1)).
    void order_by_rows()
    {
        position.resize(static_cast<std::size_t>(nodes()));
        for (Eigen::Index i = 0; i < rows; ++i)
            for (Eigen::Index j = 0; j < cols; ++j) {
                position[static_cast<std::size_t>(i * cols + j)] = static_cast<int>(2 * cols * i + j);
                position[static_cast<std::size_t>(rows * cols + i * cols + j)] = static_cast<int>(2 * cols * i + cols + j);
            }
    }

    /// The structure as the row_blocks kernels take it (arrays owned by this Impl).
    row_blocks::Structure kernel_structure() const
    {
        row_blocks::Structure k;
        k.rows = static_cast<long>(rows);
        k.wire = row_wire.data();
        k.coupling = coupling_S.data();
        k.pinned = pinned_flags.data();
        k.floating = floating_flags.data();
        k.wire_conductance_S = wire_conductance_S;
        return k;
    }

    /// The row-wire block without its cells (C x C, as assemble() stamps the row wire),
    /// and the column flags as bytes: what the kernels read.
    void prepare_row_blocks()
    {
        const int C = static_cast<int>(cols);
        row_wire.assign(static_cast<std::size_t>(C * C), 0.0);
        row_wire[0] += gaps[0].series_S + gaps[0].far_shunt_S;
        for (int j = 0; j + 1 < C; ++j) {
            const LadderTwoPort& gap = gaps[static_cast<std::size_t>(j + 1)];
            row_wire[static_cast<std::size_t>(j * C + j)] += gap.series_S + gap.near_shunt_S;
            row_wire[static_cast<std::size_t>((j + 1) * C + j + 1)] += gap.series_S + gap.far_shunt_S;
            row_wire[static_cast<std::size_t>(j * C + j + 1)] = row_wire[static_cast<std::size_t>((j + 1) * C + j)] =
                -gap.series_S;
        }
        row_wire[static_cast<std::size_t>(C * C - 1)] += tail_S;
        for (std::size_t j = 0; j < static_cast<std::size_t>(C); ++j) {
            pinned_flags.push_back(pinned[j] ? 1 : 0);
            floating_flags.push_back(floating[j] ? 1 : 0);
        }
    }

    /// The row_blocks factors of the nodal matrices with cell conductances `*cell_S[l]`
    /// (cells where `pattern_S` is nonzero), one network per lane of V (row_blocks.hpp).
    /// Throws Error when a block is not positive definite.
    template <class V>
    RowBlockFactor<V> factorize_rows(const Eigen::MatrixXd& pattern_S, const Eigen::MatrixXd* const* cell_S,
                                     bool avx2) const
    {
        constexpr int L = row_blocks::Lanes<V>::count;
        const auto block = static_cast<std::size_t>(cols * cols);
        RowBlockFactor<V> f;
        f.cells.resize(static_cast<std::size_t>(rows * cols));
        f.cholesky_vv.resize(static_cast<std::size_t>(rows) * block);
        f.cholesky.resize(static_cast<std::size_t>(rows) * block);
        for (Eigen::Index i = 0; i < rows; ++i)
            for (Eigen::Index j = 0; j < cols; ++j) {
                if (pattern_S(i, j) == 0.0 || pinned[static_cast<std::size_t>(j)]) continue;
                V& cell = f.cells[static_cast<std::size_t>(i * cols + j)];
                if constexpr (L == 1)
                    cell = (*cell_S[0])(i, j);
                else
                    for (int l = 0; l < L; ++l) cell[l] = (*cell_S[l])(i, j);
            }
        const row_blocks::Structure k = kernel_structure();
        const int C = static_cast<int>(cols);
        long failed;
        if constexpr (L == 4) {
            if (avx2)
                failed = row_blocks::factorize4_avx2(C, k, as_doubles(f.cells.data()), as_doubles(f.cholesky_vv.data()),
                                                     as_doubles(f.cholesky.data()));
            else
                failed = row_blocks::factorize_any(C, k, f.cells.data(), f.cholesky_vv.data(), f.cholesky.data());
        } else {
            failed = row_blocks::factorize_any(C, k, f.cells.data(), f.cholesky_vv.data(), f.cholesky.data());
        }
        if (failed >= 0 && failed % 2 == 0)
            fail(fmt::format("row {}'s row-wire block is not positive definite", failed / 2));
        if (failed >= 0)
            fail(fmt::format("the nodal conductance matrix could not be factorized at row {} (is it singular?)",
                             failed / 2));
        return f;
    }

    /// x_l = A_l^-1 b_l for the factors of factorize_rows, one per lane (unknowns in
    /// order_by_rows' order; b[l] and x[l] each of nodes() entries).
    template <class V>
    void solve_rows(const RowBlockFactor<V>& f, const double* const* b, double* const* x, bool avx2) const
    {
        AlignedVector<V> work(static_cast<std::size_t>(nodes()));
        const row_blocks::Structure k = kernel_structure();
        const int C = static_cast<int>(cols);
        if constexpr (row_blocks::Lanes<V>::count == 4) {
            if (avx2) {
                row_blocks::solve4_avx2(C, k, as_doubles(f.cells.data()), as_doubles(f.cholesky_vv.data()),
                                        as_doubles(f.cholesky.data()), b, x, as_doubles(work.data()));
                return;
            }
        }
        row_blocks::solve_any(C, k, f.cells.data(), f.cholesky_vv.data(), f.cholesky.data(), b, x, work.data());
    }

    /// The row_blocks factor and solve of one network.
    RowBlockFactor<double> factorize_row_blocks(const Eigen::MatrixXd& pattern_S, const Eigen::MatrixXd& cell_S) const
    {
        const Eigen::MatrixXd* cells[1] = {&cell_S};
        return factorize_rows<double>(pattern_S, cells, false);
    }
    Eigen::VectorXd solve_row_blocks(const RowBlockFactor<double>& f, const Eigen::VectorXd& b) const
    {
        Eigen::VectorXd x(nodes());
        const double* in[1] = {b.data()};
        double* out[1] = {x.data()};
        solve_rows<double>(f, in, out, false);
        return x;
    }

    /// Adds the cell-sum functional of column j to c: I_j = c^T x (a floating column's
    /// current is defined 0: nothing is added).
    void cell_functional(const Eigen::MatrixXd& G, Eigen::Index j, Eigen::VectorXd& c) const
    {
        if (floating[static_cast<std::size_t>(j)]) return;
        for (Eigen::Index i = 0; i < rows; ++i) {
            c(row_node(i, j)) += G(i, j);
            c(column_node(i, j)) -= G(i, j);
        }
    }

    /// A column's response from its adjoint y = A^-1 c: the right-hand side's dependence
    /// on the voltages (right_hand_side) applied to y.
    CrossbarSolver::ColumnResponse response_from_adjoint(const Eigen::VectorXd& y) const
    {
        CrossbarSolver::ColumnResponse r{Eigen::VectorXd(rows), Eigen::VectorXd::Zero(cols)};
        for (Eigen::Index i = 0; i < rows; ++i) r.drive_A_per_V(i) = gaps[0].series_S * y(row_node(i, 0));
        for (Eigen::Index k = 0; k < cols; ++k) {
            const auto uk = static_cast<std::size_t>(k);
            if (pinned[uk])
                for (Eigen::Index i = 0; i < rows; ++i) r.sense_A_per_V(k) += y(column_node(i, k));
            else if (!floating[uk])
                r.sense_A_per_V(k) = wire_conductance_S * y(column_node(rows - 1, k));
        }
        return r;
    }

    /// x = A^-1 b for the ohmic network's factor (either method).
    Eigen::VectorXd solve_linear(const Eigen::VectorXd& b) const
    {
        return row_blocks ? solve_row_blocks(blocks, b) : Eigen::VectorXd(factor.solve(b));
    }

    /// Ohmic cells: factorizes the nodal matrix of conductances G (either method). Sinh
    /// cells are factorized per iteration; the sparse method prepares their updates.
    void factorize(const Eigen::MatrixXd& G, double alpha)
    {
        if (alpha != 0.0) {
            if (!row_blocks) prepare_cell_updates(G);
            return;
        }
        if (row_blocks) {
            blocks = factorize_row_blocks(G, G);
        } else {
            factor.compute(assemble(G, G));
            if (factor.info() != Eigen::Success)
                fail("the nodal conductance matrix could not be factorized (is it singular?)");
        }
        ++factorizations;
    }

    void prepare_cell_updates(const Eigen::MatrixXd& G)
    {
        wires_only = assemble(G, Eigen::MatrixXd::Zero(rows, cols));
        cell_slots.assign(static_cast<std::size_t>(rows * cols), {-1, -1, -1, -1});
        // Index of entry (a, b) in the compressed (column-major) storage.
        auto slot = [this](Eigen::Index a, Eigen::Index b) -> Eigen::Index {
            const int* inner = wires_only.innerIndexPtr();
            const int* first = inner + wires_only.outerIndexPtr()[b];
            const int* last = inner + wires_only.outerIndexPtr()[b + 1];
            const int* found = std::lower_bound(first, last, static_cast<int>(a));
            if (found == last || *found != a) fail("internal error: a cell entry is missing from the pattern");
            return found - inner;
        };
        for (Eigen::Index i = 0; i < rows; ++i)
            for (Eigen::Index j = 0; j < cols; ++j) {
                if (G(i, j) == 0.0 || pinned[static_cast<std::size_t>(j)]) continue;
                const Eigen::Index r = row_node(i, j), c = column_node(i, j);
                cell_slots[static_cast<std::size_t>(i * cols + j)] = {slot(r, r), slot(c, c), slot(r, c), slot(c, r)};
            }
    }

    /// The nodal matrix with cell conductances `cell_S` (same pattern as wires_only).
    SparseMatrix with_cells(const Eigen::MatrixXd& cell_S) const
    {
        SparseMatrix A = wires_only;
        double* value = A.valuePtr();
        for (Eigen::Index i = 0; i < rows; ++i)
            for (Eigen::Index j = 0; j < cols; ++j) {
                const auto& slot = cell_slots[static_cast<std::size_t>(i * cols + j)];
                if (slot[0] < 0) continue;
                const double g = cell_S(i, j);
                value[slot[0]] += g;
                value[slot[1]] += g;
                value[slot[2]] -= g;
                value[slot[3]] -= g;
            }
        return A;
    }

    Eigen::VectorXd right_hand_side(const Eigen::VectorXd& drive_V, const Eigen::VectorXd& sense_V) const
    {
        Eigen::VectorXd b = Eigen::VectorXd::Zero(nodes());
        for (Eigen::Index i = 0; i < rows; ++i) b(row_node(i, 0)) = gaps[0].series_S * drive_V(i);
        for (Eigen::Index j = 0; j < cols; ++j) {
            const auto uj = static_cast<std::size_t>(j);
            if (pinned[uj])
                for (Eigen::Index i = 0; i < rows; ++i) b(column_node(i, j)) = sense_V(j);
            else if (!floating[uj])
                b(column_node(rows - 1, j)) += wire_conductance_S * sense_V(j);
        }
        return b;
    }

    /// Node voltages from the solution vector, and the row/column currents as sums
    /// of the cell currents.
    void extract(const Eigen::VectorXd& x, const Eigen::MatrixXd& G, double alpha, CrossbarSolution& s) const
    {
        s.row_node_V.resize(rows, cols);
        s.column_node_V.resize(rows, cols);
        for (Eigen::Index i = 0; i < rows; ++i)
            for (Eigen::Index j = 0; j < cols; ++j) {
                s.row_node_V(i, j) = x(row_node(i, j));
                s.column_node_V(i, j) = x(column_node(i, j));
            }
        cell_sums(G, alpha, s);
    }

    void cell_sums(const Eigen::MatrixXd& G, double alpha, CrossbarSolution& s) const
    {
        s.column_current_A = Eigen::VectorXd::Zero(cols);
        s.row_current_A = Eigen::VectorXd::Zero(rows);
        for (Eigen::Index j = 0; j < cols; ++j)
            for (Eigen::Index i = 0; i < rows; ++i) {
                const double current = cell_current_A(G(i, j), s.row_node_V(i, j) - s.column_node_V(i, j), alpha);
                s.column_current_A(j) += current;
                s.row_current_A(i) += current;
            }
        for (Eigen::Index j = 0; j < cols; ++j)
            if (floating[static_cast<std::size_t>(j)]) s.column_current_A(j) = 0.0;
    }
};

CrossbarSolver::CrossbarSolver(CrossbarNetwork network, CrossbarSolveOptions options)
    : network_(std::move(network)), options_(options), impl_(std::make_shared<Impl>())
{
    validate_crossbar_network(network_);
    if (!std::isfinite(options_.relative_tolerance) || !(options_.relative_tolerance > 0.0))
        fail(fmt::format("relative_tolerance = {} is not a finite value > 0", options_.relative_tolerance));
    if (options_.max_iterations < 1) fail(fmt::format("max_iterations = {} is below 1", options_.max_iterations));

    const auto& G = network_.conductance_S;
    Impl& impl = *impl_;
    impl.rows = G.rows();
    impl.cols = G.cols();
    if (static_cast<double>(impl.rows) * static_cast<double>(impl.cols) > 1e8)
        fail(fmt::format("a {} x {} crossbar is too large for the nodal solver", impl.rows, impl.cols));
    const auto cols = static_cast<std::size_t>(impl.cols);
    impl.floating = network_.column_floating.empty() ? std::vector<bool>(cols, false) : network_.column_floating;
    impl.pinned.assign(cols, false);
    for (std::size_t j = 0; j < cols; ++j)
        impl.pinned[j] = impl.floating[j] && (G.col(static_cast<Eigen::Index>(j)).array() == 0.0).all();

    if (network_.wire_resistance_ohm == 0.0) return;  // ideal wires: closed form, nothing to factorize
    impl.wire_conductance_S = 1.0 / network_.wire_resistance_ohm;
    if (!std::isfinite(impl.wire_conductance_S))
        fail(fmt::format("wire_resistance_ohm = {} is too small (1/r overflows)", network_.wire_resistance_ohm));
    const double lumped_S = network_.lumped_cell_conductance_S;
    for (std::size_t j = 0; j < cols; ++j) {
        const double segments = network_.row_segments.empty() ? 1.0 : network_.row_segments[j];
        if (lumped_S > 0)
            impl.gaps.push_back(ladder_two_port(static_cast<int>(segments), network_.wire_resistance_ohm, lumped_S));
        else  // empty columns: the segments in series (any real count)
            impl.gaps.push_back({impl.wire_conductance_S / segments, 0.0, 0.0});
    }
    impl.tail_S = lumped_S > 0 ? ladder_tail_S(network_.trailing_lumped_columns, network_.wire_resistance_ohm, lumped_S) : 0.0;
    using Method = CrossbarSolveOptions::Method;
    if (options_.method == Method::row_blocks && impl.cols > max_row_block)
        fail(fmt::format("the row_blocks method takes at most {} columns, the network has {}", max_row_block,
                         impl.cols));
    impl.row_blocks =
        options_.method == Method::row_blocks || (options_.method == Method::automatic && impl.cols <= max_row_block);
    if (impl.row_blocks) {
        impl.order_by_rows();
        for (std::size_t j = 0; j < cols; ++j) impl.coupling_S.push_back(impl.pinned[j] ? 0.0 : impl.wire_conductance_S);
        impl.prepare_row_blocks();
    } else {
        impl.order_nodes();
    }
    impl.factorize(G, network_.iv_alpha_per_V);
}

CrossbarSolver::ColumnResponse CrossbarSolver::column_response(Eigen::Index column) const
{
    const Impl& impl = *impl_;
    const auto& G = network_.conductance_S;
    if (column < 0 || column >= impl.cols)
        fail(fmt::format("column_response: column {} is not in [0, {})", column, impl.cols));
    if (network_.iv_alpha_per_V != 0.0)
        fail(fmt::format("column_response needs ohmic cells (iv_alpha_per_V = {})", network_.iv_alpha_per_V));
    ColumnResponse r{Eigen::VectorXd::Zero(impl.rows), Eigen::VectorXd::Zero(impl.cols)};
    const auto j = static_cast<std::size_t>(column);
    if (impl.floating[j]) return r;
    if (impl.wire_conductance_S == 0.0) {
        r.drive_A_per_V = G.col(column);
        r.sense_A_per_V(column) = -G.col(column).sum();
        return r;
    }
    Eigen::VectorXd c = Eigen::VectorXd::Zero(impl.nodes());
    impl.cell_functional(G, column, c);
    return impl.response_from_adjoint(impl.solve_linear(c));
}

namespace {

/// Checks that `conductance_S` is valid and has the shape and nonzero pattern of `G`.
void check_same_pattern(const Eigen::MatrixXd& conductance_S, const Eigen::MatrixXd& G, const char* what)
{
    if (conductance_S.rows() != G.rows() || conductance_S.cols() != G.cols())
        fail(fmt::format("{}: {} x {} conductances for a {} x {} network", what, conductance_S.rows(),
                         conductance_S.cols(), G.rows(), G.cols()));
    check_conductances(conductance_S);
    for (Eigen::Index j = 0; j < G.cols(); ++j)
        for (Eigen::Index i = 0; i < G.rows(); ++i)
            if ((conductance_S(i, j) == 0.0) != (G(i, j) == 0.0))
                fail(fmt::format("{}: conductance_S({}, {}) = {} changes the network's nonzero pattern (was {})", what,
                                 i, j, conductance_S(i, j), G(i, j)));
}

}  // namespace

std::vector<std::vector<CrossbarSolver::ColumnResponse>> CrossbarSolver::column_responses(
    const std::vector<Eigen::MatrixXd>& conductances, const std::vector<Eigen::Index>& columns) const
{
    const Impl& impl = *impl_;
    std::vector<std::vector<ColumnResponse>> result;
    const bool batched = impl.row_blocks && impl.wire_conductance_S > 0.0 && network_.iv_alpha_per_V == 0.0;
    if (!batched) {
        for (const Eigen::MatrixXd& G : conductances) {
            const CrossbarSolver one = with_conductances(G);
            auto& responses = result.emplace_back();
            for (Eigen::Index j : columns) responses.push_back(one.column_response(j));
        }
        return result;
    }
    for (const Eigen::MatrixXd& G : conductances) check_same_pattern(G, network_.conductance_S, "column_responses");
    for (Eigen::Index j : columns)
        if (j < 0 || j >= impl.cols)
            fail(fmt::format("column_responses: column {} is not in [0, {})", j, impl.cols));
    constexpr int L = row_blocks::Lanes<row_blocks::Double4>::count;
    for (std::size_t first = 0; first < conductances.size(); first += L) {
        // A short last batch repeats its last network in the spare lanes.
        const Eigen::MatrixXd* lane[L];
        for (int l = 0; l < L; ++l) lane[l] = &conductances[std::min(first + l, conductances.size() - 1)];
        const bool avx2 = options_.use_avx2 && cpu_has_avx2();
        const auto factor = impl.factorize_rows<row_blocks::Double4>(network_.conductance_S, lane, avx2);
        std::vector<std::vector<ColumnResponse>> batch(L);
        std::vector<Eigen::VectorXd> c(L, Eigen::VectorXd(impl.nodes())), y(L, Eigen::VectorXd(impl.nodes()));
        const double* in[L];
        double* out[L];
        for (int l = 0; l < L; ++l) {
            in[l] = c[static_cast<std::size_t>(l)].data();
            out[l] = y[static_cast<std::size_t>(l)].data();
        }
        for (Eigen::Index j : columns) {
            for (int l = 0; l < L; ++l) {
                c[static_cast<std::size_t>(l)].setZero();
                impl.cell_functional(*lane[l], j, c[static_cast<std::size_t>(l)]);
            }
            impl.solve_rows<row_blocks::Double4>(factor, in, out, avx2);
            for (int l = 0; l < L; ++l) batch[static_cast<std::size_t>(l)].push_back(impl.response_from_adjoint(y[static_cast<std::size_t>(l)]));
        }
        for (std::size_t l = 0; l < L && first + l < conductances.size(); ++l) result.push_back(std::move(batch[l]));
    }
    return result;
}

CrossbarSolver CrossbarSolver::with_conductances(const Eigen::MatrixXd& conductance_S) const
{
    check_same_pattern(conductance_S, network_.conductance_S, "with_conductances");
    CrossbarSolver other(*this);
    other.network_.conductance_S = conductance_S;
    const Impl& impl = *impl_;
    auto next = std::make_shared<Impl>();
    // The layout (node order, wire stamps, flags) is the same; the factor is new.
    static_cast<NetworkLayout&>(*next) = impl;
    if (impl.wire_conductance_S > 0.0) next->factorize(conductance_S, network_.iv_alpha_per_V);
    other.impl_ = std::move(next);
    return other;
}

std::int64_t CrossbarSolver::factorization_count() const { return impl_->factorizations.load(); }

CrossbarSolution CrossbarSolver::solve(const Eigen::VectorXd& drive_V, const Eigen::VectorXd& sense_V) const
{
    const Impl& impl = *impl_;
    const auto& G = network_.conductance_S;
    const double alpha = network_.iv_alpha_per_V;
    check_voltages(drive_V, "drive_V", impl.rows, "rows");
    check_voltages(sense_V, "sense_V", impl.cols, "columns");

    // Ideal-wire voltages: the answer for r = 0, the starting point otherwise.
    CrossbarSolution s;
    s.row_node_V = drive_V.replicate(1, impl.cols);
    s.column_node_V = sense_V.transpose().replicate(impl.rows, 1);
    for (Eigen::Index j = 0; j < impl.cols; ++j)
        if (impl.floating[static_cast<std::size_t>(j)])
            s.column_node_V.col(j).setConstant(floating_column_voltage(G, j, drive_V, alpha, sense_V(j)));

    auto check_currents = [&](const CrossbarSolution& candidate) {
        for (Eigen::Index j = 0; j < impl.cols; ++j)
            if (!std::isfinite(candidate.column_current_A(j)))
                fail(fmt::format("column {} current is not finite (iv_alpha_per_V = {}: the sinh overflows)", j,
                                 alpha));
        for (Eigen::Index i = 0; i < impl.rows; ++i)
            if (!std::isfinite(candidate.row_current_A(i)))
                fail(fmt::format("row {} current is not finite (iv_alpha_per_V = {}: the sinh overflows)", i, alpha));
    };

    if (impl.wire_conductance_S == 0.0) {
        impl.cell_sums(G, alpha, s);
        // Non-floating columns: exactly the fast path.
        const Eigen::VectorXd ideal = ideal_column_currents(G, drive_V, sense_V, alpha);
        for (Eigen::Index j = 0; j < impl.cols; ++j)
            s.column_current_A(j) = impl.floating[static_cast<std::size_t>(j)] ? 0.0 : ideal(j);
        check_currents(s);
        s.iterations = 0;
        return s;
    }

    const Eigen::VectorXd b = impl.right_hand_side(drive_V, sense_V);
    if (alpha == 0.0) {
        impl.extract(impl.solve_linear(b), G, alpha, s);
        check_currents(s);
        s.iterations = 1;
        return s;
    }

    // Sinh cells: fixed point on secant conductances, from the ideal-wire voltages.
    impl.cell_sums(G, alpha, s);
    check_currents(s);
    Eigen::VectorXd previous_A = s.column_current_A;
    Eigen::MatrixXd secant_S(impl.rows, impl.cols);
    Factor factor;
    double change = std::numeric_limits<double>::infinity();
    for (int iteration = 1; iteration <= options_.max_iterations; ++iteration) {
        for (Eigen::Index j = 0; j < impl.cols; ++j)
            for (Eigen::Index i = 0; i < impl.rows; ++i) {
                const double V = s.row_node_V(i, j) - s.column_node_V(i, j);
                secant_S(i, j) = cell_secant_conductance_S(G(i, j), V, alpha);
                if (!std::isfinite(secant_S(i, j)))
                    fail(fmt::format("cell ({}, {}) current overflows at {} V (iv_alpha_per_V = {})", i, j, V,
                                     alpha));
            }
        if (impl.row_blocks) {
            impl.extract(impl.solve_row_blocks(impl.factorize_row_blocks(G, secant_S), b), G, alpha, s);
        } else {
            const SparseMatrix A = impl.with_cells(secant_S);
            if (iteration == 1) factor.analyzePattern(A);
            factor.factorize(A);
            if (factor.info() != Eigen::Success)
                fail(fmt::format("the nodal conductance matrix could not be factorized at iteration {}", iteration));
            impl.extract(factor.solve(b), G, alpha, s);
        }
        ++impl_->factorizations;
        check_currents(s);
        const double scale = s.column_current_A.cwiseAbs().maxCoeff();
        const double delta = (s.column_current_A - previous_A).cwiseAbs().maxCoeff();
        change = scale > 0.0 ? delta / scale : (delta == 0.0 ? 0.0 : std::numeric_limits<double>::infinity());
        previous_A = s.column_current_A;
        if (iteration >= 2 && change <= options_.relative_tolerance) {
            s.iterations = iteration;
            return s;
        }
    }
    fail(fmt::format("the sinh-cell iteration did not converge in {} iterations (last relative change of the "
                     "column currents {:.3g}, tolerance {:.3g})",
                     options_.max_iterations, change, options_.relative_tolerance));
}

}  // namespace nladc
