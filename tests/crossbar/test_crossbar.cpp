// The crossbar network solver against independent references: hand-written nodal
// equations, closed forms, ngspice on the same netlist, and the network's physics
// (superposition, reciprocity, conservation, the r -> 0 limit).
#include <catch2/catch.hpp>

#include <Eigen/Dense>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../support.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"
#include "nladc/crossbar/crossbar.hpp"

using namespace nladc;

namespace {

/// max_k |a_k - b_k| / max_k |b_k|
double relative_error(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b)
{
    REQUIRE(a.rows() == b.rows());
    REQUIRE(a.cols() == b.cols());
    return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
}

/// max_k |a_k - b_k| / |b_k| (every b_k nonzero)
double elementwise_relative_error(const Eigen::VectorXd& a, const Eigen::VectorXd& b)
{
    REQUIRE(a.size() == b.size());
    double worst = 0.0;
    for (Eigen::Index k = 0; k < a.size(); ++k) {
        REQUIRE(b(k) != 0.0);
        worst = std::max(worst, std::abs(a(k) - b(k)) / std::abs(b(k)));
    }
    return worst;
}

Eigen::MatrixXd random_conductances(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed, double lo = 1e-6,
                                    double hi = 4e-4)
{
    RandomStream random(seed, 0);
    Eigen::MatrixXd G(rows, cols);
    for (Eigen::Index i = 0; i < rows; ++i)
        for (Eigen::Index j = 0; j < cols; ++j) G(i, j) = lo + (hi - lo) * random.uniform();
    return G;
}

Eigen::VectorXd random_voltages(Eigen::Index n, std::uint64_t seed, double lo = 0.0, double hi = 0.2)
{
    RandomStream random(seed, 1);
    Eigen::VectorXd v(n);
    for (Eigen::Index k = 0; k < n; ++k) v(k) = lo + (hi - lo) * random.uniform();
    return v;
}

std::string error_message(const std::function<void()>& action)
{
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no Error thrown)";
}

/// Runs `ngspice -b` on `netlist` and returns the printed currents i(vs0) .. i(vs<n-1>).
Eigen::VectorXd run_ngspice_currents(const std::string& netlist_text, Eigen::Index C)
{
    test::ScratchDir dir;
    const auto netlist = dir / "crossbar.cir", output = dir / "ngspice.out";
    test::write_text(netlist, netlist_text);
    const std::string command = fmt::format("cd '{}' && LC_ALL=C LANG=C /usr/bin/ngspice -b '{}' > '{}' 2>&1",
                                            dir.path().string(), netlist.string(), output.string());
    const int status = std::system(command.c_str());
    const std::string text = test::slurp(output);
    INFO(text);
    REQUIRE(status == 0);

    Eigen::VectorXd current = Eigen::VectorXd::Constant(C, std::nan(""));
    const std::regex line(R"(^i\(vs(\d+)\)\s*=\s*(\S+)\s*$)", std::regex::icase);
    std::istringstream in(text);
    for (std::string s; std::getline(in, s);) {
        std::smatch m;
        if (std::regex_match(s, m, line)) {
            const long j = std::stol(m[1].str());
            REQUIRE(j < C);
            if (std::isnan(current(j))) current(j) = std::strtod(m[2].str().c_str(), nullptr);
        }
    }
    REQUIRE(current.allFinite());
    return current;
}

/// Writes the crossbar as an ngspice netlist (resistor cells, or B-source sinh cells
/// when alpha > 0), runs `ngspice -b` and returns the currents into the sense nodes.
Eigen::VectorXd ngspice_column_currents(const Eigen::MatrixXd& G, double r_ohm, double alpha,
                                        const Eigen::VectorXd& drive_V)
{
    const Eigen::Index R = G.rows(), C = G.cols();
    std::ostringstream net;
    net << "* nladc crossbar test network\n";
    for (Eigen::Index i = 0; i < R; ++i) {
        net << fmt::format("Vd{0} d{0} 0 DC {1:.17g}\n", i, drive_V(i));
        net << fmt::format("Rd{0} d{0} r{0}_0 {1:.17g}\n", i, r_ohm);
        for (Eigen::Index j = 0; j + 1 < C; ++j)
            net << fmt::format("Rr{0}_{1} r{0}_{1} r{0}_{2} {3:.17g}\n", i, j, j + 1, r_ohm);
    }
    for (Eigen::Index j = 0; j < C; ++j) {
        for (Eigen::Index i = 0; i + 1 < R; ++i)
            net << fmt::format("Rc{0}_{1} c{0}_{1} c{2}_{1} {3:.17g}\n", i, j, i + 1, r_ohm);
        net << fmt::format("Rs{0} c{1}_{0} s{0} {2:.17g}\n", j, R - 1, r_ohm);
        net << fmt::format("Vs{0} s{0} 0 DC 0\n", j);
    }
    for (Eigen::Index i = 0; i < R; ++i)
        for (Eigen::Index j = 0; j < C; ++j) {
            if (alpha == 0.0)
                net << fmt::format("Rx{0}_{1} r{0}_{1} c{0}_{1} {2:.17g}\n", i, j, 1.0 / G(i, j));
            else
                net << fmt::format("Bx{0}_{1} r{0}_{1} c{0}_{1} I = {2:.17g}*sinh({3:.17g}*V(r{0}_{1},c{0}_{1}))/"
                                   "{3:.17g}\n",
                                   i, j, G(i, j), alpha);
        }
    net << ".options reltol=1e-9 abstol=1e-18 vntol=1e-12\n.op\n.control\nrun\nset numdgt=17\n";
    for (Eigen::Index j = 0; j < C; ++j) net << fmt::format("print i(vs{})\n", j);
    net << "quit\n.endc\n.end\n";

    return run_ngspice_currents(net.str(), C);
}

/// The same kind of network with every column written out: the columns in `kept` carry
/// the cells of G (one G column each) and their column wires; every other column of the
/// `columns` has, at each row, a cell of `background_S` from its row-wire node straight
/// to 0 V. Returns the kept columns' sense currents from `ngspice -b`.
Eigen::VectorXd ngspice_background_currents(const Eigen::MatrixXd& G, const std::vector<int>& kept, int columns,
                                            double background_S, double r_ohm, const Eigen::VectorXd& drive_V)
{
    const Eigen::Index R = G.rows(), K = G.cols();
    std::ostringstream net;
    net << "* nladc crossbar with background columns, every column written out\n";
    for (Eigen::Index i = 0; i < R; ++i) {
        net << fmt::format("Vd{0} d{0} 0 DC {1:.17g}\nRd{0} d{0} r{0}_0 {2:.17g}\n", i, drive_V(i), r_ohm);
        for (int j = 0; j + 1 < columns; ++j)
            net << fmt::format("Rr{0}_{1} r{0}_{1} r{0}_{2} {3:.17g}\n", i, j, j + 1, r_ohm);
        for (int j = 0; j < columns; ++j)
            if (std::find(kept.begin(), kept.end(), j) == kept.end())
                net << fmt::format("Rb{0}_{1} r{0}_{1} 0 {2:.17g}\n", i, j, 1.0 / background_S);
    }
    for (Eigen::Index k = 0; k < K; ++k) {
        const int j = kept[static_cast<std::size_t>(k)];
        for (Eigen::Index i = 0; i < R; ++i) {
            net << fmt::format("Rx{0}_{1} r{0}_{1} c{0}_{1} {2:.17g}\n", i, j, 1.0 / G(i, k));
            const std::string below = i + 1 < R ? fmt::format("c{}_{}", i + 1, j) : fmt::format("s{}", k);
            net << fmt::format("Rc{0}_{1} c{0}_{1} {2} {3:.17g}\n", i, j, below, r_ohm);
        }
        net << fmt::format("Vs{0} s{0} 0 DC 0\n", k);
    }
    net << ".options reltol=1e-9 abstol=1e-18 vntol=1e-12\n.op\n.control\nrun\nset numdgt=17\n";
    for (Eigen::Index k = 0; k < K; ++k) net << fmt::format("print i(vs{})\n", k);
    net << "quit\n.endc\n.end\n";
    return run_ngspice_currents(net.str(), K);
}

CrossbarNetwork make_network(Eigen::MatrixXd G, double r_ohm, double alpha = 0.0, std::vector<bool> floating = {})
{
    CrossbarNetwork network;
    network.conductance_S = std::move(G);
    network.wire_resistance_ohm = r_ohm;
    network.iv_alpha_per_V = alpha;
    network.column_floating = std::move(floating);
    return network;
}

/// The ADC's kind of network: three kept columns (the middle one floating), the rest of
/// an array lumped into the row wires.
CrossbarNetwork three_column_network(Eigen::Index rows, std::uint64_t seed, double r_ohm, double alpha,
                                     double lumped_S, int trailing)
{
    CrossbarNetwork network = make_network(random_conductances(rows, 3, seed), r_ohm, alpha, {false, true, false});
    network.lumped_cell_conductance_S = lumped_S;
    network.row_segments = {1, 1, 30};
    network.trailing_lumped_columns = trailing;
    return network;
}

}  // namespace

TEST_CASE("1x1 crossbar: the series circuit driver-wire-cell-wire-sense", "[crossbar]")
{
    const double G = 2e-3, r = 7.0, vd = 0.3, vs = 0.05;
    const CrossbarSolver solver(make_network(Eigen::MatrixXd::Constant(1, 1, G), r));
    const auto s = solver.solve(Eigen::VectorXd::Constant(1, vd), Eigen::VectorXd::Constant(1, vs));
    const double I = (vd - vs) / (2.0 * r + 1.0 / G);
    CHECK(s.column_current_A(0) == Approx(I).epsilon(1e-14));
    CHECK(s.row_current_A(0) == Approx(I).epsilon(1e-14));
    CHECK(s.row_node_V(0, 0) == Approx(vd - I * r).epsilon(1e-14));
    CHECK(s.column_node_V(0, 0) == Approx(vs + I * r).epsilon(1e-14));
    CHECK(s.iterations == 1);
}

TEST_CASE("2x2 crossbar with wire resistance against hand-written nodal equations", "[crossbar]")
{
    const double r = 10.0, g = 1.0 / r;
    const double G00 = 1.0e-3, G01 = 3.0e-3, G10 = 2.5e-3, G11 = 0.5e-3;
    const double d0 = 0.2, d1 = 0.13, s0 = 0.0, s1 = 0.02;
    Eigen::MatrixXd Gm(2, 2);
    Gm << G00, G01, G10, G11;
    const bool floating1 = GENERATE(false, true);
    INFO("column 1 floating: " << floating1);

    // Unknowns x = [v00 v01 v10 v11 u00 u01 u10 u11]; one KCL equation per node
    // (currents leaving the node), written out term by term.
    enum { v00, v01, v10, v11, u00, u01, u10, u11 };
    Eigen::Matrix<double, 8, 8> A = Eigen::Matrix<double, 8, 8>::Zero();
    Eigen::Matrix<double, 8, 1> b = Eigen::Matrix<double, 8, 1>::Zero();
    // v00: g(v00 - d0) + g(v00 - v01) + G00(v00 - u00) = 0
    A(v00, v00) = 2 * g + G00, A(v00, v01) = -g, A(v00, u00) = -G00, b(v00) = g * d0;
    // v01: g(v01 - v00) + G01(v01 - u01) = 0
    A(v01, v01) = g + G01, A(v01, v00) = -g, A(v01, u01) = -G01;
    // v10: g(v10 - d1) + g(v10 - v11) + G10(v10 - u10) = 0
    A(v10, v10) = 2 * g + G10, A(v10, v11) = -g, A(v10, u10) = -G10, b(v10) = g * d1;
    // v11: g(v11 - v10) + G11(v11 - u11) = 0
    A(v11, v11) = g + G11, A(v11, v10) = -g, A(v11, u11) = -G11;
    // u00: G00(u00 - v00) + g(u00 - u10) = 0
    A(u00, u00) = G00 + g, A(u00, v00) = -G00, A(u00, u10) = -g;
    // u10: G10(u10 - v10) + g(u10 - u00) + g(u10 - s0) = 0
    A(u10, u10) = G10 + 2 * g, A(u10, v10) = -G10, A(u10, u00) = -g, b(u10) = g * s0;
    // u01: G01(u01 - v01) + g(u01 - u11) = 0
    A(u01, u01) = G01 + g, A(u01, v01) = -G01, A(u01, u11) = -g;
    // u11: G11(u11 - v11) + g(u11 - u01) [+ g(u11 - s1) unless column 1 floats] = 0
    A(u11, u11) = G11 + (floating1 ? 1 : 2) * g, A(u11, v11) = -G11, A(u11, u01) = -g;
    b(u11) = floating1 ? 0.0 : g * s1;
    const Eigen::Matrix<double, 8, 1> x = A.fullPivLu().solve(b);
    REQUIRE((A * x - b).cwiseAbs().maxCoeff() < 1e-15);
    Eigen::Vector2d I_ref(g * (x(u10) - s0), floating1 ? 0.0 : g * (x(u11) - s1));
    Eigen::Vector2d I_drive_ref(g * (d0 - x(v00)), g * (d1 - x(v10)));
    Eigen::Matrix2d v_ref, u_ref;
    v_ref << x(v00), x(v01), x(v10), x(v11);
    u_ref << x(u00), x(u01), x(u10), x(u11);

    const CrossbarSolver solver(make_network(Gm, r, 0.0, {false, floating1}));
    const auto s = solver.solve(Eigen::Vector2d(d0, d1), Eigen::Vector2d(s0, s1));
    double worst = std::abs(s.column_current_A(0) - I_ref(0)) / std::abs(I_ref(0));
    if (floating1) CHECK(s.column_current_A(1) == 0.0);
    else worst = std::max(worst, std::abs(s.column_current_A(1) - I_ref(1)) / std::abs(I_ref(1)));
    worst = std::max(worst, elementwise_relative_error(s.row_current_A, I_drive_ref));
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) {
            worst = std::max(worst, std::abs(s.row_node_V(i, j) - v_ref(i, j)) / std::abs(v_ref(i, j)));
            worst = std::max(worst, std::abs(s.column_node_V(i, j) - u_ref(i, j)) / std::abs(u_ref(i, j)));
        }
    INFO("worst relative error of currents and node voltages: " << worst);
    CHECK(worst < 1e-12);
    // The IR drop is not negligible here: the ideal-wire currents differ by > 1 %.
    const Eigen::VectorXd ideal = ideal_column_currents(Gm, Eigen::Vector2d(d0, d1), Eigen::Vector2d(s0, s1));
    CHECK(std::abs(ideal(0) - I_ref(0)) > 0.01 * std::abs(I_ref(0)));
}

TEST_CASE("8x8 resistive crossbar against ngspice", "[crossbar][ngspice]")
{
    const Eigen::MatrixXd G = random_conductances(8, 8, 2024);
    const Eigen::VectorXd drive = random_voltages(8, 2024);
    const double r = 2.5;
    const Eigen::VectorXd reference = ngspice_column_currents(G, r, 0.0, drive);
    const CrossbarSolver solver(make_network(G, r));
    const auto s = solver.solve(drive, Eigen::VectorXd::Zero(8));
    const double error = elementwise_relative_error(s.column_current_A, reference);
    INFO("max relative error vs ngspice: " << error);
    CHECK(error < 1e-6);
    // The comparison resolves the IR drop: the ideal-wire currents are further off.
    const double ideal_error =
        elementwise_relative_error(ideal_column_currents(G, drive, Eigen::VectorXd::Zero(8)), reference);
    INFO("ideal-wire error vs ngspice: " << ideal_error);
    CHECK(ideal_error > 100.0 * error);
}

TEST_CASE("lumped background columns: pi equivalents against every column in ngspice", "[crossbar][ngspice]")
{
    // 6 rows, 9 columns: kept columns 0, 3 and 6 carry random cells; the other six are
    // background cells to 0 V, two of them between 0 and 3, two between 3 and 6, two beyond 6.
    const Eigen::MatrixXd G = random_conductances(6, 3, 77, 1e-5, 4e-4);
    const Eigen::VectorXd drive = random_voltages(6, 78);
    const double r = 3.0, background_S = 2e-3;  // a heavy load, so the IR drop it adds is large
    const Eigen::VectorXd reference = ngspice_background_currents(G, {0, 3, 6}, 9, background_S, r, drive);

    CrossbarNetwork network = make_network(G, r);
    network.row_segments = {1, 3, 3};
    network.lumped_cell_conductance_S = background_S;
    network.trailing_lumped_columns = 2;
    const auto lumped = CrossbarSolver(network).solve(drive, Eigen::VectorXd::Zero(3));
    const double error = elementwise_relative_error(lumped.column_current_A, reference);
    INFO("max relative error vs ngspice: " << error);
    CHECK(error < 1e-6);
    // The background matters at this resolution: without it the currents are further off.
    network.lumped_cell_conductance_S = 0.0;
    const auto idle = CrossbarSolver(network).solve(drive, Eigen::VectorXd::Zero(3));
    const double idle_error = elementwise_relative_error(idle.column_current_A, reference);
    INFO("idle-array error vs ngspice: " << idle_error);
    CHECK(idle_error > 100.0 * error);
}

TEST_CASE("ladder two-port: closed forms for one and two segments, and the open tail", "[crossbar]")
{
    const double r = 2.0, g = 0.1;
    // One segment, no inner cell: just the wire.
    const LadderTwoPort one = ladder_two_port(1, r, g);
    CHECK(one.series_S == Approx(1 / r).epsilon(1e-14));
    CHECK(one.near_shunt_S == 0.0);
    CHECK(one.far_shunt_S == 0.0);
    // Two segments with the cell in the middle: the T (r, g to ground, r) as a pi:
    // series = 1/(2r + g r^2), each shunt = g r / (2r + g r^2) (star-delta).
    const LadderTwoPort two = ladder_two_port(2, r, g);
    const double denominator = 2 * r + g * r * r;
    CHECK(two.series_S == Approx(1 / denominator).epsilon(1e-14));
    CHECK(two.near_shunt_S == Approx(g * r / denominator).epsilon(1e-14));
    CHECK(two.far_shunt_S == Approx(g * r / denominator).epsilon(1e-14));
    // Open tail of one column: r in series with g; of none: nothing.
    CHECK(ladder_tail_S(1, r, g) == Approx(1 / (r + 1 / g)).epsilon(1e-14));
    CHECK(ladder_tail_S(0, r, g) == 0.0);
    // No cells: segments in series.
    CHECK(ladder_two_port(5, r, 0.0).series_S == Approx(1 / (5 * r)).epsilon(1e-14));
    CHECK_THROWS_WITH(ladder_two_port(0, r, g), Catch::Contains("segments = 0"));
    CHECK_THROWS_WITH(ladder_tail_S(2, 0.0, g), Catch::Contains("wire_ohm = 0"));
}

TEST_CASE("8x8 sinh-cell crossbar against ngspice B-sources", "[crossbar][ngspice]")
{
    const Eigen::MatrixXd G = random_conductances(8, 8, 2024);
    const Eigen::VectorXd drive = random_voltages(8, 2024);
    const double r = 2.5, alpha = 5.0;
    const Eigen::VectorXd reference = ngspice_column_currents(G, r, alpha, drive);
    const CrossbarSolver solver(make_network(G, r, alpha));
    const auto s = solver.solve(drive, Eigen::VectorXd::Zero(8));
    const double error = elementwise_relative_error(s.column_current_A, reference);
    INFO("max relative error vs ngspice: " << error << ", iterations " << s.iterations);
    CHECK(error < 1e-6);
    CHECK(s.iterations >= 2);
    CHECK(s.iterations < 20);
    // Distinguishable from both the ohmic network and the ideal-wire sinh currents.
    const auto ohmic = CrossbarSolver(make_network(G, r)).solve(drive, Eigen::VectorXd::Zero(8));
    CHECK(elementwise_relative_error(ohmic.column_current_A, reference) > 100.0 * error);
    CHECK(elementwise_relative_error(ideal_column_currents(G, drive, Eigen::VectorXd::Zero(8), alpha), reference) >
          100.0 * error);
}

TEST_CASE("wire resistance -> 0 converges to the ideal fast path; r = 0 is the fast path", "[crossbar]")
{
    const Eigen::MatrixXd G = random_conductances(6, 5, 7);
    const Eigen::VectorXd drive = random_voltages(6, 7);
    const Eigen::VectorXd sense = random_voltages(5, 8, -0.02, 0.02);
    const double alpha = GENERATE(0.0, 5.0);
    INFO("alpha = " << alpha);
    const Eigen::VectorXd ideal = ideal_column_currents(G, drive, sense, alpha);

    const auto exact = CrossbarSolver(make_network(G, 0.0, alpha)).solve(drive, sense);
    CHECK(exact.column_current_A == ideal);
    CHECK(exact.iterations == 0);
    for (Eigen::Index j = 0; j < 5; ++j) CHECK((exact.row_node_V.col(j) - drive).cwiseAbs().maxCoeff() == 0.0);
    for (Eigen::Index i = 0; i < 6; ++i)
        CHECK((exact.column_node_V.row(i).transpose() - sense).cwiseAbs().maxCoeff() == 0.0);

    double previous = std::numeric_limits<double>::infinity();
    for (double r : {1.0, 1e-2, 1e-4, 1e-6}) {
        const auto s = CrossbarSolver(make_network(G, r, alpha)).solve(drive, sense);
        const double error = relative_error(s.column_current_A, ideal);
        INFO("r = " << r << " relative error " << error);
        CHECK(error < 0.5 * previous);  // first order in r: drops ~100x per step
        previous = error;
    }
    CHECK(previous < 1e-8);
}

TEST_CASE("ohmic crossbar is linear: superposition, scaling, common-mode shift, reciprocity", "[crossbar]")
{
    const Eigen::MatrixXd G = random_conductances(7, 9, 11);
    const CrossbarSolver solver(make_network(G, 4.0));
    const Eigen::VectorXd d1 = random_voltages(7, 1), d2 = random_voltages(7, 2, -0.1, 0.1);
    const Eigen::VectorXd s1 = random_voltages(9, 3, -0.01, 0.01), s2 = random_voltages(9, 4, -0.01, 0.01);
    const auto a = solver.solve(d1, s1), b = solver.solve(d2, s2), ab = solver.solve(d1 + d2, s1 + s2);
    CHECK(relative_error(ab.column_current_A, a.column_current_A + b.column_current_A) < 1e-12);
    CHECK(relative_error(ab.row_node_V, a.row_node_V + b.row_node_V) < 1e-12);
    CHECK(relative_error(ab.column_node_V, a.column_node_V + b.column_node_V) < 1e-12);
    const auto scaled = solver.solve(-3.0 * d1, -3.0 * s1);
    CHECK(relative_error(scaled.column_current_A, -3.0 * a.column_current_A) < 1e-12);

    // Only voltage differences matter (holds for sinh cells too).
    for (double alpha : {0.0, 5.0}) {
        const CrossbarSolver any(make_network(G, 4.0, alpha));
        const auto base = any.solve(d1, s1);
        const auto shifted = any.solve(d1.array() + 0.25, s1.array() + 0.25);
        CHECK(relative_error(shifted.column_current_A, base.column_current_A) < 1e-10);
        CHECK((shifted.row_node_V.array() - base.row_node_V.array() - 0.25).abs().maxCoeff() < 1e-12);
        CHECK((shifted.column_node_V.array() - base.column_node_V.array() - 0.25).abs().maxCoeff() < 1e-12);
    }

    // Conservation: what the drivers deliver reaches the sense nodes.
    CHECK(std::abs(a.row_current_A.sum() - a.column_current_A.sum()) < 1e-13 * a.column_current_A.cwiseAbs().sum());

    // Reciprocity of the symmetric network: 1 V on driver i -> current into sense j
    // equals minus the current driver i delivers when sense j alone is at 1 V.
    for (Eigen::Index i : {0, 3, 6})
        for (Eigen::Index j : {0, 4, 8}) {
            const auto from_row = solver.solve(Eigen::VectorXd::Unit(7, i), Eigen::VectorXd::Zero(9));
            const auto from_column = solver.solve(Eigen::VectorXd::Zero(7), Eigen::VectorXd::Unit(9, j));
            CHECK(from_column.row_current_A(i) == Approx(-from_row.column_current_A(j)).epsilon(1e-12));
        }
}

TEST_CASE("ohmic crossbar factorizes once; solves are thread-safe", "[crossbar]")
{
    const Eigen::MatrixXd G = random_conductances(16, 12, 5);
    const CrossbarSolver solver(make_network(G, 1.5));
    CHECK(solver.factorization_count() == 1);
    std::vector<Eigen::VectorXd> serial;
    for (std::uint64_t k = 0; k < 40; ++k)
        serial.push_back(solver.solve(random_voltages(16, 100 + k), Eigen::VectorXd::Zero(12)).column_current_A);
    CHECK(solver.factorization_count() == 1);

    std::vector<std::vector<Eigen::VectorXd>> parallel(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (std::uint64_t k = 0; k < 40; ++k)
                parallel[t].push_back(
                    solver.solve(random_voltages(16, 100 + k), Eigen::VectorXd::Zero(12)).column_current_A);
        });
    for (auto& thread : threads) thread.join();
    for (const auto& results : parallel)
        for (std::size_t k = 0; k < 40; ++k) CHECK(results[k] == serial[k]);
    CHECK(solver.factorization_count() == 1);

    CHECK(CrossbarSolver(make_network(G, 0.0)).factorization_count() == 0);
    const CrossbarSolver nonlinear(make_network(G, 1.5, 5.0));
    CHECK(nonlinear.factorization_count() == 0);
    const auto s = nonlinear.solve(random_voltages(16, 9), Eigen::VectorXd::Zero(12));
    CHECK(nonlinear.factorization_count() == s.iterations);
}

TEST_CASE("row_blocks and sparse factorizations agree on narrow networks of every kind", "[crossbar]")
{
    using Method = CrossbarSolveOptions::Method;
    int cases = 0;
    for (Eigen::Index rows : {1, 2, 7, 64})
        for (Eigen::Index cols : {1, 2, 3, 8})
            for (double alpha : {0.0, 4.0})
                for (int variant = 0; variant < 4; ++variant) {
                    const auto seed = static_cast<std::uint64_t>(rows * 1000 + cols * 10 + variant);
                    CrossbarNetwork network = make_network(random_conductances(rows, cols, seed), 2.5, alpha);
                    if (variant >= 1 && cols > 1) {  // some zero cells, one floating column, one pinned
                        network.conductance_S(0, 0) = 0.0;
                        network.column_floating.assign(static_cast<std::size_t>(cols), false);
                        network.column_floating[1] = true;
                        if (cols > 2) {
                            network.column_floating[2] = true;
                            network.conductance_S.col(2).setZero();
                        }
                    }
                    if (variant >= 2) {  // the rest of the array lumped into the row wires
                        for (Eigen::Index j = 0; j < cols; ++j) network.row_segments.push_back(1.0 + double(j % 3));
                        network.lumped_cell_conductance_S = 1.75e-4;
                        network.trailing_lumped_columns = 5;
                    }
                    if (variant == 3) network.wire_resistance_ohm = 0.05;  // strongly coupled
                    INFO(rows << " x " << cols << ", alpha " << alpha << ", variant " << variant);
                    CrossbarSolveOptions sparse, blocks;
                    sparse.method = Method::sparse;
                    blocks.method = Method::row_blocks;
                    const CrossbarSolver a(network, sparse), b(network, blocks);
                    const Eigen::VectorXd drive = random_voltages(rows, seed, -0.05, 0.2);
                    const Eigen::VectorXd sense = random_voltages(cols, seed + 1, -0.01, 0.01);
                    const auto sa = a.solve(drive, sense), sb = b.solve(drive, sense);
                    // Voltages against the drive scale, currents against the largest current.
                    const double volts = drive.cwiseAbs().maxCoeff();
                    const double amps = sa.row_current_A.cwiseAbs().maxCoeff();
                    const double v_error = std::max((sb.row_node_V - sa.row_node_V).cwiseAbs().maxCoeff(),
                                                    (sb.column_node_V - sa.column_node_V).cwiseAbs().maxCoeff());
                    const double i_error = (sb.column_current_A - sa.column_current_A).cwiseAbs().maxCoeff();
                    INFO("voltage error " << v_error << " V of " << volts << ", current error " << i_error
                                          << " A of " << amps);
                    // 0.05 ohm wires against 1e-4 S cells: the nodal matrix's condition number
                    // is ~1e6, so the two orders of elimination differ at ~1e-11 of the drive.
                    CHECK(v_error < 1e-10 * volts);
                    CHECK(i_error <= 1e-10 * amps);
                    CHECK(sb.iterations == sa.iterations);
                    CHECK(b.factorization_count() == a.factorization_count());
                    ++cases;
                }
    CHECK(cases == 128);
    // 64 x 3 (the ADC's network) default, automatic: the row blocks.
    CrossbarSolveOptions blocks;
    blocks.method = Method::row_blocks;
    CHECK_THROWS_WITH(CrossbarSolver(make_network(random_conductances(4, 9, 1), 1.0), blocks),
                      "crossbar: the row_blocks method takes at most 8 columns, the network has 9");
}

TEST_CASE("column_response: one adjoint solve gives a column current as a function of every voltage", "[crossbar]")
{
    for (auto method : {CrossbarSolveOptions::Method::sparse, CrossbarSolveOptions::Method::row_blocks})
        for (double r : {0.0, 1.0, 6.0}) {
            INFO("r = " << r << ", method " << static_cast<int>(method));
            Eigen::MatrixXd G = random_conductances(12, 4, 77);
            G.col(3).setZero();  // floating and empty: pinned to its sense voltage
            CrossbarNetwork network = make_network(G, r, 0.0, {false, true, false, true});
            network.lumped_cell_conductance_S = r > 0 ? 1.75e-4 : 0.0;
            network.row_segments = {4, 1, 20, 2};
            CrossbarSolveOptions options;
            options.method = method;
            const CrossbarSolver solver(network, options);
            const Eigen::VectorXd drive = random_voltages(12, 5), sense = random_voltages(4, 6, -0.02, 0.02);
            for (Eigen::Index j : {0, 2}) {
                const auto response = solver.column_response(j);
                // Against one solve per voltage, and against random voltages.
                for (Eigen::Index i = 0; i < 12; ++i)
                    CHECK(response.drive_A_per_V(i) ==
                          Approx(solver.solve(Eigen::VectorXd::Unit(12, i), Eigen::VectorXd::Zero(4)).column_current_A(j))
                              .epsilon(1e-10));
                for (Eigen::Index k = 0; k < 4; ++k)
                    CHECK(response.sense_A_per_V(k) ==
                          Approx(solver.solve(Eigen::VectorXd::Zero(12), Eigen::VectorXd::Unit(4, k)).column_current_A(j))
                              .epsilon(1e-10)
                              .margin(1e-18));
                CHECK(response.drive_A_per_V.dot(drive) + response.sense_A_per_V.dot(sense) ==
                      Approx(solver.solve(drive, sense).column_current_A(j)).epsilon(1e-11));
                // Its Norton conductance lies below the cells' sum (the wires are in series).
                CHECK(-response.sense_A_per_V(j) <= G.col(j).sum() * (1 + 1e-15));
            }
            CHECK(solver.column_response(1).drive_A_per_V.isZero());  // floating
            CHECK_THROWS_WITH(solver.column_response(4), "crossbar: column_response: column 4 is not in [0, 4)");
        }
    CHECK_THROWS_WITH(CrossbarSolver(make_network(random_conductances(2, 2, 1), 1.0, 3.0)).column_response(0),
                      "crossbar: column_response needs ohmic cells (iv_alpha_per_V = 3)");
}

TEST_CASE("with_conductances: the same network refactorized equals a new solver", "[crossbar]")
{
    for (auto method : {CrossbarSolveOptions::Method::sparse, CrossbarSolveOptions::Method::row_blocks})
        for (double alpha : {0.0, 4.0}) {
            INFO("alpha = " << alpha << ", method " << static_cast<int>(method));
            CrossbarNetwork network = three_column_network(9, 3, 2.0, alpha, 1e-4, 2);
            CrossbarSolveOptions options;
            options.method = method;
            const CrossbarSolver base(network, options);
            network.conductance_S = random_conductances(9, 3, 4);
            const CrossbarSolver fresh(network, options);
            const CrossbarSolver reused = base.with_conductances(network.conductance_S);
            const Eigen::VectorXd drive = random_voltages(9, 8), sense = Eigen::VectorXd::Zero(3);
            const auto a = fresh.solve(drive, sense), b = reused.solve(drive, sense);
            CHECK(b.column_current_A == a.column_current_A);
            CHECK(b.row_node_V == a.row_node_V);
            CHECK(reused.network().conductance_S == network.conductance_S);
            CHECK(base.solve(drive, sense).column_current_A != a.column_current_A);  // the base is unchanged
        }
    const CrossbarSolver base(make_network(random_conductances(3, 2, 1), 1.0));
    CHECK_THROWS_WITH(base.with_conductances(Eigen::MatrixXd::Constant(2, 2, 1e-4)),
                      "crossbar: with_conductances: 2 x 2 conductances for a 3 x 2 network");
    Eigen::MatrixXd holes = random_conductances(3, 2, 1);
    holes(1, 0) = 0.0;
    CHECK_THROWS_WITH(base.with_conductances(holes),
                      Catch::Matchers::StartsWith("crossbar: with_conductances: conductance_S(1, 0) = 0 changes the "
                                                  "network's nonzero pattern"));
}

TEST_CASE("column_responses: a family of networks in vector lanes, bit-identical to one at a time", "[crossbar]")
{
    for (auto method : {CrossbarSolveOptions::Method::sparse, CrossbarSolveOptions::Method::row_blocks})
        for (std::size_t family : {1, 3, 4, 9}) {
            INFO(family << " networks, method " << static_cast<int>(method));
            const CrossbarNetwork network = three_column_network(10, 31, 1.5, 0.0, 1.75e-4, 1);
            CrossbarSolveOptions options;
            options.method = method;
            const CrossbarSolver base(network, options);
            std::vector<Eigen::MatrixXd> conductances;
            for (std::size_t n = 0; n < family; ++n) conductances.push_back(random_conductances(10, 3, 40 + n));
            const auto batched = base.column_responses(conductances, {0, 2, 1});
            REQUIRE(batched.size() == family);
            // The AVX2 kernels (where the CPU has them) and the portable ones agree bit for bit.
            CrossbarSolveOptions portable = options;
            portable.use_avx2 = false;
            const auto without_avx2 = CrossbarSolver(network, portable).column_responses(conductances, {0, 2, 1});
            for (std::size_t n = 0; n < family; ++n) {
                const CrossbarSolver one = base.with_conductances(conductances[n]);
                for (std::size_t c = 0; c < 3; ++c) {
                    const auto single = one.column_response(std::vector<Eigen::Index>{0, 2, 1}[c]);
                    CHECK(batched[n][c].drive_A_per_V == single.drive_A_per_V);
                    CHECK(batched[n][c].sense_A_per_V == single.sense_A_per_V);
                    CHECK(without_avx2[n][c].drive_A_per_V == single.drive_A_per_V);
                    CHECK(without_avx2[n][c].sense_A_per_V == single.sense_A_per_V);
                }
            }
        }
    const CrossbarSolver base(make_network(random_conductances(3, 2, 1), 1.0));
    CHECK_THROWS_WITH(base.column_responses({random_conductances(3, 2, 2)}, {2}),
                      "crossbar: column_responses: column 2 is not in [0, 2)");
    CHECK_THROWS_WITH(base.column_responses({Eigen::MatrixXd::Constant(3, 3, 1e-4)}, {0}),
                      "crossbar: column_responses: 3 x 3 conductances for a 3 x 2 network");
}

TEST_CASE("floating columns carry no current and keep their nodes determined", "[crossbar]")
{
    Eigen::MatrixXd G = random_conductances(5, 4, 21);
    const Eigen::VectorXd drive = random_voltages(5, 21);
    const Eigen::VectorXd sense = Eigen::VectorXd::Zero(4);
    for (double alpha : {0.0, 5.0})
        for (double r : {0.0, 3.0}) {
            INFO("alpha = " << alpha << ", r = " << r);
            const auto s = CrossbarSolver(make_network(G, r, alpha, {false, true, false, false})).solve(drive, sense);
            CHECK(s.column_current_A(1) == 0.0);
            CHECK(s.column_current_A(0) != 0.0);
            // The floating column sits between the lowest and highest drive voltage,
            // its cell currents cancel, and the drivers' current reaches the sense nodes.
            CHECK(s.column_node_V.col(1).minCoeff() > drive.minCoeff());
            CHECK(s.column_node_V.col(1).maxCoeff() < drive.maxCoeff());
            double net = 0.0, gross = 0.0;
            for (Eigen::Index i = 0; i < 5; ++i) {
                const double I = cell_current_A(G(i, 1), s.row_node_V(i, 1) - s.column_node_V(i, 1), alpha);
                net += I;
                gross += std::abs(I);
            }
            // To rounding, amplified by the wire-to-cell conductance ratio (~3e3 here).
            INFO("net " << net << " A, gross " << gross << " A");
            CHECK(std::abs(net) < 1e-11 * gross);
            CHECK(std::abs(s.row_current_A.sum() - s.column_current_A.sum()) < 1e-12 * s.row_current_A.sum());
            if (alpha == 0.0 && r == 0.0)
                CHECK(s.column_node_V(0, 1) == Approx(G.col(1).dot(drive) / G.col(1).sum()).epsilon(1e-14));
        }

    // A floating column whose cells are all zero is connected to nothing: it is
    // pinned to its sense voltage and the rest of the network is unaffected.
    G.col(2).setZero();
    const Eigen::VectorXd sense2 = Eigen::Vector4d(0.0, 0.0, 0.03, 0.0);
    for (double alpha : {0.0, 5.0}) {
        const auto isolated =
            CrossbarSolver(make_network(G, 3.0, alpha, {false, false, true, false})).solve(drive, sense2);
        const auto connected = CrossbarSolver(make_network(G, 3.0, alpha)).solve(drive, sense2);
        CHECK(isolated.column_current_A(2) == 0.0);
        CHECK(connected.column_current_A(2) == 0.0);
        CHECK((isolated.column_node_V.col(2).array() == 0.03).all());
        CHECK(relative_error(isolated.column_current_A, connected.column_current_A) < 1e-13);
        CHECK(relative_error(isolated.row_node_V, connected.row_node_V) < 1e-13);
    }
}

TEST_CASE("invalid networks and inputs throw naming the entry", "[crossbar]")
{
    const Eigen::MatrixXd G = random_conductances(5, 3, 3);
    auto with = [&](auto edit) {
        CrossbarNetwork network = make_network(G, 1.0);
        edit(network);
        return error_message([&] { CrossbarSolver solver(network); });
    };
    using Catch::Matchers::Contains;
    CHECK_THAT(with([](CrossbarNetwork& n) { n.conductance_S(3, 1) = -1e-5; }),
               Contains("conductance_S(3, 1) = -1e-05 is negative"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.conductance_S(4, 2) = std::nan(""); }),
               Contains("conductance_S(4, 2) = nan is not finite"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.conductance_S(0, 0) = INFINITY; }),
               Contains("conductance_S(0, 0) = inf is not finite"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.wire_resistance_ohm = -2.0; }),
               Contains("wire_resistance_ohm = -2 is not a finite value >= 0"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.wire_resistance_ohm = std::nan(""); }),
               Contains("wire_resistance_ohm = nan"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.wire_resistance_ohm = 1e-320; }), Contains("1/r overflows"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.iv_alpha_per_V = -1.0; }),
               Contains("iv_alpha_per_V = -1 is not a finite value >= 0"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.column_floating = {true, false}; }),
               Contains("column_floating has 2 entries, conductance_S has 3 columns"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.conductance_S.resize(0, 3); }), Contains("conductance_S is 0 x 3"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.lumped_cell_conductance_S = -1e-4; }),
               Contains("lumped_cell_conductance_S = -0.0001 is not a finite value >= 0"));
    CHECK_THAT(with([](CrossbarNetwork& n) {
                   n.lumped_cell_conductance_S = 1e-4;
                   n.row_segments = {1, 2.5, 1};
               }),
               Contains("row_segments[1] = 2.5 is not a whole number of columns"));
    CHECK_THAT(with([](CrossbarNetwork& n) { n.trailing_lumped_columns = -1; }),
               Contains("trailing_lumped_columns = -1 is not in [0, 1e6]"));
    CHECK_THAT(error_message([&] { CrossbarSolver(make_network(G, 1.0), {0.0, 10}); }),
               Contains("relative_tolerance = 0"));
    CHECK_THAT(error_message([&] { CrossbarSolver(make_network(G, 1.0), {1e-12, 0}); }),
               Contains("max_iterations = 0 is below 1"));

    for (double r : {0.0, 1.0}) {
        const CrossbarSolver solver(make_network(G, r));
        CHECK_THAT(error_message([&] { solver.solve(Eigen::VectorXd::Zero(4), Eigen::VectorXd::Zero(3)); }),
                   Contains("drive_V has 4 entries, the network has 5 rows"));
        CHECK_THAT(error_message([&] { solver.solve(Eigen::VectorXd::Zero(5), Eigen::VectorXd::Zero(2)); }),
                   Contains("sense_V has 2 entries, the network has 3 columns"));
        Eigen::VectorXd bad = Eigen::VectorXd::Zero(5);
        bad(2) = std::nan("");
        CHECK_THAT(error_message([&] { solver.solve(bad, Eigen::VectorXd::Zero(3)); }),
                   Contains("drive_V(2) = nan is not finite"));
    }
    Eigen::MatrixXd negative = G;
    negative(1, 2) = -3e-4;
    const Eigen::VectorXd zero5 = Eigen::VectorXd::Zero(5), zero3 = Eigen::VectorXd::Zero(3);
    CHECK_THAT(error_message([&] { ideal_column_currents(negative, zero5, zero3); }),
               Contains("conductance_S(1, 2) = -0.0003 is negative"));
    CHECK_THAT(error_message([&] { ideal_column_currents(G, Eigen::VectorXd::Constant(5, 1.0), zero3, 1e4); }),
               Contains("current is not finite"));

    // Non-convergence: heavy wires and strong nonlinearity with too few iterations.
    const CrossbarSolver slow(make_network(Eigen::MatrixXd::Constant(6, 6, 5e-2), 20.0, 8.0), {1e-14, 3});
    CHECK_THAT(error_message([&] { slow.solve(Eigen::VectorXd::Constant(6, 1.0), Eigen::VectorXd::Zero(6)); }),
               Contains("did not converge in 3 iterations") && Contains("relative change"));
}

TEST_CASE("ideal fast path against a direct double loop", "[crossbar]")
{
    const Eigen::MatrixXd G = random_conductances(13, 7, 31);
    const Eigen::VectorXd drive = random_voltages(13, 31, -0.2, 0.3);
    const Eigen::VectorXd sense = random_voltages(7, 32, -0.05, 0.05);
    for (double alpha : {0.0, 0.5, 5.0}) {
        Eigen::VectorXd loop = Eigen::VectorXd::Zero(7);
        for (int j = 0; j < 7; ++j)
            for (int i = 0; i < 13; ++i) {
                const double V = drive(i) - sense(j);
                loop(j) += alpha == 0.0 ? G(i, j) * V : G(i, j) * std::sinh(alpha * V) / alpha;
            }
        const Eigen::VectorXd fast = ideal_column_currents(G, drive, sense, alpha);
        INFO("alpha = " << alpha);
        CHECK(relative_error(fast, loop) < 1e-13);
    }
    // Small-signal: sinh cells approach ohmic ones as alpha -> 0.
    const Eigen::VectorXd ohmic = ideal_column_currents(G, drive, sense, 0.0);
    CHECK(relative_error(ideal_column_currents(G, drive, sense, 1e-6), ohmic) < 1e-11);
    // Exact numbers: 2 rows, 1 column.
    Eigen::MatrixXd g2(2, 1);
    g2 << 1e-4, 2e-4;
    CHECK(ideal_column_currents(g2, Eigen::Vector2d(0.5, 0.25), Eigen::VectorXd::Constant(1, 0.125))(0) ==
          Approx(1e-4 * 0.375 + 2e-4 * 0.125).epsilon(1e-15));
}

TEST_CASE("crossbar solver timings (64x64, 128x32)", "[.][crossbar-timing]")
{
    using Clock = std::chrono::steady_clock;
    for (auto [rows, cols] : {std::pair<int, int>{64, 64}, {128, 32}}) {
        const Eigen::MatrixXd G = random_conductances(rows, cols, 77);
        const auto t0 = Clock::now();
        const CrossbarSolver solver(make_network(G, 2.5));
        const auto t1 = Clock::now();
        const int solves = 200;
        double checksum = 0.0;
        for (int k = 0; k < solves; ++k)
            checksum +=
                solver.solve(random_voltages(rows, static_cast<std::uint64_t>(k)), Eigen::VectorXd::Zero(cols))
                    .column_current_A.sum();
        const auto t2 = Clock::now();
        const CrossbarSolver nonlinear(make_network(G, 2.5, 5.0));
        const auto sinh = nonlinear.solve(random_voltages(rows, 1), Eigen::VectorXd::Zero(cols));
        const auto t3 = Clock::now();
        const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
        std::cout << fmt::format("{}x{}: factorize {:.2f} ms, solve {:.3f} ms, sinh solve {:.2f} ms ({} iterations)"
                                 " [checksum {:.3g}]\n",
                                 rows, cols, ms(t1 - t0), ms(t2 - t1) / solves, ms(t3 - t2), sinh.iterations,
                                 checksum);
    }
}
