#pragma once
// DC solver of an RRAM crossbar with wire resistance (IR drop).
//
// Network. R rows x C columns. Cell (i, j) joins row-wire node (i, j) to column-wire
// node (i, j) and carries the current f(G_ij, v_ij - u_ij) from the row to the column,
// where v and u are the row- and column-node voltages and f is the cell I-V:
//
//     ohmic  (alpha = 0):  f(G, V) = G * V
//     sinh   (alpha > 0):  f(G, V) = G * sinh(alpha * V) / alpha
//
// (both have the small-signal conductance G at V = 0; alpha = 0 is exactly ohmic).
// Every wire segment has resistance r = wire_resistance_ohm, conductance g = 1/r:
//
//     driver V_drive[i] --r-- (i,0) --r-- (i,1) --r-- ... --r-- (i,C-1)     row wire i
//     (0,j) --r-- (1,j) --r-- ... --r-- (R-1,j) --r-- sense node at V_sense[j]   column wire j
//
// i.e. row wire i is driven at its column-0 end and column wire j is sensed at its
// last-row end (the sense node is a virtual ground, usually 0 V). A floating column
// has no sense segment: its wire is still there and its node voltages settle where
// the cells put them, but it delivers no current to a sense node.
//
// Nodal analysis (unknowns: the 2*R*C node voltages; KCL, currents leaving a node):
//
//     row node (i,j):    g*(v_ij - V_drive_i)[j = 0] + g*(v_ij - v_i,j-1)[j > 0]
//                        + g*(v_ij - v_i,j+1)[j < C-1] + f(G_ij, v_ij - u_ij) = 0
//     column node (i,j): g*(u_ij - u_i-1,j)[i > 0] + g*(u_ij - u_i+1,j)[i < R-1]
//                        + g*(u_ij - V_sense_j)[i = R-1, column not floating]
//                        - f(G_ij, v_ij - u_ij) = 0
//
// For ohmic cells this is A x = b with A the (symmetric positive definite) nodal
// conductance matrix; it is factorized once and every solve reuses the factor. Two
// factorizations give the same x to rounding (CrossbarSolveOptions::Method):
//
//   sparse      sparse LDL^T in a nested-dissection order (any size);
//   row_blocks  for narrow networks (<= 8 columns, e.g. the MAC pair and the replica
//               column with the rest of the array lumped): A is block tridiagonal in
//               the rows, x_i = (v_i, u_i). Each row's row-wire nodes couple only
//               within the row, so they are eliminated first,
//                   v_i = W_i (b_v,i + D_i u_i),   W_i = K_vv,i^-1,  D_i = diag(G_i.)
//                   H_i = K_uu,i - D_i W_i D_i,    h_i = b_u,i + D_i W_i b_v,i,
//               and the column nodes, coupled between rows i and i+1 by -g on each
//               (unpinned) column wire, P = diag(unpinned), by block Cholesky:
//                   S_0 = H_0,  S_i = H_i - g^2 P S_(i-1)^-1 P,
//                   z_0 = h_0,  z_i = h_i + g P S_(i-1)^-1 z_(i-1),
//                   u_(R-1) = S_(R-1)^-1 z_(R-1),  u_i = S_i^-1 (z_i + g P u_(i+1)).
//               O(R C^3) work and no allocation per row: ~20x faster than the sparse
//               path on a 64 x 3 network (docs/performance.md). For sinh cells the solver iterates on secant conductances
// G_eff = f(G, V)/V (G at V = 0), refactorizing each iteration, starting from the
// ideal-wire voltages, until the column currents settle (see CrossbarSolveOptions).
//
// The current into sense node j is the sum of the cell currents of column j (equal,
// by KCL, to g*(u_R-1,j - V_sense_j), but without that difference's cancellation).
//
// Ideal wires (r = 0): v_ij = V_drive_i, u_ij = V_sense_j and the column currents
// are I_j = sum_i f(G_ij, V_drive_i - V_sense_j) (ideal_column_currents; no solve).
// A floating column with ideal wires sits at the voltage u_j at which its cell
// currents cancel, sum_i f(G_ij, V_drive_i - u_j) = 0.
//
// A floating column whose cells are all zero is connected to nothing: its voltage
// is undetermined, and the solver pins its nodes to V_sense[j] (the limit of an
// arbitrarily small leak to its sense node).
//
// All quantities are SI: volts, amperes, siemens, ohms.

#include <Eigen/Core>

#include <cstdint>
#include <memory>
#include <vector>

namespace nladc {

struct CrossbarNetwork {
    Eigen::MatrixXd conductance_S;      ///< rows x columns cell conductances, every entry >= 0
    double wire_resistance_ohm = 0.0;   ///< per wire segment, >= 0 (0 = ideal wires)
    double iv_alpha_per_V = 0.0;        ///< sinh I-V parameter alpha, >= 0 (0 = ohmic)
    std::vector<bool> column_floating;  ///< empty = none floating; else one flag per column
    /// Row-wire segments in front of each column (from the previous column, or the driver
    /// for column 0): empty = one each. Lets a network keep only the columns that carry
    /// cells, with the empty columns between them lumped exactly into the row wire.
    std::vector<double> row_segments;
    /// Conductance of every cell of the lumped columns, S (0 = they are empty). A lumped
    /// column's cells are ohmic and join its row-wire nodes straight to the sense
    /// potential 0 V (its own column wire is not modelled), so the row wire between two
    /// kept columns is a ladder, stamped as its exact pi equivalent (ladder_two_port).
    /// Needs integer row_segments: row_segments[j] - 1 lumped columns lie in front of j.
    double lumped_cell_conductance_S = 0.0;
    /// Lumped columns beyond the last kept column (an open-ended ladder, ladder_tail_S).
    int trailing_lumped_columns = 0;
};

/// A row-wire ladder between two nodes: `segments` wire segments of `wire_ohm`, and at
/// each of the segments - 1 inner nodes a cell of `cell_S` to 0 V. Its exact pi
/// equivalent: a series conductance and a shunt to 0 V at each end (ABCD parameters of
/// the chain [1 r; 0 1][1 0; g 1]...: series 1/B, near shunt (D - 1)/B, far shunt
/// (A - 1)/B). wire_ohm > 0, segments >= 1, cell_S >= 0.
struct LadderTwoPort {
    double series_S = 0.0;      ///< between the two end nodes
    double near_shunt_S = 0.0;  ///< from the near end (toward the driver) to 0 V
    double far_shunt_S = 0.0;   ///< from the far end to 0 V
};
LadderTwoPort ladder_two_port(int segments, double wire_ohm, double cell_S);

/// Input conductance of `columns` lumped columns hanging beyond a node: segment, cell
/// to 0 V, segment, cell, ..., open end (C/A of the chain). 0 for columns = 0.
double ladder_tail_S(int columns, double wire_ohm, double cell_S);

struct CrossbarSolveOptions {
    /// Convergence of the nonlinear iteration: stop when
    /// max_j |I_j(k) - I_j(k-1)| <= relative_tolerance * max_j |I_j(k)|
    /// (column currents I of iterations k and k-1), with at least two network solves.
    double relative_tolerance = 1e-12;
    /// Fixed-point iterations allowed before the solve throws Error.
    int max_iterations = 200;
    /// Factorization of the nodal matrix (see the top of this file): automatic takes
    /// row_blocks for networks of <= 8 columns and sparse otherwise; the other two force
    /// one (row_blocks throws Error above 8 columns). Tests compare the two.
    enum class Method { automatic, sparse, row_blocks };
    Method method = Method::automatic;
    /// column_responses may run its batched kernels with AVX2 where the CPU has it
    /// (bit-identical either way; tests compare the two).
    bool use_avx2 = true;
};

struct CrossbarSolution {
    Eigen::VectorXd column_current_A;  ///< current into each sense node, A (0 for floating columns)
    Eigen::VectorXd row_current_A;     ///< current of each row into the kept columns' cells, A (not the lumped ones)
    Eigen::MatrixXd row_node_V;        ///< rows x columns row-wire node voltages, V
    Eigen::MatrixXd column_node_V;     ///< rows x columns column-wire node voltages, V
    /// Fixed-point iterations used: 0 with ideal wires (closed form), 1 for ohmic
    /// cells with wires, the number of network solves for sinh cells with wires.
    int iterations = 0;
};

/// Current of one cell of conductance G_S (S) at the voltage V_V (V) across it, in A:
/// G*V for alpha = 0, G*sinh(alpha*V)/alpha for alpha > 0 (alpha in 1/V). Throws nothing.
double cell_current_A(double G_S, double V_V, double iv_alpha_per_V);

/// Secant conductance f(G, V)/V of a cell, in S (G_S at V = 0). Throws nothing.
double cell_secant_conductance_S(double G_S, double V_V, double iv_alpha_per_V);

/// Checks a network: non-empty, every conductance finite and >= 0, wire resistance
/// and alpha finite and >= 0, column_floating empty or one flag per column. Throws
/// Error naming the first offending entry ("conductance_S(3, 1) = -1e-05 is negative").
void validate_crossbar_network(const CrossbarNetwork& network);

/// DC solver of one crossbar network; the network is validated and (ohmic cells with
/// wires) factorized once in the constructor, so many solves with different drive
/// voltages cost one forward/backward substitution each. solve() is const and safe to
/// call from several threads at once. Copies share the factorization.
class CrossbarSolver {
public:
    /// Validates and prepares `network`. Throws Error for an invalid network (see
    /// validate_crossbar_network), for invalid options (relative_tolerance not finite
    /// and > 0, max_iterations < 1), or when the factorization fails.
    explicit CrossbarSolver(CrossbarNetwork network, CrossbarSolveOptions options = {});

    /// Solves the network for driver voltages `drive_V` (one per row, V) and sense
    /// voltages `sense_V` (one per column, V). Throws Error on a size mismatch or a
    /// non-finite voltage (naming the entry), when a cell current overflows, and when
    /// the nonlinear iteration does not converge within max_iterations (naming the
    /// iteration count and the last relative change).
    CrossbarSolution solve(const Eigen::VectorXd& drive_V, const Eigen::VectorXd& sense_V) const;

    /// A solver of the same network with other cell conductances (same shape, nonzero
    /// exactly where the network's are), reusing the node order and wire stamps and
    /// factorizing once more: a family of solves over one array (a weight sweep) skips
    /// the set-up. Throws Error when the shape or the nonzero pattern differs, or for an
    /// invalid conductance (naming the entry).
    CrossbarSolver with_conductances(const Eigen::MatrixXd& conductance_S) const;

    /// Ohmic cells: column `column`'s current as a linear function of the voltages,
    ///     I = drive_A_per_V . V_drive + sense_A_per_V . V_sense   (A, V),
    /// from one adjoint solve: I is c^T x for the column's cell-sum functional c, x =
    /// A^-1 b(V_drive, V_sense), and with A symmetric I = y^T b for A y = c. Its Norton
    /// conductance at the sense node is -sense_A_per_V(column). Ideal wires: G(i, column)
    /// and -sum_i G(i, column). Zero for a floating column. Throws Error for sinh cells
    /// or a column out of range.
    struct ColumnResponse {
        Eigen::VectorXd drive_A_per_V;  ///< one per row
        Eigen::VectorXd sense_A_per_V;  ///< one per column
    };
    ColumnResponse column_response(Eigen::Index column) const;

    /// with_conductances(conductances[n]).column_response(columns[c]) as result[n][c]
    /// for a family of networks over this one's structure (e.g. a weight sweep): the
    /// row_blocks method factorizes and solves 4 of them side by side across vector
    /// lanes (each lane bit-identical to the single solve), the others one by one.
    /// Throws as with_conductances and column_response do.
    std::vector<std::vector<ColumnResponse>> column_responses(const std::vector<Eigen::MatrixXd>& conductances,
                                                              const std::vector<Eigen::Index>& columns) const;

    const CrossbarNetwork& network() const { return network_; }
    const CrossbarSolveOptions& options() const { return options_; }

    /// Numerical factorizations performed so far by this solver and its copies: 1 after
    /// constructing an ohmic network with wires (and it stays 1 over any number of
    /// solves), 0 with ideal wires, plus one per iteration for each sinh solve.
    std::int64_t factorization_count() const;

    struct Impl;  ///< the assembled system and its factor (defined in crossbar.cpp)

private:
    CrossbarNetwork network_;
    CrossbarSolveOptions options_;
    std::shared_ptr<Impl> impl_;
};

/// Ideal-wire fast path: I_j = sum_i f(G_ij, drive_V_i - sense_V_j) in A, f the cell
/// I-V (see cell_current_A), G in S, voltages in V; no floating columns. Throws Error
/// on a size mismatch, a negative or non-finite conductance or voltage, a negative or
/// non-finite alpha (naming the entry), or a non-finite (overflowing) column current.
Eigen::VectorXd ideal_column_currents(const Eigen::MatrixXd& conductance_S, const Eigen::VectorXd& drive_V,
                                      const Eigen::VectorXd& sense_V, double iv_alpha_per_V = 0.0);

}  // namespace nladc
