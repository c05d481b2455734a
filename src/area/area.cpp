#include "nladc/area/area.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "nladc/adc/behavioral.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/json.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/mapping/mapping.hpp"
#include "nladc/spice/library.hpp"

namespace nladc {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------
// Area building blocks.
// ---------------------------------------------------------------------------------

struct Gates {
    double inv = 0.0, nand2 = 0.0, nor2 = 0.0, dff = 0.0;
};

Gates minimum_gates(double f, const LayoutRules& r)
{
    const double wn = r.min_nmos_width_F * f, wp = r.pn_size_ratio * r.min_nmos_width_F * f;
    Gates g;
    g.inv = neurosim_gate_area_m2(GateKind::inv, 1, wn, wp, f, r);
    g.nand2 = neurosim_gate_area_m2(GateKind::nand, 2, wn, wp, f, r);
    g.nor2 = neurosim_gate_area_m2(GateKind::nor, 2, wn, wp, f, r);
    g.dff = 12.0 * g.inv;  // NeuroSim DFF.cpp: 12 minimum-size cells side by side
    return g;
}

/// N-bit synchronous counter: N DFF + N half adders (4 NAND2 + 1 INV each). Stated choice.
double counter_area(int bits, const Gates& g) { return bits * (g.dff + 4.0 * g.nand2 + g.inv); }

/// One stage of the replica-row sequencer (cumulative enable shift register): DFF + INV.
double sequencer_stage_area(const Gates& g) { return g.dff + g.inv; }

CircuitArea circuit_area(std::vector<Transistor> devices, double scale, double f, const AreaParams& p)
{
    CircuitArea c;
    for (Transistor& t : devices) {
        t.width_m *= scale;
        t.length_m *= scale;
        c.footprint_m2 += device_footprint_m2(t, f, p.layout);
    }
    c.transistors = std::move(devices);
    c.area_m2 = c.footprint_m2 * p.layout.analog_layout_factor;
    return c;
}

/// The terms of BehavioralAdc::energy in closed form with ideal ohmic cells, over D decisions
/// (L - 1, or up to the mid-range code with early stop): replica read sum_k V^2 G_ref(k) T,
/// comparator and counter per decision, op-amps on for reset + T + D P plus the replica
/// integrator's share D P / C. The MAC cell read is not computed (excluded anyway).
ConversionEnergy closed_form_energy(const ReplicaDesign& d)
{
    const Technology& t = d.tech;
    const int steps = static_cast<int>(d.levels.thresholds.size());
    const double mid = 0.5 * (d.levels.lo + d.levels.hi);
    const int decisions = t.counter.early_stop ? std::min(d.levels.code(mid) + 1, steps) : steps;
    std::vector<double> added(static_cast<std::size_t>(steps) + 1, 0.0);
    for (const ReplicaCell& c : d.cells)
        if (c.step >= 0 && c.step <= steps) added[static_cast<std::size_t>(c.step)] += c.target_S;
    double cumulative = 0.0, replica = 0.0;
    const double v = t.array.v_read_V, period = clock_period_s(t);
    for (int k = 0; k <= decisions; ++k) {
        cumulative += added[static_cast<std::size_t>(k)];
        if (k >= 1) replica += v * v * cumulative * t.sense.integration_time_s;
    }
    ConversionEnergy e;
    const double active = t.sense.reset_time_s + t.sense.integration_time_s + decisions * period;
    e.terms = {{"mac_cell_read", kNaN},
               {"replica_cell_read", replica},
               {"comparator", decisions * t.comparator.energy_J},
               {"integrators", opamp_power_W(t) * (active + decisions * period / t.array.columns)},
               {"conveyor", t.sense.conveyor_power_W * active},
               {"counter", decisions * t.counter.energy_per_clock_J}};
    for (const auto& term : e.terms)
        if (std::isfinite(term.joules)) e.total_J += term.joules;
    e.clocks = decisions;
    e.latency_s = active;
    return e;
}

LevelSet linear_levels(int bits)
{
    LevelSet set;
    set.bits = bits;
    set.lo = 0.0;
    set.hi = 1.0;
    const int n = 1 << bits;
    for (int k = 0; k < n; ++k) set.levels.push_back(static_cast<double>(k) / (n - 1));
    set.thresholds = midpoint_thresholds(set.levels);
    set.method = "linear";
    set.variant = "midtread";
    return set;
}

const std::vector<std::pair<std::string, std::string>>& architectures()
{
    static const std::vector<std::pair<std::string, std::string>> list = {
        {"nladc", "in-memory NL-ADC (ours)"},
        {"sar", "SAR (NeuroSim V1.4)"},
        {"flash", "flash, resistor ladder"},
        {"yang2025", "memristor ramp NL-ADC (Yang 2025)"},
        {"readc", "ReADC (analog CAM)"},
    };
    return list;
}

const AdcCost* find_row(const AreaReport& r, const std::string& arch, int bits)
{
    for (const AdcCost& row : r.rows)
        if (row.architecture == arch && row.bits == bits) return &row;
    return nullptr;
}

double ratio(double ours, double base)
{
    return (std::isfinite(ours) && std::isfinite(base) && base > 0) ? ours / base : kNaN;
}

std::string cell(double v, double unit, const char* spec = "{:.4g}")
{
    return std::isfinite(v) ? fmt::format(fmt::runtime(spec), v / unit) : std::string("n/a");
}

std::vector<int> report_bits(const AreaReport& r)
{
    std::vector<int> bits;
    for (const AdcCost& row : r.rows) bits.push_back(row.bits);
    std::sort(bits.begin(), bits.end());
    bits.erase(std::unique(bits.begin(), bits.end()), bits.end());
    return bits;
}

}  // namespace

// ---------------------------------------------------------------------------------
// Public building blocks.
// ---------------------------------------------------------------------------------

std::vector<Transistor> read_subckt_transistors(const fs::path& library, const std::string& subckt)
{
    return spice::subckt_mosfets(spice::read_library(library), subckt);
}

double device_footprint_m2(const Transistor& t, double f, const LayoutRules& r)
{
    const int nf = std::max(1, t.fingers);
    const double across = t.width_m / nf + 2.0 * (r.poly_ext_diff_F + r.field_poly_gap_F / 2.0) * f;
    const double along = nf * t.length_m + (nf + 1) * r.gate_poly_gap_F * f + r.poly_width_F * f;
    return t.multiplier * across * along;
}

double neurosim_gate_area_m2(GateKind kind, int inputs, double wn, double wp, double f, const LayoutRules& r)
{
    if (f < 22e-9 * (1 - 1e-9))
        throw Error(fmt::format("feature size {:g} nm: the NeuroSim gate-area model is implemented for bulk nodes "
                                "(F >= 22 nm) only",
                                f * 1e9));
    if (inputs < 1 || (wn <= 0 && wp <= 0)) throw Error("gate area: need at least one input and one device");
    const double height = r.cell_height_F * f;
    const double edge = (r.poly_ext_diff_F + r.field_poly_gap_F / 2.0) * 2.0 * f;
    const double ratio_p = wp / (wp + wn);
    double max_p = 0.0, max_n = 0.0;
    if (ratio_p == 0.0) {
        max_n = height - edge;
    } else if (ratio_p == 1.0) {
        max_p = height - edge;
    } else {
        max_p = ratio_p * (height - r.pn_diff_gap_F * f - edge);
        max_n = max_p / ratio_p * (1.0 - ratio_p);
    }
    const double pitch = (r.poly_width_F + r.gate_poly_gap_F) * f;  // CPP
    int fold_p = 1, fold_n = 1;
    auto unit_width = [&](double w, double max_w, int& folds) {
        if (w <= 0) return 0.0;
        if (w <= max_w) return 2.0 * pitch;
        folds = static_cast<int>(std::ceil(w / max_w));
        return (folds + 1) * pitch;
    };
    const double unit_p = unit_width(wp, max_p, fold_p), unit_n = unit_width(wn, max_n, fold_n);
    double width_p = unit_p, width_n = unit_n;
    if (kind != GateKind::inv) {
        const double shared = (fold_p == 1 && fold_n == 1) ? (inputs - 1) * pitch : 0.0;
        width_p = unit_p * inputs - (unit_p > 0 ? shared : 0.0);
        width_n = unit_n * inputs - (unit_n > 0 ? shared : 0.0);
    }
    return std::max(width_n, width_p) * height;
}

double neurosim_sar_area_m2(int bits, double f, const LayoutRules& r)
{
    const double wn = r.min_nmos_width_F * f, wp = r.pn_size_ratio * r.min_nmos_width_F * f;
    const double a_ninv = neurosim_gate_area_m2(GateKind::inv, 1, wn, 0.0, f, r);
    const double a_pinv = neurosim_gate_area_m2(GateKind::inv, 1, 0.0, wp, f, r);
    return a_ninv * (269.0 + (bits - 1) * 109.0) + a_pinv * (209.0 + (bits - 1) * 73.0);
}

double neurosim_sar_power_W(int bits, double f)
{
    // SarADC.cpp GetColumnPower, LP roadmap: (a log2(levels) + b) uW per node (nm).
    static const std::vector<std::tuple<double, double, double>> fits = {
        {130, 8.4483, 65.243}, {90, 5.9869, 37.462}, {65, 3.7506, 25.844}, {45, 2.1691, 16.693},
        {32, 1.1294, 8.8998},  {22, 0.538, 4.3753},  {14, 0.3132, 2.5681}, {10, 0.1823, 1.5073},
        {7, 0.1061, 0.8847},   {5, 0.0645, 0.5511},  {3, 0.0333, 0.2849},  {2, 0.0207, 0.1764},
        {1, 0.0101, 0.0843}};
    for (const auto& [node, a, b] : fits)
        if (std::fabs(f * 1e9 - node) < 0.01) return (a * bits + b) * 1e-6;
    return kNaN;
}

double memory_cell_area_m2(const std::string& cell_type, double f, const CellAreaParams& c)
{
    if (cell_type == "8T-SRAM") return c.sram_height_F * c.sram_width_F * f * f;
    if (cell_type == "1T1R") return c.one_t1r_height_F * c.one_t1r_width_F * f * f;
    if (cell_type == "0T1R") return c.crossbar_height_F * c.crossbar_width_F * f * f;
    throw Error(fmt::format("device.cell_type '{}': expected 0T1R, 1T1R or 8T-SRAM", cell_type));
}

// ---------------------------------------------------------------------------------
// The comparison.
// ---------------------------------------------------------------------------------

AreaReport compare_adc_costs(const Technology& tech, const std::vector<int>& bits_list, const fs::path& circuits_dir,
                             const AreaParams& p)
{
    if (const auto [key, reason] = find_technology_violation(tech); !key.empty())
        throw Error(fmt::format("technology: {}: {}", key, reason));
    for (int n : bits_list)
        if (n < 1 || n > 16) throw UsageError(fmt::format("bits {} is outside [1, 16]", n));
    const double f = tech.array.feature_size_m;
    if (f < 22e-9 * (1 - 1e-9))
        throw Error(fmt::format("technology: array.feature_size_m = {:g}: the area model uses NeuroSim's bulk "
                                "gate-area model, valid for F >= 22 nm (its FinFET branch is not implemented)",
                                f));
    if (!(p.circuits_feature_size_m > 0) || !(p.capacitor_density_F_per_m2 > 0))
        throw Error("area parameters: circuits_feature_size_m and capacitor_density_F_per_m2 must be positive");
    const double scale = p.scale_circuits_to_feature_size ? f / p.circuits_feature_size_m : 1.0;
    const Gates gates = minimum_gates(f, p.layout);

    AreaReport report;
    report.feature_size_m = f;
    report.cell_type = tech.device.cell_type;
    report.cell_area_m2 = memory_cell_area_m2(tech.device.cell_type, f, p.cells);
    report.sharing_columns = tech.array.columns;
    const double columns = tech.array.columns;

    const fs::path library = circuits_dir / "nladc_cells.lib";
    const fs::path comparator_lib =
        tech.spice.comparator_library.empty() ? library : fs::path(tech.spice.comparator_library);
    report.comparator =
        circuit_area(read_subckt_transistors(comparator_lib, tech.spice.comparator_subckt), scale, f, p);
    report.comparator.library = comparator_lib.string();
    report.comparator.subckt = tech.spice.comparator_subckt;

    std::vector<Transistor> ota = read_subckt_transistors(library, p.integrator_subckt);
    const bool reference = ota.empty();
    report.integrator = circuit_area(reference ? p.reference_ota : ota, scale, f, p);
    report.integrator.library = library.string();
    report.integrator.subckt = p.integrator_subckt;
    report.integrator.reference = reference;
    if (reference) {
        report.integrator.area_m2 += p.reference_ota_compensation_F / p.capacitor_density_F_per_m2;
        report.notes.push_back(fmt::format(
            "the '{}' subcircuit of {} has no MOSFET (behavioural macromodel): its OTA area uses the reference "
            "two-stage Miller OTA + G- mirror + reset switch of docs/area.md ({} devices, {:.0f} fF Miller capacitor)",
            p.integrator_subckt, library.filename().string(), p.reference_ota.size(),
            p.reference_ota_compensation_F * 1e15));
    }
    if (scale != 1.0)
        report.notes.push_back(fmt::format("transistor sizes of circuits/ scaled by F / {:g} nm = {:.4g}",
                                           p.circuits_feature_size_m * 1e9, scale));
    report.notes.push_back(fmt::format(
        "per ADC (one differential MAC pair); C = array.columns = {} ADCs share one replica column and its "
        "integrator, as the behavioral model's ramp line does",
        tech.array.columns));
    report.notes.push_back(fmt::format("cell {} = {:.4g} um^2 at F = {:g} nm (NeuroSim Param.cpp)",
                                       tech.device.cell_type, report.cell_area_m2 * 1e12, f * 1e9));
    if (tech.sense.mode != "integrator")
        report.notes.push_back("sense.mode = tia: no integrating capacitor; the TIA feedback resistor is not counted");

    const double comp = report.comparator.area_m2, ota_area = report.integrator.area_m2;
    const double seq = sequencer_stage_area(gates);
    const double e_comp = tech.comparator.energy_J;

    for (int n : bits_list) {
        const int levels = 1 << n;
        // --- ours: map a linear level set, evaluate the behavioral energy at mid-range.
        MappingOptions mo;
        mo.calibration_cells = p.calibration_cells;
        // Linear mid-tread steps are g_min (first) and 2 g_min: ceil(2 g_min / g_max) cells each at most.
        const int per_step = static_cast<int>(std::ceil(2.0 * tech.device.g_min_S / tech.device.g_max_S - 1e-12));
        mo.rows = std::max(tech.array.rows, (levels - 1) * std::max(1, per_step) + p.calibration_cells);
        Technology t = tech;
        t.array.rows = *mo.rows;
        const ReplicaDesign design = map_levels(linear_levels(n), t, mo);
        NlAdcBreakdown b;
        b.bits = n;
        for (const ReplicaCell& c : design.cells) b.replica_cells += (c.role == "step" || c.role == "calibration");
        b.capacitance_F = design.tech.sense.mode == "integrator" ? design.tech.sense.capacitance_F : 0.0;
        const double sense = ota_area + b.capacitance_F / p.capacitor_density_F_per_m2;
        b.comparator_m2 = comp;
        b.sense_ota_m2 = ota_area;
        b.sense_capacitor_m2 = b.capacitance_F / p.capacitor_density_F_per_m2;
        b.counter_m2 = counter_area(n, gates);
        b.replica_cells_m2 = b.replica_cells * report.cell_area_m2 / columns;
        b.replica_sequencer_m2 = b.replica_cells * seq / columns;
        b.replica_sense_m2 = sense / columns;
        b.total_m2 = b.comparator_m2 + b.sense_ota_m2 + b.sense_capacitor_m2 + b.counter_m2 + b.replica_cells_m2 +
                     b.replica_sequencer_m2 + b.replica_sense_m2;

        const bool behavioral = n <= p.behavioral_max_bits;
        const ConversionEnergy e = behavioral ? BehavioralAdc(design, design.tech, nominal_chip(design, design.tech))
                                                    .energy(0.5 * (design.levels.lo + design.levels.hi))
                                              : closed_form_energy(design);
        double ours_j = 0.0;
        for (const EnergyTerm& term : e.terms) {
            if (term.name == "mac_cell_read") {
                b.mac_cell_read_J = term.joules;
                continue;
            }
            const double j = term.name == "replica_cell_read" ? term.joules / columns : term.joules;
            b.energy_terms.emplace_back(term.name, j);
            ours_j += j;
        }
        for (const auto& [name, j] : b.energy_terms)
            if (name == "conveyor") b.mac_sense_J += j;
        b.mac_sense_J += opamp_power_W(design.tech) * e.latency_s;  // the replica's share stays counted
        report.breakdown.push_back(b);
        report.rows.push_back({"nladc", n, b.total_m2, ours_j, e.latency_s, true,
                               fmt::format("mapped linear level set, {} calibration cells; energy from {} without "
                                           "the MAC cell read, replica read shared by C",
                                           p.calibration_cells,
                                           behavioral ? "BehavioralAdc::energy at mid-range"
                                                      : "the closed form (ideal cells; behavioral too slow here)")});

        // --- SAR (NeuroSim V1.4).
        const double sar_latency = (n + 1) * 1e-9;
        const double sar_power = neurosim_sar_power_W(n, f);
        report.rows.push_back({"sar", n, neurosim_sar_area_m2(n, f, p.layout), sar_power * sar_latency, sar_latency,
                               true,
                               std::isfinite(sar_power)
                                   ? "NeuroSim V1.4 SarADC: area, (N+1) x 1 ns, LP power fit without the column term"
                                   : "NeuroSim V1.4 SarADC area; no power fit at this node"});

        // --- Flash with a resistor ladder.
        const double unit_r = p.ladder_unit_resistance_ohm;
        const double body = unit_r / p.poly_sheet_resistance_ohm * p.resistor_width_F * f;
        const double a_res = (p.resistor_width_F + p.resistor_spacing_F) * f * (body + 2.0 * p.resistor_head_F * f);
        const double encoder = (levels - 1) * (gates.nand2 + gates.inv) +
                               n * ((levels / 2) - 1) * (gates.nor2 + gates.inv);
        const double flash_t = tech.comparator.resolve_time_s;
        const double swing = tech.sense.output_swing_V;
        report.rows.push_back({"flash", n, (levels - 1) * comp + levels * a_res + encoder,
                               (levels - 1) * e_comp + swing * swing / (levels * unit_r) * flash_t, flash_t, true,
                               "2^N-1 StrongARM comparators (circuits/), 2^N poly ladder, thermometer encoder; "
                               "no column sense circuit, encoder energy neglected"});

        // --- Yang 2025: shared ramp column of 2^N + 5 cells with its driver.
        const int ramp_cells = levels + p.calibration_cells;
        const double yang_area =
            comp + counter_area(n, gates) + (ramp_cells * (report.cell_area_m2 + seq) + sense) / columns;
        const double yang_per = p.yang_energy_is_per_conversion ? 1.0 : 1.0 / p.yang_adcs_per_vmm;
        const double width_scale = std::ldexp(1.0, n - p.yang_bits);
        report.rows.push_back(
            {"yang2025", n, yang_area, p.yang_energy_J * yang_per * width_scale, p.yang_latency_s * width_scale, true,
             fmt::format("2^N + {} ramp cells + sequencer + ramp driver (our integrator) shared by C, comparator and "
                         "counter per column; no MAC sense circuit; energy {:.4g} pJ at {} b {}{}",
                         p.calibration_cells, p.yang_energy_J * 1e12, p.yang_bits,
                         p.yang_energy_is_per_conversion
                             ? std::string("taken per conversion")
                             : fmt::format("read per {}-ADC VMM (/ {})", p.yang_adcs_per_vmm, p.yang_adcs_per_vmm),
                         n == p.yang_bits ? "" : ", scaled x 2^(N-5) (choice: one ramp clock per level)")});

        // --- ReADC: reported at 5 b only.
        if (n == p.readc_bits)
            report.rows.push_back({"readc", n, p.readc_area_m2, p.readc_energy_J, p.readc_latency_s, true,
                                   "reported (ReADC, Nat. Commun. 2025), at its own node, not rescaled"});
        else
            report.rows.push_back({"readc", n, kNaN, kNaN, kNaN, false,
                                   fmt::format("reported at {} b only; no scaling rule", p.readc_bits)});
    }
    if (!p.yang_energy_is_per_conversion)
        report.notes.push_back(fmt::format(
            "Yang 2025 energy: {:.4g} pJ at {} b is read as one {}-ADC VMM, i.e. {:.4g} pJ per conversion; read as "
            "per conversion it is {:.4g} pJ ({}x more)",
            p.yang_energy_J * 1e12, p.yang_bits, p.yang_adcs_per_vmm, p.yang_energy_J * 1e12 / p.yang_adcs_per_vmm,
            p.yang_energy_J * 1e12, p.yang_adcs_per_vmm));
    return report;
}

// ---------------------------------------------------------------------------------
// Outputs.
// ---------------------------------------------------------------------------------

std::string area_table_markdown(const AreaReport& r)
{
    const std::vector<int> bits = report_bits(r);
    std::string out;
    auto header = [&](const std::string& first) {
        out += fmt::format("| {} |", first);
        for (int n : bits) out += fmt::format(" {} b |", n);
        out += "\n|---|";
        for (std::size_t i = 0; i < bits.size(); ++i) out += "---:|";
        out += "\n";
    };
    // One row per baseline: ratio_at(bits, ours, baseline) per bit width ("n/a" where a row is missing).
    const auto ratio_rows = [&](auto ratio_at) {
        header("baseline");
        for (const auto& [id, label] : architectures()) {
            if (id == "nladc") continue;
            out += fmt::format("| {} |", label);
            for (int n : bits) {
                const AdcCost *ours = find_row(r, "nladc", n), *row = find_row(r, id, n);
                const double v = (ours && row && row->available) ? ratio_at(n, *ours, *row) : kNaN;
                out += fmt::format(" {} |", cell(v, 1.0, "{:.3g}"));
            }
            out += "\n";
        }
    };
    struct Quantity {
        const char* title;
        double unit;
        double AdcCost::*member;
    };
    const Quantity quantities[] = {{"Area per ADC (um^2)", 1e-12, &AdcCost::area_m2},
                                   {"Energy per conversion (pJ)", 1e-12, &AdcCost::energy_J},
                                   {"Latency per conversion (ns)", 1e-9, &AdcCost::latency_s}};
    for (const Quantity& q : quantities) {
        out += fmt::format("### {}\n\n", q.title);
        header("architecture");
        for (const auto& [id, label] : architectures()) {
            out += fmt::format("| {} |", label);
            for (int n : bits) {
                const AdcCost* row = find_row(r, id, n);
                out += fmt::format(" {} |", row && row->available ? cell(row->*(q.member), q.unit) : "n/a");
            }
            out += "\n";
        }
        out += fmt::format("\n{}: ours / baseline\n\n", q.title);
        ratio_rows([&](int, const AdcCost& ours, const AdcCost& row) { return ratio(ours.*(q.member), row.*(q.member)); });
        out += "\n";
    }
    // Ours without the MAC pair's own sensing, over each baseline: `without` gives ours for a
    // breakdown, `baseline` the baseline's matching quantity.
    const auto without_sense_table = [&](const std::string& title, auto without, auto baseline) {
        out += title;
        ratio_rows([&](int n, const AdcCost& ours, const AdcCost& row) {
            double v = kNaN;
            for (const NlAdcBreakdown& b : r.breakdown)
                if (b.bits == n) v = ratio(without(ours, b), baseline(row));
            return v;
        });
    };
    without_sense_table(
        "Area: ours without its per-column integrator (OTA + capacitor) / baseline (flash and Yang 2025 count no "
        "column sense circuit)\n\n",
        [](const AdcCost&, const NlAdcBreakdown& b) { return b.total_m2 - b.sense_ota_m2 - b.sense_capacitor_m2; },
        [](const AdcCost& row) { return row.area_m2; });
    without_sense_table(
        "\nEnergy: ours without its per-column integrator and G- conveyor / baseline (SAR and flash count no "
        "column sense circuit)\n\n",
        [](const AdcCost& ours, const NlAdcBreakdown& b) { return ours.energy_J - b.mac_sense_J; },
        [](const AdcCost& row) { return row.energy_J; });
    out += "\n### In-memory NL-ADC area breakdown (um^2 per ADC)\n\n";
    out += "| bits | comparator | integrator OTA | integrating C | counter | replica cells / C | replica sequencer / C "
           "| replica integrator / C | total |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const NlAdcBreakdown& b : r.breakdown)
        out += fmt::format("| {} | {:.4g} | {:.4g} | {:.4g} ({:.3g} pF) | {:.4g} | {:.4g} ({} cells) | {:.4g} | "
                           "{:.4g} | {:.4g} |\n",
                           b.bits, b.comparator_m2 * 1e12, b.sense_ota_m2 * 1e12, b.sense_capacitor_m2 * 1e12,
                           b.capacitance_F * 1e12, b.counter_m2 * 1e12, b.replica_cells_m2 * 1e12, b.replica_cells,
                           b.replica_sequencer_m2 * 1e12, b.replica_sense_m2 * 1e12, b.total_m2 * 1e12);
    out += "\n### In-memory NL-ADC energy terms (pJ per conversion)\n\n| bits |";
    if (!r.breakdown.empty()) {
        for (const auto& [name, j] : r.breakdown.front().energy_terms) out += fmt::format(" {} |", name);
        out += " MAC cell read (excluded) |\n|---:|";
        for (std::size_t i = 0; i <= r.breakdown.front().energy_terms.size(); ++i) out += "---:|";
        out += "\n";
        for (const NlAdcBreakdown& b : r.breakdown) {
            out += fmt::format("| {} |", b.bits);
            for (const auto& [name, j] : b.energy_terms) out += fmt::format(" {:.4g} |", j * 1e12);
            out += fmt::format(" {} |\n", cell(b.mac_cell_read_J, 1e-12));
        }
    }
    out += fmt::format("\nComparator '{}' ({} devices, {:.4g} um^2 of footprints); integrator OTA {} ({} devices, "
                       "{:.4g} um^2). F = {:g} nm, cell {}.\n\nNotes:\n",
                       r.comparator.subckt, r.comparator.transistors.size(), r.comparator.footprint_m2 * 1e12,
                       r.integrator.reference ? "reference sizing" : "'" + r.integrator.subckt + "'",
                       r.integrator.transistors.size(), r.integrator.area_m2 * 1e12, r.feature_size_m * 1e9,
                       r.cell_type);
    for (const std::string& note : r.notes) out += fmt::format("- {}\n", note);
    for (const auto& [id, label] : architectures()) {
        std::vector<std::string> seen;
        for (const AdcCost& row : r.rows)
            if (row.architecture == id && std::find(seen.begin(), seen.end(), row.note) == seen.end())
                seen.push_back(row.note);
        for (const std::string& note : seen) out += fmt::format("- {}: {}\n", label, note);
    }
    return out;
}

void write_area_report(const AreaReport& r, const fs::path& dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw OutputError(dir.string(), ec.message());

    std::string csv = "architecture,bits,available,area_m2,energy_J,latency_s,ours_over_area,ours_over_energy,"
                      "ours_over_latency,note\n";
    auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string(); };
    io::OrderedJson rows = io::OrderedJson::array();
    for (const AdcCost& row : r.rows) {
        const AdcCost* ours = find_row(r, "nladc", row.bits);
        const double ra = ours ? ratio(ours->area_m2, row.area_m2) : kNaN;
        const double re = ours ? ratio(ours->energy_J, row.energy_J) : kNaN;
        const double rl = ours ? ratio(ours->latency_s, row.latency_s) : kNaN;
        std::string note = row.note;
        std::replace(note.begin(), note.end(), '"', '\'');
        csv += fmt::format("{},{},{},{},{},{},{},{},{},\"{}\"\n", row.architecture, row.bits, row.available ? 1 : 0,
                           num(row.area_m2), num(row.energy_J), num(row.latency_s), num(ra), num(re), num(rl), note);
        rows.push_back({{"architecture", row.architecture}, {"bits", row.bits}, {"available", row.available},
                        {"area_m2", row.area_m2}, {"energy_J", row.energy_J}, {"latency_s", row.latency_s},
                        {"ours_over", {{"area", ra}, {"energy", re}, {"latency", rl}}}, {"note", row.note}});
    }
    auto circuit_json = [](const CircuitArea& c) {
        io::OrderedJson devices = io::OrderedJson::array();
        for (const Transistor& t : c.transistors)
            devices.push_back({{"name", t.name}, {"model", t.model}, {"w_m", t.width_m}, {"l_m", t.length_m},
                               {"m", t.multiplier}, {"nf", t.fingers}});
        return io::OrderedJson{{"library", c.library}, {"subckt", c.subckt}, {"reference_sizing", c.reference},
                               {"footprint_m2", c.footprint_m2}, {"area_m2", c.area_m2}, {"transistors", devices}};
    };
    io::OrderedJson breakdown = io::OrderedJson::array();
    for (const NlAdcBreakdown& b : r.breakdown) {
        io::OrderedJson terms = io::OrderedJson::object();
        for (const auto& [name, j] : b.energy_terms) terms[name] = j;
        breakdown.push_back({{"bits", b.bits}, {"comparator_m2", b.comparator_m2}, {"sense_ota_m2", b.sense_ota_m2},
                             {"sense_capacitor_m2", b.sense_capacitor_m2}, {"capacitance_F", b.capacitance_F},
                             {"counter_m2", b.counter_m2}, {"replica_cells", b.replica_cells},
                             {"replica_cells_m2", b.replica_cells_m2}, {"replica_sequencer_m2", b.replica_sequencer_m2},
                             {"replica_sense_m2", b.replica_sense_m2}, {"total_m2", b.total_m2},
                             {"energy_terms_J", terms}, {"mac_cell_read_J", b.mac_cell_read_J},
                             {"mac_sense_J", b.mac_sense_J}});
    }
    io::OrderedJson j;
    j["format"] = "nladc-area";
    j["version"] = 1;
    j["nladc_version"] = std::string(version());
    j["feature_size_m"] = r.feature_size_m;
    j["cell_type"] = r.cell_type;
    j["cell_area_m2"] = r.cell_area_m2;
    j["sharing_columns"] = r.sharing_columns;
    j["rows"] = rows;
    j["breakdown"] = breakdown;
    j["comparator"] = circuit_json(r.comparator);
    j["integrator"] = circuit_json(r.integrator);
    j["notes"] = r.notes;

    io::PlotSpec plot;
    plot.title = fmt::format("ADC area per ADC, F = {:g} nm, {} cells", r.feature_size_m * 1e9, r.cell_type);
    plot.extra = "set xtics 1";
    plot.x_label = "bits";
    plot.y_label = "area per ADC (um^2)";
    plot.log_y = true;
    for (const auto& [id, label] : architectures()) {
        io::PlotSeries s;
        s.title = label;
        for (const AdcCost& row : r.rows)
            if (row.architecture == id && row.available && std::isfinite(row.area_m2)) {
                s.x.push_back(row.bits);
                s.y.push_back(row.area_m2 * 1e12);
            }
        if (s.x.size() == 1) s.style = "points";
        if (!s.x.empty()) plot.series.push_back(s);
    }
    io::write_file_atomic(dir / "area.csv", csv);
    io::write_file_atomic(dir / "area.json", io::dump_json(j));
    io::plot_png(plot, dir / "area.png");
}

}  // namespace nladc
