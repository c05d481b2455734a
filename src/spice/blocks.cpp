#include "nladc/spice/blocks.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <complex>
#include <numbers>
#include <regex>

#include "nladc/adc/behavioral.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/least_squares.hpp"
#include "nladc/spice/extract.hpp"

namespace nladc::spice {

namespace {

using Complex = std::complex<double>;
constexpr double kPi = std::numbers::pi;

/// What every testbench shares: sizes, timing and the library preamble.
struct Bench {
    const Technology& tech;
    NetlistOptions options;
    std::vector<std::filesystem::path> libraries;
    SenseSizing size;
    double vcm, vdd, c, rout, line_F, edge;

    Bench(const ReplicaDesign& design, const Technology& t, const NetlistOptions& o)
        : tech(t), options(o), vcm(t.spice.common_mode_V), vdd(t.spice.supply_V), c(t.sense.capacitance_F),
          rout(t.sense.opamp_output_resistance_ohm),
          line_F(t.array.columns * (t.comparator.hold_capacitance_F + t.comparator.ramp_wire_capacitance_F +
                                    t.comparator.input_capacitance_F)),
          edge(t.spice.edge_time_s)
    {
        (void)design;
        options.circuit = "transistor";
        options.inline_library = false;
        libraries = testbench_libraries(tech, options);
        size = sense_sizing(tech);
    }

    std::string head(const std::string& name) const
    {
        return fmt::format("nladc block testbench {}\n", name) + testbench_preamble(tech, options, libraries) +
               fmt::format("Vdd vdd 0 {:.9g}\nVcm vcm 0 {:.9g}\n", vdd, vcm);
    }
    std::string integrator(const std::string& in, const std::string& out, const std::string& rst) const
    {
        return fmt::format("Xint {} {} {} {}_b vcm vdd 0 integrator_ota c={:.9g} k={:.6g} rout={:.9g} wn_rst={:.6g} "
                           "wp_rst={:.6g}\n",
                           in, out, rst, rst, c, size.ota_k, rout, size.reset_wn_m, size.reset_wp_m);
    }
    /// A logic control (and its complement) high until t_off; boosted to the word-line level.
    std::string control(const std::string& name, double t_off, bool boosted) const
    {
        const double high = boosted ? tech.spice.word_line_V : vdd;
        std::string s = fmt::format("V{} {} 0 PWL(0 {:.6g} {:.9g} {:.6g} {:.9g} 0)\n", name, name, high, t_off, high,
                                    t_off + edge);
        if (!boosted)
            s += fmt::format("V{}_b {}_b 0 PWL(0 0 {:.9g} 0 {:.9g} {:.6g})\n", name, name, t_off, t_off + edge, vdd);
        return s;
    }
};

SimulationRequest request(std::string text, std::vector<std::string> vectors, double timeout_s = 120.0)
{
    return {std::move(text), std::move(vectors), timeout_s};
}

/// A .meas result from what ngspice printed ("stdout name = value"); NaN when `optional`
/// and ngspice printed none (e.g. a loop gain that never crosses unity).
double measurement(const SimulationResult& result, const std::string& name, const std::string& testbench,
                   bool optional = false)
{
    const std::regex line("(^|\\n)stdout " + name + "\\s*=\\s*([-+0-9.eE]+)");
    std::smatch m;
    if (std::regex_search(result.log, m, line)) return std::stod(m[2].str());
    if (optional) return NAN;
    throw Error(fmt::format("block testbench {}: ngspice printed no measurement '{}'", testbench, name));
}

double value_of(const SimulationResult& result, const std::string& vector, const std::string& testbench)
{
    const auto found = result.vectors.find(vector);
    if (found == result.vectors.end() || found->second.size() == 0)
        throw Error(fmt::format("block testbench {}: no vector '{}'", testbench, vector));
    return found->second(found->second.size() - 1);
}

const Eigen::VectorXd& vector_of(const SimulationResult& result, const std::string& vector, const std::string& testbench)
{
    const auto found = result.vectors.find(vector);
    if (found == result.vectors.end() || found->second.size() < 2)
        throw Error(fmt::format("block testbench {}: no vector '{}'", testbench, vector));
    return found->second;
}

/// The behavioral op-amp's gain into the integrator's load at frequency f: single pole
/// (A0, w_t) behind R_o, loaded by C into a column G (open when G = 0) in parallel with
/// R_out into the line.
double model_gain(double f, double a0, double w_t, double r_o, double c, double g, double rout, double line_F)
{
    const Complex s(0.0, 2 * kPi * f);
    const Complex a = a0 / (1.0 + s * a0 / w_t);
    const Complex line = rout + 1.0 / (s * line_F);
    const Complex load = g > 0 ? 1.0 / (1.0 / (1.0 / (s * c) + 1.0 / g) + 1.0 / line) : line;
    return std::abs(a * load / (load + r_o));
}

/// The frequency the single-pole fit matches the gain at: 1 / (4 T), where the
/// integration's ramp has its energy (the charge the integrator loses is set by the gain
/// there, not at the unity-gain frequency, where the second pole bends the response).
double fit_frequency_Hz(const Technology& tech) { return 0.25 / tech.sense.integration_time_s; }

/// w_t and R_o such that the model's gain at frequency f equals the measured gains
/// a_unloaded (no column) and a_loaded (column g1). Newton on (log w_t, R_o).
std::pair<double, double> fit_single_pole(double a0, double f, double a_unloaded, double a_loaded, double c, double g1,
                                          double rout, double line_F)
{
    double log_wt = std::log(2 * kPi * f * a_unloaded), r_o = 20.0;
    auto residual = [&](double lw, double r) {
        return Eigen::Vector2d(std::log(model_gain(f, a0, std::exp(lw), r, c, 0.0, rout, line_F) / a_unloaded),
                               std::log(model_gain(f, a0, std::exp(lw), r, c, g1, rout, line_F) / a_loaded));
    };
    for (int iteration = 0; iteration < 60; ++iteration) {
        const Eigen::Vector2d r = residual(log_wt, r_o);
        if (r.norm() < 1e-10) break;
        Eigen::Matrix2d j;
        j.col(0) = (residual(log_wt + 1e-6, r_o) - r) / 1e-6;
        j.col(1) = (residual(log_wt, r_o + 1e-3) - r) / 1e-3;
        const Eigen::Vector2d step = j.colPivHouseholderQr().solve(-r);
        log_wt += std::clamp(step(0), -0.5, 0.5);
        r_o = std::max(0.0, r_o + std::clamp(step(1), -50.0, 50.0));
    }
    const Eigen::Vector2d r = residual(log_wt, r_o);
    if (!(r.norm() < 1e-6))
        throw Error(fmt::format("block extraction: no single-pole op-amp (A0 {:.4g}) has gain {:.4g} unloaded and "
                                "{:.4g} with {:.4g} S at {:.4g} Hz",
                                a0, a_unloaded, a_loaded, g1, f));
    return {std::exp(log_wt) / (2 * kPi), r_o};
}

/// Phase margin (degrees) from the phase of v(sumd) (radians) where |T| = 1: T = -v(sumd).
double phase_margin(double phase_rad)
{
    double t = phase_rad + kPi;
    while (t > 0) t -= 2 * kPi;
    while (t <= -2 * kPi) t += 2 * kPi;
    return 180.0 + t * 180.0 / kPi;
}

}  // namespace

std::vector<ExtractedParameter> BlockCharacterization::parameters() const
{
    return {
        {"sense.opamp_gain", dc_gain, "V/V", "ota_open_loop_G0"},
        {"sense.opamp_gbw_Hz", gbw_Hz, "Hz", "integrator_step_0..5 (from ota_open_loop_G0, ota_open_loop_Ghi)"},
        {"sense.opamp_open_loop_output_ohm", output_ohm, "ohm", "ota_open_loop_G0, ota_open_loop_Ghi"},
        {"sense.output_swing_V", common_mode_V - swing_low_V, "V", "ota_swing"},
        {"sense.opamp_max_current_A", sink_A, "A", "ota_op"},
        {"sense.opamp_bias_power_W", supply_V * (supply_A - sink_A), "W", "ota_op"},
        {"sense.opamp_output_stage_power_W", supply_V * sink_A / ota_k, "W", "ota_op"},
        {"sense.conveyor_power_W", supply_V * conveyor_supply_A, "W", "conveyor_dc"},
        {"sense.reset_switch_ohm", reset_switch_ohm.empty() ? 0.0 : reset_switch_ohm.back(), "ohm", "switches"},
        {"sense.select_switch_ohm", select_switch_ohm, "ohm", "switches"},
        {"sense.reset_injection_C", reset_injection_C, "C", "integrator_step_0..5 (from injection_replica)"},
        {"sense.select_injection_C", select_injection_C, "C", "injection_replica"},
        {"sense.mirror_injection_C", mirror_injection_C, "C", "injection_mac"},
        {"sense.column_mirror_gain", mirror_gain, "", "conveyor_dc, switches"},
        {"comparator.offset_per_mismatch", comparator_offset_per_mismatch, "V/V", "comparator_offset_*"},
    };
}

BlockCharacterization characterize_blocks(const ReplicaDesign& design, const Technology& tech, WorkerPool& pool,
                                          const NetlistOptions& options)
{
    const auto start = std::chrono::steady_clock::now();
    const Bench b(design, tech, options);
    BlockCharacterization x;
    x.corner = options.corner;
    x.temperature_C = options.temperature_C;
    x.ota_k = b.size.ota_k;
    x.common_mode_V = b.vcm;
    x.supply_V = b.vdd;
    x.capacitance_F = b.c;

    // Column conductances: none (hold), the replica column, the heaviest MAC column.
    double replica_S = 0.0;
    for (double g : nominal_chip(design, tech).replica_conductance_S) replica_S += g;
    replica_S += (tech.array.rows - static_cast<int>(design.cells.size())) * tech.device.g_off_S;
    const double access = tech.device.cell_type == "1T1R" ? tech.device.access_resistance_ohm : 0.0;
    const double heaviest_S = tech.array.rows * tech.device.g_max_S / (1.0 + tech.device.g_max_S * access);
    x.load_conductance_S = {0.0, replica_S, heaviest_S};
    const std::vector<std::string> loads = {"G0", "Grep", "Ghi"};

    std::vector<SimulationRequest> requests;
    std::vector<std::string> names;
    auto add = [&](const std::string& name, std::string text, std::vector<std::string> vectors) {
        names.push_back(name);
        requests.push_back(request(std::move(text), std::move(vectors)));
    };

    // ota_open_loop_*: the DC loop closed through 1 GOhm / 1 F, open at AC.
    for (std::size_t i = 0; i < loads.size(); ++i) {
        const double g = x.load_conductance_S[i];
        std::string n = b.head("ota_open_loop_" + loads[i]);
        n += "Vin acs 0 dc 0 ac 1\nRfb out inn 1e9\nCbig inn acs 1\n";
        n += fmt::format("X1 vcm inn out vdd 0 ota_miller k={:.6g}\n", b.size.ota_k);
        n += fmt::format("Cf out sumd {:.9g}\nRc sumd 0 {:.9g}\n", b.c, g > 0 ? 1.0 / g : 1e12);
        n += fmt::format("Rout out line {:.9g}\nCline line 0 {:.9g}\n", b.rout, b.line_F);
        n += ".ac dec 40 1e3 1e11\n.meas ac a0 find vm(out) at=1e3\n.meas ac ugf when vdb(out)=0 fall=last\n";
        n += fmt::format(".meas ac afit find vm(out) at={:.9g}\n", fit_frequency_Hz(tech));
        n += ".meas ac lugf when vdb(sumd)=0 fall=last\n.meas ac lphase find vp(sumd) when vdb(sumd)=0 fall=last\n";
        n += ".control\nset num_threads=1\n.endc\n.end\n";
        add("ota_open_loop_" + loads[i], n, {"frequency"});
    }
    // ota_op: unity-gain follower at VCM with the line load.
    {
        std::string n = b.head("ota_op");
        n += fmt::format("X1 vcm out out vdd 0 ota_miller k={:.6g}\nRout out line {:.9g}\nCline line 0 {:.9g}\n",
                         b.size.ota_k, b.rout, b.line_F);
        n += ".save v(out) i(vdd) @m.x1.m2[gm] @m.x1.m2[gds] @m.x1.m4[gds] @m.x1.m6[gm] @m.x1.m6[gds] @m.x1.m7[gds] "
             "@m.x1.m7[id] @m.x1.mt[id]\n.op\n.control\nset num_threads=1\n.endc\n.end\n";
        add("ota_op", n,
            {"v(out)", "i(vdd)", "@m.x1.m2[gm]", "@m.x1.m2[gds]", "@m.x1.m4[gds]", "@m.x1.m6[gm]", "@m.x1.m6[gds]",
             "@m.x1.m7[gds]", "@m.x1.m7[id]", "@m.x1.mt[id]"});
    }
    // ota_swing: open loop, the input difference swept.
    {
        std::string n = b.head("ota_swing");
        n += fmt::format("Vd inp vcm 0\nX1 inp vcm out vdd 0 ota_miller k={:.6g}\nRout out line {:.9g}\n", b.size.ota_k,
                         b.rout);
        n += ".dc Vd -0.01 0.01 0.00005\n.control\nset num_threads=1\n.endc\n.end\n";
        add("ota_swing", n, {"v(out)", "v(inp)"});
    }
    // ota_slew: unity-gain follower, the input falls by 0.5 V at 1 ns and rises at 4 ns.
    {
        std::string n = b.head("ota_slew");
        n += fmt::format("Vin in 0 PWL(0 {0:.6g} 1n {0:.6g} 1.01n {1:.6g} 4n {1:.6g} 4.01n {0:.6g})\n", b.vcm, b.vcm - 0.5);
        n += fmt::format("X1 in out out vdd 0 ota_miller k={:.6g}\nRout out line {:.9g}\nCline line 0 {:.9g}\n",
                         b.size.ota_k, b.rout, b.line_F);
        n += ".tran 2p 7n 0 2p\n.control\nset num_threads=1\n.endc\n.end\n";
        add("ota_slew", n, {"time", "v(out)"});
    }
    // switches: 1 mV across each at its bias, gates on.
    {
        std::string n = b.head("switches");
        n += fmt::format("Ven en 0 {:.6g}\nVen_b en_b 0 0\nVenh enh 0 {:.6g}\n", b.vdd, tech.spice.word_line_V);
        const std::vector<double> bias = {0.3, 0.6, b.vcm};
        for (std::size_t i = 0; i < bias.size(); ++i)
            n += fmt::format("Va{0} a{0} 0 {1:.6g}\nVb{0} b{0} a{0} 1m\nXr{0} a{0} b{0} en en_b vdd 0 tgate wn={2:.6g} "
                             "wp={3:.6g}\n",
                             i, bias[i], b.size.reset_wn_m, b.size.reset_wp_m);
        n += fmt::format("Vas as 0 {0:.6g}\nVbs bs as 1m\nXs as bs enh select_switch w={1:.6g}\n", b.vcm,
                         b.size.select_w_m);
        n += ".op\n.control\nset num_threads=1\n.endc\n.end\n";
        add("switches", n, {"i(vb0)", "i(vb1)", "i(vb2)", "i(vbs)"});
    }
    // injection_replica: reset opens at tr, the select switch at ts (rows stay at VCM).
    const double tr = tech.sense.reset_time_s;
    const double ts = tr + tech.sense.integration_time_s + tech.sense.select_delay_s;
    const double tm = tr + tech.sense.integration_time_s + tech.spice.mirror_tail_s;
    const double settle = 2e-9;
    const double g_minus = tech.array.rows * tech.device.g_min_S / (1.0 + tech.device.g_min_S * access);
    {
        std::string n = b.head("injection_replica");
        n += b.control("rst", tr, false) + b.control("sel", ts, true);
        n += fmt::format("Rcol vcm col {:.9g}\nXsw col sum sel select_switch w={:.6g}\n", 1.0 / replica_S, b.size.select_w_m);
        n += b.integrator("sum", "out", "rst");
        n += fmt::format("Cline out 0 {:.9g}\n", b.line_F);
        n += fmt::format(".tran 5p {:.9g} 0 5p\n.control\nset num_threads=1\n.endc\n.end\n", ts + settle);
        add("injection_replica", n, {"time", "v(out)"});
    }
    // injection_mac: the MAC pair's switches and the conveyor; rows at VCM.
    {
        std::string n = b.head("injection_mac");
        n += b.control("rst", tr, false) + b.control("sel", ts, true) + b.control("mir", tm, true);
        n += fmt::format("Rplus vcm colp {:.9g}\nXsp colp sum sel select_switch w={:.6g}\n", 1.0 / g_minus, b.size.select_w_m);
        n += fmt::format("Rminus vcm colm {:.9g}\nXsn colm cin sel select_switch w={:.6g}\n", 1.0 / g_minus,
                         b.size.select_w_m);
        n += fmt::format("Xconv cin mout vcm vdd 0 current_conveyor k={:.6g}\n", b.size.mirror_k);
        n += fmt::format("Xsm mout sum mir select_switch w={:.6g}\n", b.size.mirror_switch_w_m);
        n += b.integrator("sum", "out", "rst");
        n += fmt::format("Riso out node {:.9g}\nCnode node 0 {:.9g}\n", mac_isolation_resistance(tech),
                         comparator_node_capacitance(tech));
        n += fmt::format(".tran 5p {:.9g} 0 5p\n.control\nset num_threads=1\n.endc\n.end\n", tm + settle);
        add("injection_mac", n, {"time", "v(out)"});
    }
    // conveyor_dc and conveyor_step: the G- column (g_min in every row) at V_read.
    for (const bool step : {false, true}) {
        const std::string name = step ? "conveyor_step" : "conveyor_dc";
        std::string n = b.head(name);
        if (step)
            n += fmt::format("Vrow row 0 PWL(0 {0:.6g} 0.5n {0:.6g} {1:.9g} {2:.6g})\n", b.vcm, 0.5e-9 + b.edge,
                             b.vcm + tech.array.v_read_V);
        else
            n += fmt::format("Vrow row 0 {:.6g}\n", b.vcm + tech.array.v_read_V);
        n += fmt::format("Venh enh 0 {:.6g}\n", tech.spice.word_line_V);
        n += fmt::format("Rcol row col {:.9g}\nXsn col cin enh select_switch w={:.6g}\n", 1.0 / g_minus, b.size.select_w_m);
        n += fmt::format("Xconv cin mout vcm vdd 0 current_conveyor k={:.6g}\n", b.size.mirror_k);
        n += fmt::format("Xsm mout out enh select_switch w={:.6g}\nVout out vcm 0\n", b.size.mirror_switch_w_m);
        if (step) {
            n += ".tran 2p 4n 0 2p\n.control\nset num_threads=1\n.endc\n.end\n";
            add(name, n, {"time", "i(vout)"});
        } else {
            n += ".op\n.control\nset num_threads=1\n.endc\n.end\n";
            add(name, n, {"i(vout)", "v(col)", "v(cin)", "i(vdd)"});
        }
    }

    // integrator_step_*: a column (conductance G behind the select switch) driven at V for
    // T on the MAC timeline, read at the first compare edge: what the behavioral model's
    // op-amp parameters are fitted to.
    const double u_top = tech.sense.swing_fraction * tech.sense.output_swing_V;
    const double t_read = tr + tech.sense.integration_time_s + clock_period_s(tech) - tech.comparator.resolve_time_s;
    for (const double g : {replica_S, 2.0 * replica_S})
        for (const double fraction : {0.25, 0.5, 0.75}) {
            const double current = fraction * u_top * b.c / tech.sense.integration_time_s;
            const double v = current * (1.0 / g + tech.sense.select_switch_ohm);
            const std::string name = fmt::format("integrator_step_{}", x.step_points.size());
            x.step_points.push_back({v * g, g, 0.0});  // Norton current of the column at the switch, and G
            std::string n = b.head(name);
            n += b.control("rst", tr, false) + b.control("sel", ts, true);
            n += fmt::format("Vrow row 0 PWL(0 {0:.9g} {1:.9g} {0:.9g} {2:.9g} {3:.9g} {4:.9g} {3:.9g} {5:.9g} {0:.9g})\n",
                             b.vcm, tr, tr + b.edge, b.vcm + v, tr + tech.sense.integration_time_s,
                             tr + tech.sense.integration_time_s + b.edge);
            n += fmt::format("Rcol row col {:.9g}\nXsw col sum sel select_switch w={:.6g}\n", 1.0 / g, b.size.select_w_m);
            n += b.integrator("sum", "out", "rst");
            n += fmt::format("Cline out 0 {:.9g}\n", b.line_F);
            n += fmt::format(".tran 5p {:.9g} 0 5p\n.control\nset num_threads=1\n.endc\n.end\n", t_read + 1e-11);
            add(name, n, {"time", "v(out)"});
        }

    int simulations = 0;
    const std::vector<SimulationResult> results = run_all(pool, requests, names, simulations);
    auto result = [&](const std::string& name) -> const SimulationResult& {
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == name) return results[i];
        throw Error(fmt::format("block testbench {} was not run", name));
    };

    for (std::size_t i = 0; i < loads.size(); ++i) {
        const std::string name = "ota_open_loop_" + loads[i];
        const SimulationResult& r = result(name);
        if (i == 0) x.dc_gain = measurement(r, "a0", name);
        x.unity_gain_Hz.push_back(measurement(r, "ugf", name));
        x.fit_gain.push_back(measurement(r, "afit", name));
        x.loop_unity_gain_Hz.push_back(measurement(r, "lugf", name, true));
        const double phase = measurement(r, "lphase", name, true);
        x.phase_margin_deg.push_back(std::isfinite(phase) ? phase_margin(phase) : NAN);
    }
    {
        const SimulationResult& r = result("ota_op");
        x.offset_V = value_of(r, "v(out)", "ota_op") - b.vcm;
        x.supply_A = -value_of(r, "i(vdd)", "ota_op");
        x.gm_in_S = value_of(r, "@m.x1.m2[gm]", "ota_op");
        x.gds_in_S = value_of(r, "@m.x1.m2[gds]", "ota_op");
        x.gds_load_S = value_of(r, "@m.x1.m4[gds]", "ota_op");
        x.gm_driver_S = value_of(r, "@m.x1.m6[gm]", "ota_op");
        x.gds_driver_S = value_of(r, "@m.x1.m6[gds]", "ota_op");
        x.gds_sink_S = value_of(r, "@m.x1.m7[gds]", "ota_op");
        x.sink_A = value_of(r, "@m.x1.m7[id]", "ota_op");
        x.tail_A = value_of(r, "@m.x1.mt[id]", "ota_op");
    }
    {
        const SimulationResult& r = result("ota_swing");
        const Eigen::VectorXd& out = vector_of(r, "v(out)", "ota_swing");
        const Eigen::VectorXd& in = vector_of(r, "v(inp)", "ota_swing");
        Eigen::VectorXd gain(out.size() - 1);
        for (Eigen::Index i = 0; i + 1 < out.size(); ++i) gain(i) = (out(i + 1) - out(i)) / (in(i + 1) - in(i));
        const double peak = gain.maxCoeff();
        double low = INFINITY, high = -INFINITY;
        for (Eigen::Index i = 0; i < gain.size(); ++i)
            if (gain(i) >= 0.5 * peak) {
                low = std::min(low, std::min(out(i), out(i + 1)));
                high = std::max(high, std::max(out(i), out(i + 1)));
            }
        x.swing_low_V = low;
        x.swing_high_V = high;
    }
    {
        const SimulationResult& r = result("ota_slew");
        const Eigen::VectorXd& t = vector_of(r, "time", "ota_slew");
        const Eigen::VectorXd& v = vector_of(r, "v(out)", "ota_slew");
        for (Eigen::Index i = 0; i + 1 < t.size(); ++i) {
            const double rate = (v(i + 1) - v(i)) / (t(i + 1) - t(i));
            x.slew_fall_V_per_s = std::max(x.slew_fall_V_per_s, -rate);
            x.slew_rise_V_per_s = std::max(x.slew_rise_V_per_s, rate);
        }
    }
    {
        const SimulationResult& r = result("switches");
        for (const char* vb : {"i(vb0)", "i(vb1)", "i(vb2)"})
            x.reset_switch_ohm.push_back(1e-3 / std::abs(value_of(r, vb, "switches")));
        x.select_switch_ohm = 1e-3 / std::abs(value_of(r, "i(vbs)", "switches"));
    }
    // Injected charge = C x the step of u = VCM - v(out), each read after the switch's
    // disturbance has settled (just before the next event, and at the end).
    auto u_at = [&](const std::string& name, double t) {
        const SimulationResult& r = result(name);
        return b.vcm - sample_at(vector_of(r, "time", name), vector_of(r, "v(out)", name), t);
    };
    x.reset_injection_C = b.c * u_at("injection_replica", ts - 1e-12);
    x.select_injection_C = b.c * (u_at("injection_replica", ts + settle - 1e-12) - u_at("injection_replica", ts - 1e-12));
    // Everything the MAC integrator gets once its select switches open (the G+ switch, the
    // G- switch through the conveyor, the mirror switch) beyond what the G+ switch alone
    // gives (the replica's select charge): applied at the mirror event in the model.
    x.mirror_injection_C =
        b.c * (u_at("injection_mac", tm + settle - 1e-12) - u_at("injection_mac", ts - 1e-12)) - x.select_injection_C;
    {
        const SimulationResult& r = result("conveyor_dc");
        const double out = -value_of(r, "i(vout)", "conveyor_dc");  // current the mirror sinks from VCM
        const double column = (b.vcm + tech.array.v_read_V - value_of(r, "v(col)", "conveyor_dc")) * g_minus;
        x.mirror_raw_gain = out / column;
        x.conveyor_input_error_V = value_of(r, "v(cin)", "conveyor_dc") - b.vcm;
        x.conveyor_supply_A = -value_of(r, "i(vdd)", "conveyor_dc");
        // The behavioral model: m G- V_read / (1 + R_sel G-) with the column at VCM.
        x.mirror_gain = out * (1.0 + x.select_switch_ohm * g_minus) / (g_minus * tech.array.v_read_V);
    }
    {
        const SimulationResult& r = result("conveyor_step");
        const Eigen::VectorXd& t = vector_of(r, "time", "conveyor_step");
        const Eigen::VectorXd& i = vector_of(r, "i(vout)", "conveyor_step");
        const double final = i(i.size() - 1);
        double settled = t(t.size() - 1);
        for (Eigen::Index k = t.size() - 1; k >= 0; --k) {
            if (std::abs(i(k) - final) > 0.01 * std::abs(final)) break;
            settled = t(k);
        }
        x.mirror_settling_s = settled - 0.5e-9;
    }
    // Comparator: offset with and without a 10 mV threshold mismatch at mid-ramp common mode.
    // With the ratio set to 1 the netlist writes the chip's offset as the mismatch itself.
    {
        Technology raw = tech;
        raw.comparator.offset_per_mismatch = 1.0;
        SpiceChip chip = nominal_spice_chip(design, raw);
        NetlistOptions o = b.options;
        const double cm = b.vcm - 0.5 * tech.sense.swing_fraction * tech.sense.output_swing_V;
        chip.comparator_offset_V = 0.0;
        const double plain = comparator_offset(design, raw, chip, cm, pool, o, simulations);
        chip.comparator_offset_V = 10e-3;
        const double shifted = comparator_offset(design, raw, chip, cm, pool, o, simulations);
        x.comparator_offset_per_mismatch = (shifted - plain) / 10e-3;
    }
    x.gbw_Hz = 0;
    x.fit_frequency_Hz = fit_frequency_Hz(tech);
    std::tie(x.ac_gbw_Hz, x.ac_output_ohm) = fit_single_pole(x.dc_gain, x.fit_frequency_Hz, x.fit_gain.front(),
                                                             x.fit_gain.back(), b.c, x.load_conductance_S.back(), b.rout,
                                                             b.line_F);
    // GBW and R_o of the behavioral integrator fitted to the step testbenches (Gauss-Newton
    // on the relative errors), every other block parameter as extracted above.
    for (std::size_t i = 0; i < x.step_points.size(); ++i)
        x.step_points[i].spice_V = u_at(fmt::format("integrator_step_{}", i), t_read);
    Technology model = tech;
    model.sense.opamp_gain = x.dc_gain;
    model.sense.select_switch_ohm = x.select_switch_ohm;
    model.sense.reset_switch_ohm = x.reset_switch_ohm.back();
    model.sense.reset_injection_C = x.reset_injection_C;
    model.sense.select_injection_C = x.select_injection_C;
    auto residuals = [&](double gbw, double r_o, double reset_charge) {
        Technology t = model;
        t.sense.opamp_gbw_Hz = gbw;
        t.sense.opamp_open_loop_output_ohm = r_o;
        t.sense.reset_injection_C = reset_charge;
        Eigen::VectorXd r(static_cast<Eigen::Index>(x.step_points.size()));
        for (std::size_t i = 0; i < x.step_points.size(); ++i) {
            const BlockCharacterization::StepPoint& p = x.step_points[i];
            r(static_cast<Eigen::Index>(i)) = integrator_output_V(t, p.current_A, p.conductance_S) / p.spice_V - 1.0;
        }
        return r;
    };
    // The reset charge is fitted with them: what the integrator holds at zero input also
    // carries the op-amp's offset, which the injection testbench cannot tell apart.
    // R_o stays at its AC value (the step outputs hardly tell it from GBW); GBW in GHz and
    // the charge in fC are fitted.
    const double r_o = x.ac_output_ohm;
    const LeastSquaresResult fit = levenberg_marquardt(
        [&](const Eigen::VectorXd& q) { return residuals(q(0) * 1e9, r_o, q(1) * 1e-15); },
        Eigen::Vector2d(x.ac_gbw_Hz * 1e-9, x.reset_injection_C * 1e15), Eigen::Vector2d(1e-4, 1e-2));
    const double gbw = fit.x(0) * 1e9, reset_charge = fit.x(1) * 1e-15;
    x.gbw_Hz = gbw;
    x.output_ohm = r_o;
    x.reset_injection_C = reset_charge;
    x.step_fit_rms =
        std::sqrt(residuals(gbw, r_o, reset_charge).squaredNorm() / static_cast<double>(x.step_points.size()));
    x.simulations = simulations;
    x.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return x;
}

Technology technology_with(Technology tech, const std::vector<ExtractedParameter>& parameters)
{
    for (const ExtractedParameter& p : parameters) set_technology_number(tech, p.key, p.value);
    return tech;
}

}  // namespace nladc::spice
