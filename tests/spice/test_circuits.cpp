// The subcircuit library circuits/nladc_cells.lib and the model cards
// circuits/models/generic65_{tt,ff,ss}.lib, each checked against theory with the ngspice
// command-line program (ngspice -b deck.cir; the values are parsed from what it prints).
// The measured numbers (R_on, op-amp gain and UGF, integrator error, comparator delay
// and offset, time per transient) are printed; circuits/README.md quotes them.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../support.hpp"

namespace {

namespace fs = std::filesystem;
using nladc::test::ScratchDir;

const fs::path kCircuits = fs::path(NLADC_SOURCE_DIR) / "circuits";
constexpr double kVdd = 1.2, kVcm = 0.9;

std::string library() { return fmt::format(".include \"{}\"\n", (kCircuits / "nladc_cells.lib").string()); }

std::string model_card(const std::string& corner)
{
    return fmt::format(".include \"{}\"\n", (kCircuits / "models" / ("generic65_" + corner + ".lib")).string());
}

std::string tail(const std::string& text, std::size_t n = 3000)
{
    return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

/// One ngspice -b run: exit code, output, and every "name = value" line it printed
/// (print and meas results; ngspice lowercases the names, the last value wins).
struct SpiceRun {
    int exit_code = -1;
    std::string out, err;
    std::map<std::string, double> values;
    double wall_s = 0;

    double at(const std::string& key) const
    {
        const auto it = values.find(key);
        if (it == values.end())
            FAIL("ngspice printed no value '" << key << "'\n--- stdout:\n" << tail(out) << "\n--- stderr:\n"
                                               << tail(err));
        return it->second;
    }
};

/// Writes `deck` to dir/name.cir and runs the ngspice program on it (NLADC_NGSPICE or
/// ngspice on PATH) in that directory, one thread (see below).
SpiceRun run_ngspice(const ScratchDir& dir, const std::string& name, const std::string& deck)
{
    const fs::path cir = dir / (name + ".cir"), out_path = dir / (name + ".out"), err_path = dir / (name + ".err");
    // "quit 0": in batch mode ngspice exits with 1 when a .control block ran the analyses
    // and the netlist has no .print ("no simulations run"); failures show as missing values
    // and as Error lines, checked below.
    // "set num_threads=1": ngspice 39 sets the OpenMP thread count of its BSIM4 load itself
    // (2 unless num_threads says otherwise) and ignores OMP_NUM_THREADS; two spinning
    // threads on a busy 2-core machine made a comparator transient 50x slower.
    std::string text = deck;
    const auto endc = text.rfind(".endc");
    if (endc != std::string::npos) text.insert(endc, "quit 0\n");
    const auto control = text.find(".control\n");
    if (control != std::string::npos) text.insert(control + 9, "set num_threads=1\n");
    nladc::test::write_text(cir, text);
    const char* env_program = std::getenv("NLADC_NGSPICE");
    const std::string program = env_program && *env_program ? env_program : "ngspice";
    // The child inherits unwritten stdio buffers; flush them so they are not written twice.
    std::cout.flush();
    std::fflush(nullptr);
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::chdir(dir.path().c_str()) != 0) ::_exit(126);
        if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr))
            ::_exit(126);
        ::setenv("OMP_NUM_THREADS", "1", 1);
        std::string arg0 = program, batch = "-b", file = cir.string();
        char* argv[] = {arg0.data(), batch.data(), file.data(), nullptr};
        ::execvp(program.c_str(), argv);
        ::_exit(127);
    }
    REQUIRE(pid > 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    SpiceRun run;
    run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.out = nladc::test::slurp(out_path);
    run.err = nladc::test::slurp(err_path);
    INFO("ngspice program: " << program << " (exit " << run.exit_code << ")\n" << tail(run.err));
    REQUIRE(run.exit_code != 127);  // not found
    REQUIRE(run.exit_code == 0);
    // Any error (netlist syntax, unknown model or parameter, a failed measurement, a
    // convergence failure) is a failure of the test.
    for (const std::string* text : {&run.out, &run.err}) {
        std::istringstream lines(*text);
        for (std::string l; std::getline(lines, l);) {
            INFO("ngspice: " << l << "\n--- stdout:\n" << tail(run.out));
            CHECK(l.find("rror") == std::string::npos);
            CHECK(l.find("imestep too small") == std::string::npos);
        }
    }
    static const std::regex line(R"(^\s*([A-Za-z_][A-Za-z0-9_]*(?:\([^)]*\))?)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))");
    std::istringstream lines(run.out);
    for (std::string l; std::getline(lines, l);) {
        std::smatch m;
        if (std::regex_search(l, m, line)) run.values[m[1].str()] = std::stod(m[2].str());
    }
    return run;
}

void report(const std::string& text) { std::cout << "[circuits] " << text << "\n"; }

// ---------------------------------------------------------------------------------------
// Integrator theory: the single-pole op-amp with feedback capacitor, the same linear
// system as the behavioral model (include/nladc/adc/behavioral.hpp), integrated with RK4.
// States relative to VCM: v_x (summing node), v_o (op-amp output before rout).
//   dv_o/dt = w_p (-A0 v_x - v_o),  w_p = 2 pi GBW / A0
//   C d(v_x - v_o)/dt = I_in(v_x) - (v_x - v_o) / R_switch
// ---------------------------------------------------------------------------------------
struct IntegratorTheory {
    double a0, gbw, c, ron, roff;
    std::function<double(double)> input_current;  ///< into the summing node, of v_x
    std::function<bool(double)> reset_closed;     ///< switch state at time t

    /// v_o (relative to VCM) at each of the sorted `times`, from the reset steady state.
    std::vector<double> output_at(const std::vector<double>& times, double dt = 0.02e-12) const
    {
        const double wp = 2 * M_PI * gbw / a0;
        // Steady state with the switch closed: v_o = -A0 v_x, I_in(v_x) = (1 + A0) v_x / ron.
        double vx = 0;
        for (int i = 0; i < 200; ++i) vx = input_current(vx) * ron / (1 + a0);
        double vo = -a0 * vx, t = 0;
        auto f = [&](double tt, double x, double o, double& dx, double& d_o) {
            const double r = reset_closed(tt) ? ron : roff;
            d_o = wp * (-a0 * x - o);
            dx = d_o + (input_current(x) - (x - o) / r) / c;
        };
        std::vector<double> result;
        for (double target : times) {
            while (t < target - 1e-18) {
                const double h = std::min(dt, target - t);
                double k1x, k1o, k2x, k2o, k3x, k3o, k4x, k4o;
                f(t, vx, vo, k1x, k1o);
                f(t + h / 2, vx + h / 2 * k1x, vo + h / 2 * k1o, k2x, k2o);
                f(t + h / 2, vx + h / 2 * k2x, vo + h / 2 * k2o, k3x, k3o);
                f(t + h, vx + h * k3x, vo + h * k3o, k4x, k4o);
                vx += h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x);
                vo += h / 6 * (k1o + 2 * k2o + 2 * k3o + k4o);
                t += h;
            }
            result.push_back(vo);
        }
        return result;
    }
};

// ---------------------------------------------------------------------------------------
// StrongARM testbench: a 200 MHz clock (low = precharge for the first half of each 5 ns
// period, high = evaluation), INN at the common mode, INP = common mode + diffs[k] in
// cycle k (changed while the clock is low). Each output drives 2 fF (a flip-flop input).
// Time step capped at 5 ps (see circuits/README.md: 50 ps resolves 1 mV wrongly).
// ---------------------------------------------------------------------------------------
constexpr double kPeriod = 5e-9;

struct ComparatorRun {
    std::vector<double> outp, outn;            ///< at the end of each evaluation phase
    std::vector<double> pre_outp, pre_outn;    ///< during each precharge phase
    std::vector<double> delay;                 ///< clock edge to the rising output crossing VDD/2
    double wall_s = 0;
};

ComparatorRun run_strongarm(const ScratchDir& dir, const std::string& corner, double cm,
                            const std::vector<double>& diffs, double dvt_p = 0, double dvt_n = 0)
{
    const int n = static_cast<int>(diffs.size());
    std::string pwl = fmt::format("0 {:.9g}", cm + diffs[0]);
    for (int k = 1; k < n; ++k)
        pwl += fmt::format(" {:.9g} {:.9g} {:.9g} {:.9g}", (5.0 * k + 0.5) * 1e-9, cm + diffs[k - 1],
                           (5.0 * k + 0.6) * 1e-9, cm + diffs[k]);
    std::string deck = fmt::format("strongarm {} cm {}\n", corner, cm) + model_card(corner) + library();
    deck += fmt::format(
        "vdd vdd 0 {vdd}\n"
        "vclk clk 0 pulse(0 {vdd} 2.5n 20p 20p 2.48n 5n)\n"
        "vinn inn 0 {cm}\n"
        "vinp inp 0 pwl({pwl})\n"
        "x1 inp inn clk outp outn vdd 0 strongarm dvt_p={dp} dvt_n={dn}\n"
        "cp outp 0 2f\ncn outn 0 2f\n"
        ".tran 5p {tstop} 0 5p\n"
        ".control\nset numdgt=9\nrun\n",
        fmt::arg("vdd", kVdd), fmt::arg("cm", cm), fmt::arg("pwl", pwl), fmt::arg("dp", dvt_p),
        fmt::arg("dn", dvt_n), fmt::arg("tstop", kPeriod * n));
    for (int k = 0; k < n; ++k) {
        const double t0 = k * kPeriod;
        deck += fmt::format("meas tran op{k} find v(outp) at={a:.6g}\nmeas tran on{k} find v(outn) at={a:.6g}\n",
                            fmt::arg("k", k), fmt::arg("a", t0 + 4.95e-9));
        deck += fmt::format("meas tran pp{k} find v(outp) at={a:.6g}\nmeas tran pn{k} find v(outn) at={a:.6g}\n",
                            fmt::arg("k", k), fmt::arg("a", t0 + 2.4e-9));
        deck += fmt::format("meas tran dl{k} trig v(clk) val={h} rise={r} targ v({o}) val={h} rise=1 td={td:.6g}\n",
                            fmt::arg("k", k), fmt::arg("h", kVdd / 2), fmt::arg("r", k + 1),
                            fmt::arg("o", diffs[k] > 0 ? "outp" : "outn"), fmt::arg("td", t0 + 2.5e-9));
    }
    deck += ".endc\n.end\n";
    const SpiceRun run = run_ngspice(dir, fmt::format("sa_{}_{:.0f}_{}", corner, cm * 1000, n), deck);
    ComparatorRun r;
    r.wall_s = run.wall_s;
    for (int k = 0; k < n; ++k) {
        r.outp.push_back(run.at(fmt::format("op{}", k)));
        r.outn.push_back(run.at(fmt::format("on{}", k)));
        r.pre_outp.push_back(run.at(fmt::format("pp{}", k)));
        r.pre_outn.push_back(run.at(fmt::format("pn{}", k)));
        const auto it = run.values.find(fmt::format("dl{}", k));
        r.delay.push_back(it == run.values.end() ? NAN : it->second);
    }
    return r;
}

/// The sinh I-V of rram_sinh: I = g sinh(alpha V) / alpha.
double sinh_current(double g, double alpha, double v) { return g * std::sinh(alpha * v) / alpha; }

}  // namespace

TEST_CASE("circuits: rram_ohmic and rram_sinh follow g V and g sinh(alpha V)/alpha", "[ngspice][circuits]")
{
    ScratchDir dir;
    const std::vector<double> volts = {-0.3, -0.1, 0.02, 0.1, 0.2, 0.3};
    std::string deck = "rram\n" + library() +
                       "va a 0 0\nvb b 0 0\nvc c 0 0\n"
                       "xo a 0 rram_ohmic g=2.5e-4\n"
                       "xs b 0 rram_sinh g=2.5e-4 alpha=3\n"
                       "xt c 0 rram_sinh g=1e-4 alpha=0.5\n"
                       ".control\nset numdgt=12\n";
    for (std::size_t i = 0; i < volts.size(); ++i)
        deck += fmt::format(
            "alter va = {v}\nalter vb = {v}\nalter vc = {v}\nop\n"
            "let io{i} = -i(va)\nlet is{i} = -i(vb)\nlet it{i} = -i(vc)\nprint io{i} is{i} it{i}\n",
            fmt::arg("v", volts[i]), fmt::arg("i", i));
    deck += ".endc\n.end\n";
    const SpiceRun run = run_ngspice(dir, "rram", deck);
    for (std::size_t i = 0; i < volts.size(); ++i) {
        const double v = volts[i];
        INFO("V = " << v);
        CHECK(run.at(fmt::format("io{}", i)) == Approx(2.5e-4 * v).epsilon(1e-6));
        CHECK(run.at(fmt::format("is{}", i)) == Approx(sinh_current(2.5e-4, 3, v)).epsilon(1e-6));
        CHECK(run.at(fmt::format("it{}", i)) == Approx(sinh_current(1e-4, 0.5, v)).epsilon(1e-6));
    }
    // The nonlinearity is visible: at 0.3 V, alpha = 3 gives sinh(0.9)/0.9 = 1.14 x ohmic.
    CHECK(run.at("is5") / run.at("io5") == Approx(std::sinh(0.9) / 0.9).epsilon(1e-6));
}

TEST_CASE("circuits: cell_1t1r is the RRAM in series with the access transistor's R_on", "[ngspice][circuits]")
{
    // Operating point: source line at VCM = 0.9 V, word line boosted to 2.0 V, bit line
    // 0.9..1.1 V. The transistor alone (same W/L, same terminals) is swept over V_DS =
    // 0..30 mV; the cell current I must then be where the transistor's I(V_DS) curve gives
    // R_eff = (V_BL - V_SL) / I = 1/g + V_DS(I) / I.
    ScratchDir dir;
    struct Cell {
        double g, vbl;
    };
    const std::vector<Cell> cells = {{1e-4, 1.0}, {1e-4, 1.1}, {2.5e-4, 1.0}, {2.5e-4, 1.1}, {4e-4, 1.0}, {4e-4, 1.1}};
    std::string deck = "cell_1t1r\n" + model_card("tt") + library() +
                       "vsl sl 0 0.9\nvwl wl 0 2.0\nvoff wloff 0 0\nvd d 0 0.9\n"
                       "mt d wl sl 0 nch w=1.6e-6 l=60e-9\n";
    for (std::size_t k = 0; k < cells.size(); ++k)
        deck += fmt::format("vb{k} bl{k} 0 {v}\nxc{k} bl{k} sl wl cell_1t1r g={g} wacc=1.6e-6 lacc=60e-9\n",
                            fmt::arg("k", k), fmt::arg("v", cells[k].vbl), fmt::arg("g", cells[k].g));
    // The default sizes are the documented 1.6 um / 60 nm; conduction in reverse; off state;
    // the word-line driver helper.
    deck += "vbd bld 0 1.1\nxd bld sl wl cell_1t1r g=4e-4\n"
            "vbr blr 0 0.8\nxr blr sl wl cell_1t1r g=4e-4\n"
            "vbo blo 0 1.1\nxo blo sl wloff cell_1t1r g=4e-4\n"
            "vbs bls 0 1.1\nxs bls sl wl cell_1t1r_sinh g=4e-4 alpha=2\n"
            "ven en 0 1.2\nxwd en wld wl_driver\nvdis dis 0 0\nxwo dis wlo wl_driver\n"
            ".control\nset numdgt=12\nop\n"
            "let icd = -i(vbd)\nlet icr = -i(vbr)\nlet ico = -i(vbo)\nlet ics = -i(vbs)\n"
            "print icd icr ico ics v(wld) v(wlo) v(xs.m)\n";
    for (std::size_t k = 0; k < cells.size(); ++k) deck += fmt::format("let ic{k} = -i(vb{k})\nprint ic{k}\n", fmt::arg("k", k));
    const int points = 31;  // V_DS = 0 .. 30 mV
    for (int j = 0; j < points; ++j)
        deck += fmt::format("alter vd = {v:.4f}\nop\nlet it{j} = -i(vd)\nprint it{j}\n", fmt::arg("v", 0.9 + 1e-3 * j),
                            fmt::arg("j", j));
    deck += ".endc\n.end\n";
    const SpiceRun run = run_ngspice(dir, "cell", deck);

    std::vector<double> vds, id;
    for (int j = 0; j < points; ++j) {
        vds.push_back(1e-3 * j);
        id.push_back(run.at(fmt::format("it{}", j)));
    }
    for (int j = 1; j < points; ++j) REQUIRE(id[j] > id[j - 1]);  // monotonic: invertible
    auto vds_at = [&](double current) {
        for (int j = 1; j < points; ++j)
            if (current <= id[j]) return vds[j - 1] + (current - id[j - 1]) / (id[j] - id[j - 1]) * (vds[j] - vds[j - 1]);
        FAIL("cell current " << current << " A beyond the transistor sweep");
        return 0.0;
    };
    const double r_on_10mV = vds[10] / id[10];
    report(fmt::format("1T1R access NMOS W/L = 1.6 um / 60 nm, V_WL = 2.0 V, V_SL = 0.9 V: R_on = {:.1f} ohm at "
                       "V_DS = 1 mV, {:.1f} ohm at 10 mV, {:.1f} ohm at 30 mV",
                       vds[1] / id[1], r_on_10mV, vds[30] / id[30]));
    CHECK(r_on_10mV > 180);
    CHECK(r_on_10mV < 220);
    for (std::size_t k = 0; k < cells.size(); ++k) {
        const double i = run.at(fmt::format("ic{}", k));
        const double r_eff = (cells[k].vbl - 0.9) / i;
        const double r_on = vds_at(i) / i;
        INFO("g = " << cells[k].g << " S, V_BL = " << cells[k].vbl << " V");
        CHECK(r_eff == Approx(1 / cells[k].g + r_on).epsilon(1e-5));
        CHECK(r_on > 180);
        CHECK(r_on < 220);
        report(fmt::format("cell g = {:.0f} uS, V_BL = {:.1f} V: I = {:.3f} uA, R_eff = {:.1f} ohm = 1/g + R_on, "
                           "R_on = {:.1f} ohm",
                           cells[k].g * 1e6, cells[k].vbl, i * 1e6, r_eff, r_on));
    }
    CHECK(run.at("icd") == Approx(run.at("ic5")).epsilon(1e-9));  // defaults = 1.6 um / 60 nm
    // Reverse (V_BL = 0.8 V < V_SL): the cell conducts the other way; the NMOS source is then
    // the internal node, with less gate drive, so R_on is higher but the same order.
    const double r_rev = (0.8 - 0.9) / run.at("icr");
    report(fmt::format("cell g = 400 uS reversed (V_BL = 0.8 V): R_eff = {:.1f} ohm (R_on ~ {:.1f} ohm)", r_rev,
                       r_rev - 2500));
    CHECK(run.at("icr") < 0);
    CHECK(r_rev - 2500 > 150);
    CHECK(r_rev - 2500 < 400);
    CHECK(std::abs(run.at("ico")) < 1e-9);  // word line low: off
    // The sinh cell: the RRAM part carries g sinh(alpha V)/alpha of its own voltage, the
    // transistor the same R_on.
    const double i_sinh = run.at("ics"), v_m = run.at("v(xs.m)");
    CHECK(i_sinh == Approx(sinh_current(4e-4, 2, 1.1 - v_m)).epsilon(1e-6));
    CHECK((v_m - 0.9) / i_sinh == Approx(vds_at(i_sinh) / i_sinh).epsilon(1e-3));
    CHECK(run.at("v(wld)") == Approx(2.0).epsilon(1e-9));
    CHECK(std::abs(run.at("v(wlo)")) < 1e-9);
}

TEST_CASE("circuits: opamp_1p has DC gain a0, unity-gain frequency gbw, output resistance rout",
          "[ngspice][circuits]")
{
    ScratchDir dir;
    const std::string deck = "opamp\n" + library() +
                             "vp p 0 dc 0.9 ac 1\nvn n 0 dc 0.9\n"
                             "x1 p n o1 opamp_1p\n"
                             "x2 p n o2 opamp_1p a0=500 gbw=1e9 rout=1000\n"
                             // output resistance: 100 uA pushed into the output, inputs equal
                             "x3 n n o3 opamp_1p\nit 0 o3 dc 100u\n"
                             // clamp: 100 mV overdrive either way; linear 50 mV from the rail
                             "vhi hi 0 1.0\nvlo lo 0 0.8\nvnr nr 0 0.90025\n"
                             "x4 hi n o4 opamp_1p\nx5 lo n o5 opamp_1p\nx6 nr n o6 opamp_1p\n"
                             ".control\nset numdgt=12\nop\nprint v(o3) v(o4) v(o5) v(o6)\n"
                             "ac dec 200 0.1 1e12\n"
                             "meas ac g1 find vm(o1) at=1\nmeas ac g2 find vm(o2) at=1\n"
                             "meas ac u1 when vdb(o1)=0\nmeas ac u2 when vdb(o2)=0\n"
                             "meas ac p1 when vp(o1)=-0.785398163\n"
                             "print g1 g2 u1 u2 p1\n.endc\n.end\n";
    const SpiceRun run = run_ngspice(dir, "opamp", deck);
    // |A(f)| = a0 / sqrt(1 + (f/fp)^2), fp = gbw / a0: at 1 Hz |A| = a0; |A| = 1 at
    // f = fp sqrt(a0^2 - 1) ~ gbw; the phase is -45 degrees at fp.
    CHECK(run.at("g1") == Approx(1000).epsilon(0.01));
    CHECK(run.at("g2") == Approx(500).epsilon(0.01));
    CHECK(run.at("u1") == Approx(2e6 * std::sqrt(1000.0 * 1000 - 1)).epsilon(0.01));
    CHECK(run.at("u2") == Approx(2e6 * std::sqrt(500.0 * 500 - 1)).epsilon(0.01));
    CHECK(run.at("p1") == Approx(2e6).epsilon(0.01));
    CHECK((run.at("v(o3)") - kVcm) / 100e-6 == Approx(2000).epsilon(1e-6));
    CHECK(run.at("v(o4)") > 1.2);
    CHECK(run.at("v(o4)") < 1.26);
    CHECK(run.at("v(o5)") < 0.0);
    CHECK(run.at("v(o5)") > -0.06);
    CHECK(run.at("v(o6)") == Approx(1.15).epsilon(1e-6));
    report(fmt::format("opamp_1p: DC gain {:.2f} (a0 = 1000), UGF {:.4g} Hz (gbw = 2e9), pole {:.4g} Hz, "
                       "rout {:.1f} ohm; clamp at +-100 mV overdrive: {:.4f} / {:.4f} V",
                       run.at("g1"), run.at("u1"), run.at("p1"), (run.at("v(o3)") - kVcm) / 100e-6, run.at("v(o4)"),
                       run.at("v(o5)")));
}

TEST_CASE("circuits: integrator output swing against the finite-gain, finite-GBW theory", "[ngspice][circuits]")
{
    // Schedule: reset (rst high) until 0.505 ns, integrate for T = 2 ns (u read at 2.505 ns),
    // keep integrating to 2.605 ns, reset again for 0.5 ns (read at 3.105 ns).
    const double t_open = 0.505e-9, t_close = 2.605e-9, T = 2e-9;
    const double t_read = t_open + T, t_reset_end = t_close + 0.5e-9;
    auto closed = [=](double t) { return t < t_open || t >= t_close; };
    const std::string schedule = "vrst rst 0 pwl(0 1.2 0.5n 1.2 0.51n 0 2.6n 0 2.61n 1.2)\n";
    auto deck = [&](const std::string& drive, const std::string& params) {
        return "integrator\n" + library() + schedule + drive + "x1 in out rst integrator " + params +
               "\n.tran 1p 3.11n 0 1p\n.options reltol=1e-5\n.control\nset numdgt=12\nrun\n"
               "meas tran tsw when v(rst)=0.6 fall=1\n" +
               fmt::format("meas tran vend find v(out) at={:.6g}\nmeas tran vres find v(out) at={:.6g}\n", t_read,
                           t_reset_end) +
               "print tsw vend vres\n.endc\n.end\n";
    };
    ScratchDir dir;

    SECTION("ideal current source: u = (A0/(A0+1)) (I/C) (T - (1 - e^(-aT))/a), a = 2 pi GBW (A0+1)/A0")
    {
        // Charge conservation at the summing node: C (v_x - v_o) = I t exactly, and
        // v_x = (u + u'/w_p)/A0: the output lags by 1/a and loses 1/(A0+1) of the swing.
        const double a0 = 1000, gbw = 2e9, c = 100e-15, i_in = 10e-6, ron = 10;
        const SpiceRun run = run_ngspice(dir, "integ_i", deck("iin 0 in dc 10u\n", "c=100f"));
        CHECK(run.at("tsw") == Approx(t_open).epsilon(1e-3));
        IntegratorTheory theory{a0, gbw, c, ron, 1e12, [=](double) { return i_in; }, closed};
        const auto vo = theory.output_at({t_read, t_reset_end});
        const double u_spice = kVcm - run.at("vend"), u_theory = -vo[0];
        const double a = 2 * M_PI * gbw * (a0 + 1) / a0;
        const double u_closed = a0 / (a0 + 1) * i_in / c * (T - (1 - std::exp(-a * T)) / a);
        const double u_ideal = i_in * T / c;
        CHECK(u_spice == Approx(u_theory).epsilon(3e-4));
        CHECK(u_theory == Approx(u_closed).epsilon(1e-3));  // closed form (starts at u = 0)
        // Reset: the output returns to VCM with the unity-gain time constant 1/(2 pi GBW):
        // 0.5 ns leaves u e^(-2 pi GBW 0.5 ns) = 0.19 % of u.
        const double v_res = run.at("vres");
        CHECK(v_res == Approx(kVcm + vo[1]).margin(30e-6));
        CHECK(std::abs(v_res - kVcm) < 1e-3);
        report(fmt::format("integrator (I = 10 uA, C = 100 fF, T = 2 ns, A0 = 1000, GBW = 2 GHz): u = {:.6f} V, "
                           "theory {:.6f} V, ideal I T/C = {:.3f} V, error vs ideal {:+.3f} % (theory {:+.3f} % = "
                           "-1/(A0+1) - 1/(a T)); after 0.5 ns reset {:+.3f} mV from VCM (theory {:+.3f} mV)",
                           u_spice, u_theory, u_ideal, 100 * (u_spice / u_ideal - 1), 100 * (u_theory / u_ideal - 1),
                           1e3 * (v_res - kVcm), 1e3 * vo[1]));
    }

    SECTION("conductance G from VCM + V: the A0-dependent error of a real column")
    {
        // First order in 1/A0 and tau_g = 1/(2 pi GBW): the relative error of u(T) against
        // G V T / C is  -1/A0 - G T/(2 A0 C) - G tau_g / C - tau_g / T   (circuits/README.md).
        const double a0 = 100, gbw = 20e9, c = 100e-15, g = 1e-4, v = 0.2, ron = 10;
        const SpiceRun run = run_ngspice(dir, "integ_g", deck("vdrv drv 0 1.1\nrg drv in 10k\n", "c=100f a0=100 gbw=20e9"));
        IntegratorTheory theory{a0, gbw, c, ron, 1e12, [=](double vx) { return g * (v - vx); }, closed};
        const auto vo = theory.output_at({t_read, t_reset_end});
        const double u_spice = kVcm - run.at("vend"), u_theory = -vo[0];
        const double u_ideal = g * v * T / c;
        const double tau_g = 1 / (2 * M_PI * gbw);
        const double err_first_order = -1 / a0 - g * T / (2 * a0 * c) - g * tau_g / c - tau_g / T;
        const double err_spice = u_spice / u_ideal - 1, err_theory = u_theory / u_ideal - 1;
        CHECK(u_spice == Approx(u_theory).epsilon(3e-4));
        CHECK(err_spice == Approx(err_theory).epsilon(0.02));       // the error itself, within 2 %
        CHECK(err_theory == Approx(err_first_order).epsilon(0.1));  // first-order formula, within 10 %
        CHECK(err_spice < -0.02);                                   // a visible, A0-dependent error
        CHECK(std::abs(run.at("vres") - (kVcm + vo[1])) < 30e-6);
        report(fmt::format("integrator (G = 100 uS from VCM + 0.2 V, C = 100 fF, T = 2 ns, A0 = 100, GBW = 20 GHz): "
                           "u = {:.6f} V, theory {:.6f} V, ideal G V T/C = {:.3f} V; error vs ideal {:+.3f} % "
                           "(theory {:+.3f} %, first order {:+.3f} %)",
                           u_spice, u_theory, u_ideal, 100 * err_spice, 100 * err_theory, 100 * err_first_order));
    }
}

TEST_CASE("circuits: ngspice 39 honours delvto on BSIM4 instances (a vth0 shift)", "[ngspice][circuits]")
{
    // The same device with delvto = +50 mV and with a model whose vth0 is 50 mV higher must
    // carry the same current; without the shift it carries clearly more.
    const std::string card = nladc::test::slurp(kCircuits / "models" / "generic65_tt.lib");
    const auto start = card.find(".model nch nmos");
    REQUIRE(start != std::string::npos);
    const auto stop = card.find(".model", start + 1);
    std::string shifted = card.substr(start, stop - start);
    shifted.replace(0, std::string(".model nch").size(), ".model nchv");
    std::smatch m;
    REQUIRE(std::regex_search(shifted, m, std::regex(R"(vth0=([-+0-9.eE]+))")));
    const double vth0 = std::stod(m[1].str());
    shifted = std::regex_replace(shifted, std::regex(R"(vth0=[-+0-9.eE]+)"), fmt::format("vth0={:.6f}", vth0 + 0.05));

    ScratchDir dir;
    const std::string deck = "delvto\n" + model_card("tt") + shifted +
                             "vd d 0 0.05\nvg g 0 0.6\nvd2 d2 0 1.2\nvg2 g2 0 0.9\n"
                             "m1 d g 0 0 nch w=1u l=60n delvto=0.05\nm2 d g 0 0 nchv w=1u l=60n\n"
                             "m3 d g 0 0 nch w=1u l=60n\n"
                             "m4 d2 g2 0 0 nch w=1u l=60n delvto=0.05\nm5 d2 g2 0 0 nchv w=1u l=60n\n"
                             "m6 d2 g2 0 0 nch w=1u l=60n\n"
                             ".control\nset numdgt=12\nop\n"
                             "let i1 = @m1[id]\nlet i2 = @m2[id]\nlet i3 = @m3[id]\n"
                             "let i4 = @m4[id]\nlet i5 = @m5[id]\nlet i6 = @m6[id]\nprint i1 i2 i3 i4 i5 i6\n"
                             ".endc\n.end\n";
    const SpiceRun run = run_ngspice(dir, "delvto", deck);
    CHECK(run.at("i1") == Approx(run.at("i2")).epsilon(1e-9));
    CHECK(run.at("i4") == Approx(run.at("i5")).epsilon(1e-9));
    CHECK(run.at("i3") > 1.3 * run.at("i1"));
    CHECK(run.at("i6") > 1.05 * run.at("i4"));
}

TEST_CASE("circuits: model cards have 65 nm-like thresholds and currents, ordered FF > TT > SS",
          "[ngspice][circuits]")
{
    // Constant-current threshold (100 nA x W/L at |V_DS| = 50 mV) and I_on (|V_GS| = |V_DS| =
    // 1.2 V) of W/L = 1 um / 60 nm devices.
    ScratchDir dir;
    std::map<std::string, std::map<std::string, double>> measured;
    for (const std::string corner : {"tt", "ff", "ss"}) {
        const double icrit = 100e-9 / 0.06;
        const std::string deck =
            "cards " + corner + "\n" + model_card(corner) +
            "vdn dn 0 0.05\nvgn gn 0 0\nmn dn gn 0 0 nch w=1u l=60n\n"
            "vdp dp 0 -0.05\nvgp gp 0 0\nmp dp gp 0 0 pch w=1u l=60n\n"
            ".control\nset numdgt=9\n" +
            fmt::format("dc vgn 0 1.2 0.001\nmeas dc vtn when i(vdn)={:.6g}\nprint vtn\n", -icrit) +
            fmt::format("dc vgp 0 -1.2 -0.001\nmeas dc vtp when i(vdp)={:.6g}\nprint vtp\n", icrit) +
            "alter vdn = 1.2\nalter vdp = -1.2\nalter vgn = 1.2\nalter vgp = -1.2\nop\n"
            "let ionn = -i(vdn)\nlet ionp = i(vdp)\nprint ionn ionp\nalter vgn = 0\nalter vgp = 0\nop\n"
            "let ioffn = -i(vdn)\nprint ioffn\n.endc\n.end\n";
        const SpiceRun run = run_ngspice(dir, "cards_" + corner, deck);
        for (const std::string key : {"vtn", "vtp", "ionn", "ionp", "ioffn"}) measured[corner][key] = run.at(key);
        report(fmt::format("generic65_{}: Vth_n {:.3f} V, Vth_p {:.3f} V (lin, 100 nA W/L), Ion_n {:.0f} uA/um, "
                           "Ion_p {:.0f} uA/um, Ioff_n {:.2g} A/um",
                           corner, measured[corner]["vtn"], measured[corner]["vtp"], 1e6 * measured[corner]["ionn"],
                           1e6 * measured[corner]["ionp"], measured[corner]["ioffn"]));
    }
    const auto& tt = measured["tt"];
    CHECK(tt.at("vtn") > 0.35);
    CHECK(tt.at("vtn") < 0.45);
    CHECK(tt.at("vtp") < -0.35);
    CHECK(tt.at("vtp") > -0.45);
    CHECK(tt.at("ionn") > 600e-6);
    CHECK(tt.at("ionn") < 1300e-6);
    CHECK(tt.at("ionp") > 250e-6);
    CHECK(tt.at("ionp") < 700e-6);
    CHECK(tt.at("ioffn") < 1e-9);
    for (const std::string key : {"ionn", "ionp"}) {
        CHECK(measured["ff"][key] > tt.at(key) * 1.1);
        CHECK(measured["ss"][key] < tt.at(key) / 1.1);
    }
    CHECK(measured["ff"]["vtn"] == Approx(tt.at("vtn") - 0.04).margin(0.005));
    CHECK(measured["ss"]["vtn"] == Approx(tt.at("vtn") + 0.04).margin(0.005));
}

TEST_CASE("circuits: strongarm resolves +-1 mV within one 200 MHz clock at TT, FF, SS", "[ngspice][circuits]")
{
    // Cycles: +1 mV, -1 mV, +10 mV, -10 mV. OUTP high <=> V(INP) > V(INN), OUTN the
    // complement; both low while the clock is low. The decision delay must be below the
    // technology's comparator.resolve_time_s (0.5 ns) over the whole signal range 0.3..0.9 V.
    ScratchDir dir;
    const std::vector<double> diffs = {1e-3, -1e-3, 10e-3, -10e-3};
    for (const std::string corner : {"tt", "ff", "ss"}) {
        for (double cm : {0.3, 0.7, 0.9}) {
            const ComparatorRun r = run_strongarm(dir, corner, cm, diffs);
            INFO("corner " << corner << ", common mode " << cm << " V");
            for (std::size_t k = 0; k < diffs.size(); ++k) {
                INFO("cycle " << k << ", V(INP) - V(INN) = " << diffs[k] << " V");
                const bool high = diffs[k] > 0;
                CHECK((high ? r.outp[k] : r.outn[k]) > 0.9 * kVdd);
                CHECK((high ? r.outn[k] : r.outp[k]) < 0.1 * kVdd);
                CHECK(r.pre_outp[k] < 0.1 * kVdd);
                CHECK(r.pre_outn[k] < 0.1 * kVdd);
                CHECK(r.delay[k] > 0);
                CHECK(r.delay[k] < 0.5e-9);
            }
            report(fmt::format("strongarm {} CM {:.1f} V: delay +1 mV {:.0f} ps, -1 mV {:.0f} ps, +10 mV {:.0f} ps, "
                               "-10 mV {:.0f} ps; tau_regen ~ {:.1f} ps; {:.3f} s for {} cycles ({:.0f} ms/cycle)",
                               corner, cm, r.delay[0] * 1e12, r.delay[1] * 1e12, r.delay[2] * 1e12,
                               r.delay[3] * 1e12, (r.delay[0] - r.delay[2]) / std::log(10.0) * 1e12, r.wall_s,
                               diffs.size(), r.wall_s / diffs.size() * 1e3));
        }
    }
}

TEST_CASE("circuits: strongarm input-pair threshold mismatch (dvt_p, dvt_n) moves the switching point",
          "[ngspice][circuits]")
{
    // dvt_p - dvt_n = +-10 mV: the inp transistor is weaker (stronger), so the decision
    // flips near V(INP) - V(INN) = +-10 mV. One cycle per input difference, 0.25 mV apart.
    ScratchDir dir;
    for (const double sign : {+1.0, -1.0}) {
        const double dvt = 10e-3 * sign;
        std::vector<double> diffs;
        for (int j = 0; j <= 20; ++j) diffs.push_back(sign * (8e-3 + 0.25e-3 * j));
        const ComparatorRun r = run_strongarm(dir, "tt", 0.7, diffs, dvt / 2, -dvt / 2);
        // Decisions must be clean and monotonic in the input difference.
        double last_low = -1, first_high = 1;
        for (std::size_t k = 0; k < diffs.size(); ++k) {
            INFO("V(INP) - V(INN) = " << diffs[k]);
            const bool high = r.outp[k] > 0.9 * kVdd && r.outn[k] < 0.1 * kVdd;
            const bool low = r.outn[k] > 0.9 * kVdd && r.outp[k] < 0.1 * kVdd;
            REQUIRE(high != low);
            if (high) first_high = std::min(first_high, diffs[k]);
            if (low) last_low = std::max(last_low, diffs[k]);
        }
        REQUIRE(last_low < first_high);  // monotonic
        REQUIRE(last_low > -1);          // the switching point lies inside the sweep
        REQUIRE(first_high < 1);
        const double trip = 0.5 * (last_low + first_high);
        CHECK(trip == Approx(dvt).margin(1.5e-3));
        report(fmt::format("strongarm TT CM 0.7 V, delvto(inp) - delvto(inn) = {:+.0f} mV: switches at "
                           "V(INP) - V(INN) = {:+.3f} mV (+-0.125 mV), {:.3f} mV per mV of delvto difference; "
                           "{:.3f} s for {} cycles",
                           dvt * 1e3, trip * 1e3, trip / dvt, r.wall_s, diffs.size()));
    }
}
