#include "nladc/spice/netlist.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "nladc/adc/behavioral.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"
#include "nladc/crossbar/crossbar.hpp"
#include "nladc/device/rram.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/spice/library.hpp"

namespace nladc::spice {

namespace fs = std::filesystem;

fs::path find_circuits(const std::string& explicit_dir)
{
    std::vector<fs::path> tried;
    auto holds_library = [&](const fs::path& dir) {
        tried.push_back(dir);
        std::error_code ec;
        return fs::is_regular_file(dir / "nladc_cells.lib", ec);
    };
    if (!explicit_dir.empty()) {
        if (holds_library(explicit_dir)) return fs::absolute(explicit_dir).lexically_normal();
        throw Error(fmt::format("--circuits {}: no nladc_cells.lib there", explicit_dir));
    }
    if (const char* env = std::getenv("NLADC_CIRCUITS"); env && *env) {
        if (holds_library(env)) return fs::absolute(env).lexically_normal();
        throw Error(fmt::format("NLADC_CIRCUITS={}: no nladc_cells.lib there", env));
    }
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (const fs::path& candidate : {exe.parent_path() / ".." / "share" / "nladc" / "circuits",
                                          exe.parent_path() / ".." / "circuits",
                                          exe.parent_path() / ".." / ".." / "circuits"})
            if (holds_library(candidate)) return candidate.lexically_normal();
    }
#ifdef NLADC_SOURCE_DIR
    if (holds_library(fs::path(NLADC_SOURCE_DIR) / "circuits")) return fs::path(NLADC_SOURCE_DIR) / "circuits";
#endif
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t.string();
    throw Error(fmt::format("cannot find the circuits/ library (tried {}); give --circuits DIR or set NLADC_CIRCUITS",
                            list));
}

SenseSizing sense_sizing(const Technology& tech)
{
    const SpiceParams& sp = tech.spice;
    SenseSizing size;
    size.ota_k = ota_output_scale(tech);
    size.mirror_k = std::max(0.25, tech.array.rows * tech.device.g_min_S * tech.array.v_read_V / sp.mirror_unit_current_A);
    // A transmission gate of total width W has R_on = switch_ron_width_ohm_m / W; wn:wp = 1:3.
    auto split = [&](double ohm, double& wn, double& wp) {
        const double width = sp.switch_ron_width_ohm_m / ohm;
        wn = 0.25 * width;
        wp = 0.75 * width;
    };
    split(tech.sense.reset_switch_ohm, size.reset_wn_m, size.reset_wp_m);
    // A boosted NMOS select switch of width W has R_on = select_ron_width_ohm_m / W.
    size.select_w_m = sp.select_ron_width_ohm_m / std::max(tech.sense.select_switch_ohm, 0.05);
    // The mirror output switch carries a current source: 50 ohm is plenty.
    size.mirror_switch_w_m = sp.select_ron_width_ohm_m / 50.0;
    return size;
}

SpiceChip nominal_spice_chip(const ReplicaDesign& design, const Technology& tech)
{
    SpiceChip chip;
    for (const ReplicaCell& cell : design.cells)
        chip.replica_conductance_S.push_back(cell.target_S > 0 ? cell.target_S * tech.device.drift_factor
                                                               : tech.device.g_off_S);
    chip.v_read_V = tech.array.v_read_V;
    chip.wire_resistance_ohm = tech.array.wire_resistance_ohm;
    chip.drift_factor = tech.device.drift_factor;
    chip.comparator_offset_V = tech.comparator.offset_V;
    return chip;
}

bool is_version_line(const std::string& line) { return line.starts_with("* nladc version"); }

namespace {

/// A piecewise-linear waveform built from "level from time t" events.
class Waveform {
public:
    explicit Waveform(double initial, double edge_s) : edge_(edge_s) { points_.push_back({0.0, initial}); }
    /// Hold the current level until t, then move to `level` within one edge time.
    void set(double t, double level)
    {
        const double last_level = points_.back().second;
        if (level == last_level) return;
        const double start = std::max(t, points_.back().first);
        if (start > points_.back().first) points_.push_back({start, last_level});
        points_.push_back({start + edge_, level});
    }
    /// The same waveform with every level multiplied by `factor`.
    Waveform scaled(double factor) const
    {
        Waveform w = *this;
        for (auto& point : w.points_) point.second *= factor;
        return w;
    }
    std::string pwl() const
    {
        std::string out = "PWL(";
        for (std::size_t i = 0; i < points_.size(); ++i)
            out += fmt::format("{}{:.6g} {:.9g}", i ? " " : "", points_[i].first, points_[i].second);
        return out + ")";
    }

private:
    double edge_;
    std::vector<std::pair<double, double>> points_;
};

/// A logic control and its complement (the transmission gates need both).
struct Clock {
    Clock(double initial, double vdd, double edge_s) : high(initial, edge_s), low(vdd - initial, edge_s), vdd_(vdd) {}
    void set(double t, bool on)
    {
        high.set(t, on ? vdd_ : 0.0);
        low.set(t, on ? 0.0 : vdd_);
    }
    Waveform high, low;

private:
    double vdd_;
};


}  // namespace

std::vector<fs::path> testbench_libraries(const Technology& tech, const NetlistOptions& options)
{
    const fs::path circuits = find_circuits(options.circuits_dir);
    const SpiceParams& sp = tech.spice;
    const fs::path cells_library = circuits / "nladc_cells.lib";
    const fs::path comparator_library = sp.comparator_library.empty() ? cells_library : fs::path(sp.comparator_library);
    std::string model = sp.model_library.empty() ? (circuits / "models" / "generic65_{corner}.lib").string()
                                                 : sp.model_library;
    if (const auto at = model.find("{corner}"); at != std::string::npos) model.replace(at, 8, corner_file_suffix(options.corner));
    std::vector<fs::path> libraries = {cells_library};
    if (comparator_library != cells_library) libraries.push_back(comparator_library);
    libraries.push_back(model);
    // The macromodel's level-1 access transistor has its own card (a BSIM4 card stays BSIM4).
    if (options.circuit == "macro" && sp.access_model == "level1" && tech.device.cell_type == "1T1R")
        libraries.push_back(circuits / "models" / fmt::format("nacc_level1_{}.lib", corner_file_suffix(options.corner)));
    for (const fs::path& library : libraries)
        if (!fs::is_regular_file(library)) throw Error(fmt::format("{}: no such library file", library.string()));
    return libraries;
}

std::string testbench_preamble(const Technology& tech, const NetlistOptions& options,
                               const std::vector<fs::path>& libraries)
{
    std::string n;
    if (!options.inline_library)
        for (const fs::path& library : libraries) n += fmt::format(".include \"{}\"\n", library.string());
    n += fmt::format(".temp {:g}\n", options.temperature_C);
    n += fmt::format(".options method=trap reltol={:.3g} vntol={:.3g} abstol=1e-12\n", tech.spice.reltol,
                     tech.spice.vntol);
    return n;
}

void finish_testbench(std::string& text, std::size_t library_at, const std::vector<fs::path>& libraries,
                      const NetlistOptions& options)
{
    if (!options.inline_library) return;
    std::string pasted = "* ---- the parts of the libraries this testbench uses ----\n";
    pasted += used_library_text(libraries, text, "generated testbench");
    if (!pasted.empty() && pasted.back() != '\n') pasted += '\n';
    text.insert(library_at, pasted);
}

Netlist generate_netlist(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                         const NetlistOptions& options)
{
    const Corner corner = options.corner;
    const DeviceParams& device = tech.device;
    if (device.cell_type == "8T-SRAM")
        throw Error("SPICE testbenches model RRAM cells (0T1R, 1T1R); device.cell_type = \"8T-SRAM\" has none");
    if (chip.replica_conductance_S.size() != design.cells.size())
        throw Error(fmt::format("chip has {} replica conductances, the design {} cells",
                                chip.replica_conductance_S.size(), design.cells.size()));
    const bool comparator_only = options.kind == "comparator";
    const bool mac_only = options.kind == "mac";
    if (!comparator_only && !mac_only && options.kind != "conversion")
        throw UsageError(fmt::format("netlist kind '{}' is not conversion, mac or comparator", options.kind));
    if (!comparator_only && !options.mac_value) throw UsageError("a conversion or MAC netlist needs a MAC value");
    const bool transistor = options.circuit == "transistor";
    if (!transistor && options.circuit != "macro")
        throw UsageError(fmt::format("circuit '{}' is not transistor or macro", options.circuit));

    const fs::path circuits = find_circuits(options.circuits_dir);
    const SenseParams& sense = tech.sense;
    const SpiceParams& sp = tech.spice;
    const ComparatorParams& cmp = tech.comparator;
    if (sense.mode != "integrator") throw Error("SPICE testbenches support sense.mode = \"integrator\"");
    if (!(sense.capacitance_F > 0)) throw Error("sense.capacitance_F is 0: map the level set first");

    const int rows = tech.array.rows, columns = tech.array.columns;
    const int steps_total = static_cast<int>(design.levels.thresholds.size());
    const int steps = mac_only || comparator_only ? 0
                                                  : (options.last_step > 0 ? std::min(options.last_step, steps_total) : steps_total);
    const double vcm = sp.common_mode_V, vdd = sp.supply_V, edge = sp.edge_time_s;
    const double tr = sense.reset_time_s, ti = sense.integration_time_s, period = 1.0 / tech.counter.clock_hz;
    const double compare = period - cmp.resolve_time_s;
    const double mac_end = tr + ti;

    Netlist net;
    net.common_mode_V = vcm;
    std::string& n = net.text;
    const LevelSet& set = design.levels;
    n += fmt::format("nladc {} testbench: {} {} bits\n", options.kind, set.method.empty() ? "levels" : set.method,
                     set.bits);
    n += fmt::format("* nladc version {}\n", version());
    n += fmt::format("* design hash {}; sample seed {}\n", options.design_hash.empty() ? "-" : options.design_hash,
                     options.seed);
    n += fmt::format("* level set: {}/{}, range [{:.9g}, {:.9g}], scale {:.9g} per S\n", set.method, set.variant,
                     set.lo, set.hi, design.scale_per_S);
    std::string thresholds;
    for (double t : set.thresholds) thresholds += fmt::format(" {:.9g}", t);
    n += "* thresholds:" + thresholds + "\n";
    if (options.mac_value)
        n += fmt::format("* MAC value {:.9g} (canonical spread over {} rows), corner {}, {:g} C\n", *options.mac_value,
                         rows, corner, options.temperature_C);
    n += fmt::format("* chip: V_read {:.9g} V, wire {:.9g} ohm/segment, comparator offset {:.9g} V\n", chip.v_read_V,
                     chip.wire_resistance_ohm, chip.comparator_offset_V);

    const std::vector<fs::path> libraries = testbench_libraries(tech, options);
    const bool level1_access = !transistor && sp.access_model == "level1" && tech.device.cell_type == "1T1R";
    const std::size_t library_at = n.size();
    n += testbench_preamble(tech, options, libraries);
    if (!transistor) {
        n += "* column-select switch: 1/ron while V(ctrl) > 0.6 V (smooth, like the reset switch)\n";
        n += ".subckt nladc_switch a b ctrl params: ron=1 roff=1e12\n";
        n += "B1 a b I = V(a,b) * (({1/roff}) + ({1/ron - 1/roff}) * 0.5 * (1 + tanh((V(ctrl) - 0.6) / 0.01)))\n";
        n += ".ends nladc_switch\n";
    }
    n += fmt::format("Vdd vdd 0 {:.9g}\nVcm vcm 0 {:.9g}\n", vdd, vcm);

    // Compare edges and what is read when.
    std::vector<double> step_start;
    for (int k = 1; k <= steps; ++k) {
        step_start.push_back(mac_end + (k - 1) * period);
        net.compare_times.push_back(mac_end + (k - 1) * period + compare);
        net.decision_times.push_back(mac_end + k * period - 2 * edge);
    }
    const double first_compare = mac_end + compare;
    net.mac_end_time = mac_end;
    net.stop_time = comparator_only ? 0.0 : (steps > 0 ? mac_end + steps * period : first_compare);

    // Each comparator input carries its hold capacitor and a column of wire; the real
    // comparators (the one under test and the copy standing for the others) add their
    // own gate capacitance, so the lumped capacitors leave it out.
    const double node_extra_cap = cmp.hold_capacitance_F + cmp.ramp_wire_capacitance_F;
    const double isolation = mac_isolation_resistance(tech);
    // The chip's offset is input-referred (what the behavioral model adds at the
    // comparator); the latch turns a pair threshold mismatch into offset_per_mismatch times
    // as much input-referred offset (extracted per corner, spice/blocks.hpp), so the
    // mismatch written is the offset divided by that ratio: both simulators see one chip.
    const double pair_mismatch_V = chip.comparator_offset_V / tech.comparator.offset_per_mismatch;
    const bool per_block = options.supply_per_block && transistor && !comparator_only;
    const auto supply = [&](const char* block) { return per_block ? std::string("vdd_") + block : std::string("vdd"); };
    auto comparator_instance = [&](const std::string& inp, const std::string& inn) {
        return fmt::format("Xcmp {} {} clk outp outn {} 0 {} dvt_p={:.9g} dvt_n={:.9g}\n", inp, inn, supply("cmp"),
                           sp.comparator_subckt, 0.5 * pair_mismatch_V, -0.5 * pair_mismatch_V);
    };
    // The other C - 1 comparators on the ramp line: one copy of the comparator with both
    // inputs on the line and multiplicity (C - 1) / 2, so the line takes their kickback as
    // it really is (it depends on the common mode) at the cost of one more latch.
    auto other_comparators = [&]() {
        if (columns <= 1) return std::string();
        return fmt::format("Xothers ramp ramp clk others_p others_n vdd 0 {} m={:.9g}\n", sp.comparator_subckt,
                           0.5 * (columns - 1));
    };

    if (comparator_only) {
        // Each cycle applies one input difference through the same source impedances as in
        // the converter: the ramp line (R_out into the shared line) and the MAC node.
        const auto& differences = options.comparator_differences_V;
        if (differences.empty()) throw UsageError("a comparator testbench needs input differences");
        Waveform inp(options.comparator_common_V, edge), inn(options.comparator_common_V, edge), clk(0.0, edge);
        for (std::size_t c = 0; c < differences.size(); ++c) {
            const double t0 = c * period;
            inp.set(t0, options.comparator_common_V + 0.5 * differences[c]);
            inn.set(t0, options.comparator_common_V - 0.5 * differences[c]);
            clk.set(t0 + compare, vdd);
            clk.set(t0 + period - edge, 0.0);
            net.compare_times.push_back(t0 + compare);
            net.decision_times.push_back(t0 + period - 2 * edge);
        }
        net.stop_time = differences.size() * period;
        n += fmt::format("Vinp src_p 0 {}\nVinn src_n 0 {}\nVclk clk 0 {}\n", inp.pwl(), inn.pwl(), clk.pwl());
        n += fmt::format("Rline src_p ramp {:.9g}\nCline ramp 0 {:.9g}\n", sense.opamp_output_resistance_ohm,
                         columns * node_extra_cap);
        n += fmt::format("Rnode src_n cmp_mac {:.9g}\nCnode cmp_mac 0 {:.9g}\n",
                         sense.opamp_output_resistance_ohm + isolation, node_extra_cap);
        n += other_comparators();
        n += comparator_instance("ramp", "cmp_mac");
    } else {
        const int plus = tech.array.mac_column, minus = plus + 1, replica = tech.array.replica_column;
        std::vector<int> used = {plus, minus};
        if (!mac_only) used.push_back(replica);
        std::sort(used.begin(), used.end());
        // The other columns' cells (background) go straight to VCM from their row-wire
        // nodes, so each row wire between two kept columns is a ladder, written as its
        // exact pi equivalent (the behavioral model's crossbar solver does the same;
        // tests check the equivalence against the full ladder in ngspice).
        const double background_S =
            series_access(tech.array.background_conductance_S * chip.drift_factor, device);
        const bool background = background_S > 0;
        net.background = background;

        // The MAC pair realizes the value by the canonical spread (every row at input 1).
        const double span = device.g_max_S - device.g_min_S;
        const double w = std::clamp(*options.mac_value / design.scale_per_S / (rows * span), -1.0, 1.0);
        const double g_plus = (device.g_min_S + std::max(w, 0.0) * span) * chip.drift_factor;
        const double g_minus = (device.g_min_S + std::max(-w, 0.0) * span) * chip.drift_factor;
        std::vector<double> replica_g(static_cast<std::size_t>(rows), device.g_off_S);
        std::vector<int> replica_step(static_cast<std::size_t>(rows), -1);
        for (std::size_t c = 0; c < design.cells.size(); ++c) {
            replica_g[static_cast<std::size_t>(design.cells[c].row)] = chip.replica_conductance_S[c];
            replica_step[static_cast<std::size_t>(design.cells[c].row)] = design.cells[c].step;
        }

        // Row drivers: the MAC inputs, then the replica enables of each step.
        const double vread = chip.v_read_V;
        const bool pulse_width = tech.array.input_encoding == "pulse-width";
        n += "* row drivers (VCM + x V_read during the MAC integration; enabled replica rows per step)\n";
        for (int i = 0; i < rows; ++i) {
            Waveform drive(vcm, edge);
            drive.set(tr, vcm + vread);  // canonical spread: x = 1 (pulse width: full window)
            drive.set(tr + ti, vcm);
            for (int k = 1; k <= steps; ++k) {
                const int s = replica_step[static_cast<std::size_t>(i)];
                if (s < 0 || s > k) continue;
                drive.set(step_start[static_cast<std::size_t>(k - 1)] + tr, vcm + vread);
                drive.set(step_start[static_cast<std::size_t>(k - 1)] + tr + ti, vcm);
            }
            n += fmt::format("Vrow{} drv{} 0 {}\n", i, i, drive.pwl());
        }
        (void)pulse_width;
        n += fmt::format("Vwl wl 0 {:.9g}\n", sp.word_line_V);

        // Row wires: driver -> columns in order; empty columns in between lumped.
        const double rw = chip.wire_resistance_ohm;
        const double rw_min = 1e-2;  // a zero resistance would merge two nodes; 10 mOhm is far below any cell
                                     // (smaller values make the access transistors' nodes stiff)
        n += fmt::format("* row wires: {:.9g} ohm per segment\n", rw);
        if (background)
            n += fmt::format("* background: {} other columns, {:.9g} S per cell to VCM (returned through Vbgr<row>)\n",
                             columns - 3, background_S);
        // The row wires run past the replica column even when its cells are left out
        // (mac_only), so the background columns are the same in every netlist kind.
        std::vector<int> wired = {plus, minus, replica};
        std::sort(wired.begin(), wired.end());
        for (int i = 0; i < rows; ++i) {
            std::string previous = fmt::format("drv{}", i);
            int previous_column = -1;
            for (int c : wired) {
                if (!background && std::find(used.begin(), used.end(), c) == used.end()) continue;
                const std::string node = fmt::format("r{}_{}", i, c);
                if (!background) {
                    n += fmt::format("Rr{}_{} {} {} {:.9g}\n", i, c, previous, node, std::max(rw * (c - previous_column), rw_min));
                } else {
                    const LadderTwoPort gap = ladder_two_port(c - previous_column, std::max(rw, rw_min), background_S);
                    n += fmt::format("Rr{}_{} {} {} {:.9g}\n", i, c, previous, node, 1.0 / gap.series_S);
                    // The near shunt of the driver's gap hangs on the ideal driver: left out.
                    if (previous_column >= 0 && gap.near_shunt_S > 0)
                        n += fmt::format("Rbn{}_{} {} bgr{} {:.9g}\n", i, c, previous, i, 1.0 / gap.near_shunt_S);
                    if (gap.far_shunt_S > 0)
                        n += fmt::format("Rbf{}_{} {} bgr{} {:.9g}\n", i, c, node, i, 1.0 / gap.far_shunt_S);
                }
                previous = node;
                previous_column = c;
            }
            if (background) {
                const double tail_S = ladder_tail_S(columns - 1 - previous_column, std::max(rw, rw_min), background_S);
                if (tail_S > 0) n += fmt::format("Rbt{} {} bgr{} {:.9g}\n", i, previous, i, 1.0 / tail_S);
                n += fmt::format("Vbgr{} bgr{} vcm 0\n", i, i);
            }
        }
        // Cells and column wires.
        const bool one_t = device.cell_type == "1T1R";
        const bool sinh = device.iv_alpha_per_V > 0;
        auto cell = [&](int i, int c, double g) {
            const std::string name = fmt::format("Xc{}_{} r{}_{} k{}_{}", i, c, i, c, c, i);
            const std::string kind = level1_access ? "cell_1t1r_fast" : "cell_1t1r";
            if (one_t)
                return fmt::format("{} wl {} g={:.9g}{} wacc={:.9g} lacc={:.9g}\n", name,
                                   sinh ? kind + "_sinh" : kind, g,
                                   sinh ? fmt::format(" alpha={:.9g}", device.iv_alpha_per_V) : "", sp.access_width_m,
                                   sp.access_length_m);
            return fmt::format("{} {} g={:.9g}{}\n", name, sinh ? "rram_sinh" : "rram_ohmic", g,
                               sinh ? fmt::format(" alpha={:.9g}", device.iv_alpha_per_V) : "");
        };
        n += "* cells (g in S) and column wires\n";
        for (int c : used) {
            for (int i = 0; i < rows; ++i) {
                double g = 0.0;
                if (c == plus) g = g_plus;
                if (c == minus) g = g_minus;
                if (c == replica) g = replica_g[static_cast<std::size_t>(i)];
                n += cell(i, c, g);
                const std::string below = i + 1 < rows ? fmt::format("k{}_{}", c, i + 1) : fmt::format("s{}", c);
                n += fmt::format("Rk{}_{} k{}_{} {} {:.9g}\n", c, i, c, i, below, std::max(rw, rw_min));
            }
        }

        // Phase controls (the transistor-level switches also get their complements).
        Clock rst_mac(vdd, vdd, edge), sel_mac(vdd, vdd, edge), sel_mirror(vdd, vdd, edge), rst_ref(vdd, vdd, edge),
            sel_ref(0.0, vdd, edge);
        Waveform clk(0.0, edge);
        rst_mac.set(tr, false);
        // The select switches open sense.select_delay_s after the rows return to VCM, when
        // the column current has died away.
        const double select_open = ti + sense.select_delay_s;
        sel_mac.set(tr + select_open, false);
        // The conveyor lags the G- current by tau_m; its output switch stays closed for
        // spice.mirror_tail_s after the rows return to VCM, so the tail of its response
        // returns the charge the lag withheld at the start (exact for a linear lag).
        sel_mirror.set(mac_end + sp.mirror_tail_s, false);
        for (int k = 1; k <= steps; ++k) {
            const double t0 = step_start[static_cast<std::size_t>(k - 1)];
            rst_ref.set(t0, true);
            sel_ref.set(t0, true);
            rst_ref.set(t0 + tr, false);
            sel_ref.set(t0 + tr + select_open, false);
            clk.set(t0 + compare, vdd);
            clk.set(t0 + period - edge, 0.0);
        }
        if (steps == 0) rst_ref.set(mac_end, true);
        // Reset switches are transmission gates (a clock and its complement); the select
        // switches are NMOS on the boosted word-line level.
        auto sources = [&](const std::string& name, const Clock& c, bool boosted) {
            if (!transistor) return fmt::format("V{} {} 0 {}\n", name, name, c.high.pwl());
            if (boosted) return fmt::format("V{} {} 0 {}\n", name, name, c.high.scaled(sp.word_line_V / vdd).pwl());
            return fmt::format("V{} {} 0 {}\nV{}_b {}_b 0 {}\n", name, name, c.high.pwl(), name, name, c.low.pwl());
        };
        n += sources("rst_mac", rst_mac, false) + sources("sel_mac", sel_mac, true);
        if (transistor) n += sources("sel_mirror", sel_mirror, true);
        if (!mac_only)
            n += sources("rst_ref", rst_ref, false) + sources("sel_ref", sel_ref, true) + fmt::format("Vclk clk 0 {}\n", clk.pwl());

        // Sense: the G+ column through its select switch into the MAC summing node, the G-
        // column's current mirrored out of it; the replica column into its own integrator.
        n += "* sense: MAC pair -> summing node (G- mirrored out), replica -> its own integrator\n";
        if (transistor) {
            const SenseSizing size = sense_sizing(tech);
            const std::string integrator_params =
                fmt::format("c={:.9g} k={:.6g} rout={:.9g} wn_rst={:.6g} wp_rst={:.6g}", sense.capacitance_F, size.ota_k,
                            sense.opamp_output_resistance_ohm, size.reset_wn_m, size.reset_wp_m);
            const std::string select = fmt::format("select_switch w={:.6g}", size.select_w_m);
            n += fmt::format("Xsw_p s{} sum_mac sel_mac {}\n", plus, select);
            // The G- column reaches the conveyor through a select switch like the G+ column's,
            // so both see the same series resistance.
            n += fmt::format("Xsw_n s{} conveyor_in sel_mac {}\n", minus, select);
            n += fmt::format("Xmirror conveyor_in mirror_out vcm {} 0 current_conveyor k={:.6g}\n", supply("conv"),
                             size.mirror_k);
            // The mirror output is a current source: its switch's R_on does not matter.
            n += fmt::format("Xsw_m mirror_out sum_mac sel_mirror select_switch w={:.6g}\n", size.mirror_switch_w_m);
            n += fmt::format("Xint_mac sum_mac out_mac rst_mac rst_mac_b vcm {} 0 integrator_ota {}\n", supply("imac"),
                             integrator_params);
            if (!mac_only) {
                n += fmt::format("Xsw_r s{} sum_ref sel_ref {}\n", replica, select);
                n += fmt::format("Xint_ref sum_ref ramp rst_ref rst_ref_b vcm {} 0 integrator_ota {}\n", supply("iref"),
                                 integrator_params);
            }
        } else {
            const std::string integrator_params =
                fmt::format("c={:.9g} a0={:.9g} gbw={:.9g} rout={:.9g} vcm={:.9g} ron={:.9g} vlo=0 vhi={:.9g}",
                            sense.capacitance_F, sense.opamp_gain, sense.opamp_gbw_Hz, sense.opamp_output_resistance_ohm,
                            vcm, sense.reset_switch_ohm, vdd);
            const double select_ohm = std::max(sense.select_switch_ohm, rw_min);
            n += fmt::format("Xsw_p s{} sum_mac sel_mac nladc_switch ron={:.9g}\n", plus, select_ohm);
            n += fmt::format("Xsw_n s{} sense_m sel_mac nladc_switch ron={:.9g}\n", minus, select_ohm);
            n += "Vsense_m sense_m vcm 0\n";
            n += fmt::format("Fmirror sum_mac 0 Vsense_m {:.9g}\n", sense.column_mirror_gain);
            n += fmt::format("Xint_mac sum_mac out_mac rst_mac integrator {}\n", integrator_params);
            if (!mac_only) {
                n += fmt::format("Xsw_r s{} sum_ref sel_ref nladc_switch ron={:.9g}\n", replica, select_ohm);
                n += fmt::format("Xint_ref sum_ref ramp rst_ref integrator {}\n", integrator_params);
            }
        }
        n += fmt::format("Riso out_mac cmp_mac {:.9g}\nCnode cmp_mac 0 {:.9g}\n", std::max(isolation, rw_min),
                         node_extra_cap);
        if (!mac_only) {
            n += "* the ramp line: hold capacitors and wire of all columns, the other comparators\n";
            n += fmt::format("Cline ramp 0 {:.9g}\n", columns * node_extra_cap);
            n += other_comparators();
            n += comparator_instance("ramp", "cmp_mac");
        }
    }
    const double stop = comparator_only || steps > 0 ? net.stop_time : first_compare;
    net.stop_time = stop;
    const double max_step = options.max_step_s > 0 ? options.max_step_s : sp.max_step_s;
    n += fmt::format(".tran {:.6g} {:.9g} 0 {:.6g}\n", max_step, stop, max_step);
    if (mac_only) {
        n += ".save v(cmp_mac)\n";
        n += fmt::format(".meas tran mac_output find v(cmp_mac) at={:.9g}\n", stop - 1e-12);
        net.vectors = {"time", "v(cmp_mac)"};
    } else {
        n += ".save v(cmp_mac) v(ramp) v(outp) v(clk)\n";
        net.vectors = {"time", "v(cmp_mac)", "v(ramp)", "v(outp)", "v(clk)"};
        if (per_block) {
            // Block supplies, and each row driver's voltage and current (the array's share).
            n += "* energy: one VDD per block; the supply and row-driver currents are saved\n";
            for (const char* block : {"imac", "iref", "conv", "cmp"}) {
                n += fmt::format("Vdd_{} vdd_{} 0 {:.9g}\n", block, block, vdd);
                net.vectors.push_back(fmt::format("i(vdd_{})", block));
            }
            std::string save = ".save";
            for (const char* block : {"imac", "iref", "conv", "cmp"}) save += fmt::format(" i(vdd_{})", block);
            for (int i = 0; i < rows; ++i) {
                save += fmt::format(" v(drv{}) i(vrow{})", i, i);
                net.vectors.push_back(fmt::format("v(drv{})", i));
                net.vectors.push_back(fmt::format("i(vrow{})", i));
                if (net.background) {
                    save += fmt::format(" i(vbgr{})", i);
                    net.vectors.push_back(fmt::format("i(vbgr{})", i));
                }
            }
            n += save + "\n";
        }
        // Decisions and the code as measurements, so `ngspice -b` prints them too.
        std::string sum;
        for (std::size_t k = 0; k < net.decision_times.size(); ++k) {
            n += fmt::format(".meas tran decision{} find v(outp) at={:.9g}\n", k + 1, net.decision_times[k]);
            sum += fmt::format("{}(decision{}>{:.9g})", k ? "+" : "", k + 1, 0.5 * vdd);
        }
        if (!sum.empty() && !comparator_only) n += fmt::format(".meas tran code param='{}'\n", sum);
    }
    // BSIM4 uses OpenMP; one thread avoids large slowdowns under CPU contention (a
    // .control block without `run` still lets `ngspice -b` run the analysis).
    n += ".control\nset num_threads=1\n.endc\n";
    n += ".end\n";
    finish_testbench(n, library_at, libraries, options);
    return net;
}

}  // namespace nladc::spice
