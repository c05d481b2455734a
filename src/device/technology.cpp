#include "nladc/device/technology.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/core/error.hpp"

namespace nladc {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::string_view kReadc = "ReADC, Nat. Commun. 2025 (Pt/TaOx/Ta)";
constexpr std::string_view kYang = "Yang et al., Nat. Commun. 2025";
constexpr std::string_view kChoice = "choice";
/// Block parameters of the transistor-level circuit: what `nladc calibrate` extracts from
/// the circuits/ testbenches for the default 4-bit design at TT, 27 C (circuits/README.md).
constexpr std::string_view kExtracted = "extracted: circuits/ testbenches, default design, TT 27 C";
}  // namespace

const ParamTable<DeviceParams>& device_table()
{
    using D = DeviceParams;
    static const ParamTable<D> table = {
        {"cell_type", &D::cell_type, "", "memory cell of the array and replica column", kYang, -kInf, kInf,
         {"0T1R", "1T1R", "8T-SRAM"}},
        {"g_min_S", &D::g_min_S, "S", "lower end of the programmable conductance window", kReadc, 0, 1},
        {"g_max_S", &D::g_max_S, "S", "upper end of the programmable conductance window", kReadc, 0, 1},
        {"g_off_S", &D::g_off_S, "S", "off-state conductance (stuck-at-OFF, unprogrammed)", "choice (HRS ~1 MOhm)", 0, 1},
        {"g_stuck_on_S", &D::g_stuck_on_S, "S", "conductance of a stuck-at-ON cell", "choice (= g_max)", 0, 1},
        {"program_sigma_S", &D::program_sigma_S, "S", "device-to-device programming error, absolute sigma", kReadc, 0, 1},
        {"program_sigma_rel", &D::program_sigma_rel, "", "programming error sigma relative to the target", kChoice, 0, 1},
        {"read_noise_sigma_S", &D::read_noise_sigma_S, "S", "cycle-to-cycle read noise sigma", kReadc, 0, 1},
        {"stuck_off_probability", &D::stuck_off_probability, "", "probability a cell is stuck at OFF", kChoice, 0, 1},
        {"stuck_on_probability", &D::stuck_on_probability, "", "probability a cell is stuck at ON", kChoice, 0, 1},
        {"iv_alpha_per_V", &D::iv_alpha_per_V, "1/V", "read I-V nonlinearity: I = G sinh(alpha V)/alpha; 0 = ohmic",
         "choice (ohmic at 0.2 V)", 0, 100},
        {"drift_factor", &D::drift_factor, "", "conductance drift factor common to all cells", kChoice, 0, 10},
        {"drift_sigma_rel", &D::drift_sigma_rel, "", "per-cell spread of the drift factor (relative sigma)", kChoice, 0, 1},
        {"verify_tolerance_S", &D::verify_tolerance_S, "S", "program-and-verify acceptance band", kReadc, 0, 1},
        {"verify_max_iterations", &D::verify_max_iterations, "", "program-and-verify iteration limit", kReadc, 1, 100000},
        {"access_resistance_ohm", &D::access_resistance_ohm, "ohm", "1T1R access transistor on-resistance",
         "choice (65 nm NMOS sized for ~200 Ohm)", 0, 1e9},
    };
    return table;
}

const ParamTable<ArrayParams>& array_table()
{
    using A = ArrayParams;
    static const ParamTable<A> table = {
        {"rows", &A::rows, "", "crossbar rows (inputs; also the replica column's cells)",
         "choice (64: a 4-bit replica column fits with spares)", 1, 65536},
        {"columns", &A::columns, "", "crossbar columns", kChoice, 3, 65536},
        {"wire_resistance_ohm", &A::wire_resistance_ohm, "ohm", "resistance of one wire segment; 0 = ideal wires",
         "choice (~1 Ohm per cell pitch, 65 nm Cu)", 0, 1e6},
        {"mac_column", &A::mac_column, "", "G+ column of the MAC differential pair (G- is next to it)", kChoice, 0, 65535},
        {"replica_column", &A::replica_column, "", "column holding the replica (reference) cells", kChoice, 0, 65535},
        {"v_read_V", &A::v_read_V, "V", "read voltage", kYang, 1e-6, 5},
        {"input_bits", &A::input_bits, "", "input precision B_in", kChoice, 1, 16},
        {"input_encoding", &A::input_encoding, "", "inputs as read-pulse amplitude or pulse width", kChoice, -kInf,
         kInf, {"amplitude", "pulse-width"}},
        {"background_conductance_S", &A::background_conductance_S, "S",
         "conductance of every cell of the other columns (the active array: they draw current from the same row "
         "drivers as the MAC pair, so the row wires' IR drop is that of a working array); modelled as cells from "
         "the row wire straight to VCM, their own column wires left out; 0 = idle array",
         "derived: mean conductance of a differential pair, g_min + (g_max - g_min)/4 (one cell at g_min, the "
         "other at g_min + |w| (g_max - g_min), weights uniform on [-1, 1]: E|w| = 1/2)",
         0, 1},
        {"feature_size_m", &A::feature_size_m, "m", "technology feature size F (area model)", "choice (65 nm)", 1e-9, 1e-5},
    };
    return table;
}

const ParamTable<SenseParams>& sense_table()
{
    using S = SenseParams;
    static const ParamTable<S> table = {
        {"mode", &S::mode, "", "sense circuit of the MAC pair and the replica column", kChoice, -kInf, kInf,
         {"integrator", "tia"}},
        {"integration_time_s", &S::integration_time_s, "s", "integration window T of the MAC and of each ramp step",
         kChoice, 1e-12, 1},
        {"reset_time_s", &S::reset_time_s, "s", "integrator reset before each integration", kChoice, 0, 1},
        {"capacitance_F", &S::capacitance_F, "F", "integrating capacitor; 0 = sized at mapping", kChoice, 0, 1},
        {"tia_resistance_ohm", &S::tia_resistance_ohm, "ohm", "TIA feedback resistor; 0 = sized at mapping", kChoice,
         0, 1e12},
        {"swing_fraction", &S::swing_fraction, "", "auto sizing: share of the output swing the top threshold uses",
         kChoice, 0.01, 1},
        {"output_swing_V", &S::output_swing_V, "V", "largest output excursion from the reset level",
         kExtracted, 1e-3, 10},
        {"opamp_gain", &S::opamp_gain, "V/V", "op-amp DC gain A0", kExtracted, 1, 1e12},
        {"opamp_gbw_Hz", &S::opamp_gbw_Hz, "Hz", "op-amp gain-bandwidth product (single pole)", kExtracted, 1e3, 1e15},
        {"opamp_output_resistance_ohm", &S::opamp_output_resistance_ohm, "ohm",
         "isolation resistor between the op-amp and its output node (the shared ramp line, the MAC comparator node)",
         "choice (integrator_ota rout)", 0, 1e9},
        {"opamp_bias_power_W", &S::opamp_bias_power_W, "W",
         "op-amp static power without its output stage (bias diode, input stage)", kExtracted, 0, 1},
        {"opamp_output_stage_power_W", &S::opamp_output_stage_power_W, "W",
         "static power of one unit (k = 1) of the op-amp's output stage; k = max(1, C / spice.ota_unit_capacitance_F)",
         kExtracted, 0, 1},
        {"conveyor_power_W", &S::conveyor_power_W, "W", "static power of the G- current conveyor (one per MAC pair)",
         kExtracted, 0, 1},
        {"column_mirror_gain", &S::column_mirror_gain, "", "gain of the mirror subtracting the G- column current",
         kExtracted, 0.5, 1.5},
        {"reset_switch_ohm", &S::reset_switch_ohm, "ohm", "on-resistance of the reset switch across the integrating capacitor",
         "choice (R C << reset time)", 1e-3, 1e9},
        {"select_delay_s", &S::select_delay_s, "s",
         "the column-select switches open this long after the rows return to VCM (the column current has died "
         "away, so opening them disturbs less)", kChoice, 0, 1e-3},
        {"select_switch_ohm", &S::select_switch_ohm, "ohm",
         "on-resistance of the column-select switch in series with each MAC column and the replica column", kChoice, 0,
         1e9},
        {"reset_injection_C", &S::reset_injection_C, "C",
         "charge the opening reset switch leaves on the integrating capacitor (u += Q/C)", kExtracted, -1e-9, 1e-9},
        {"select_injection_C", &S::select_injection_C, "C",
         "charge an opening column-select switch leaves on the integrating capacitor (u += Q/C)", kExtracted, -1e-9,
         1e-9},
        {"mirror_injection_C", &S::mirror_injection_C, "C",
         "charge only the MAC integrator gets once its select switches open (the G- switch through the conveyor, the "
         "mirror switch), applied when the mirror switch opens", kExtracted, -1e-9,
         1e-9},
        {"opamp_open_loop_output_ohm", &S::opamp_open_loop_output_ohm, "ohm",
         "the op-amp's own output resistance near its crossover (~1/gm of a Miller OTA's output stage), inside the "
         "feedback loop; 0 = ideal source", kExtracted, 0, 1e6},
        {"opamp_max_current_A", &S::opamp_max_current_A, "A",
         "current the op-amp output can sink (class-A bias); 0 = unlimited", kExtracted, 0, 1},
    };
    return table;
}

const ParamTable<ComparatorParams>& comparator_table()
{
    using C = ComparatorParams;
    static const ParamTable<C> table = {
        {"offset_V", &C::offset_V, "V", "systematic input-referred offset", kChoice, -1, 1},
        {"offset_sigma_V", &C::offset_sigma_V, "V", "mismatch offset sigma (Monte Carlo)",
         "choice (StrongARM, 65 nm: 1-3 mV)", 0, 1},
        {"noise_sigma_V", &C::noise_sigma_V, "V", "input-referred noise per decision", kChoice, 0, 1},
        {"offset_per_mismatch", &C::offset_per_mismatch, "V/V",
         "input-referred offset per volt of threshold mismatch dvt_p - dvt_n of the input pair (SPICE chips)",
         kExtracted, 0, 10},
        {"hysteresis_V", &C::hysteresis_V, "V", "hysteresis: switching thresholds at +-h/2", kChoice, 0, 1},
        {"regeneration_tau_s", &C::regeneration_tau_s, "s", "latch regeneration time constant", kChoice, 0, 1e-6},
        {"resolve_time_s", &C::resolve_time_s, "s", "time from the clock edge until the counter samples the latch",
         kChoice, 1e-15, 1e-3},
        {"supply_V", &C::supply_V, "V", "latch supply (the swing it must regenerate to)", "choice (65 nm)", 0.1, 10},
        {"input_capacitance_F", &C::input_capacitance_F, "F", "gate capacitance of one comparator input", kChoice, 0, 1e-9},
        {"hold_capacitance_F", &C::hold_capacitance_F, "F", "capacitor at each comparator input (absorbs kickback)",
         kChoice, 0, 1e-9},
        {"kickback_charge_C", &C::kickback_charge_C, "C", "charge the latch injects into each input at the clock edge",
         "measured: circuits/ StrongARM at TT draws 4.5 fC from each input", -1e-9, 1e-9},
        {"ramp_wire_capacitance_F", &C::ramp_wire_capacitance_F, "F", "ramp-line wire capacitance per column",
         kChoice, 0, 1e-9},
        {"match_input_impedance", &C::match_input_impedance, "",
         "(C-1) R_out in series with the MAC output: both inputs see the ramp line's source impedance", kChoice},
        {"energy_J", &C::energy_J, "J", "energy per decision",
         "measured: the StrongARM in the transistor-level conversion of the default design (spice/energy.hpp)", 0, 1e-6},
    };
    return table;
}

const ParamTable<CounterParams>& counter_table()
{
    using K = CounterParams;
    static const ParamTable<K> table = {
        {"clock_hz", &K::clock_hz, "Hz", "ramp clock (one reference step per period)",
         "Topkima-Former / Yang 2025: ~200 MHz at 65 nm", 1, 1e12},
        {"early_stop", &K::early_stop, "", "stop at the first decision 'ramp above MAC'", kChoice},
        {"energy_per_clock_J", &K::energy_per_clock_J, "J", "counter and clock energy per period", kChoice, 0, 1e-6},
    };
    return table;
}

const ParamTable<SpiceParams>& spice_table()
{
    using P = SpiceParams;
    static const ParamTable<P> table = {
        {"comparator_library", &P::comparator_library, "", "file holding the comparator subcircuit; empty = circuits/nladc_cells.lib (relative paths: to the technology file)",
         kChoice},
        {"comparator_subckt", &P::comparator_subckt, "", "comparator subcircuit: ports inp inn clk outp outn vdd vss, params dvt_p dvt_n",
         "circuits/README.md"},
        {"model_library", &P::model_library, "", "MOSFET model card defining nch and pch; {corner} becomes tt, ff or ss; empty = circuits/models/generic65_{corner}.lib",
         kChoice},
        {"access_model", &P::access_model, "", "1T1R access transistor of the macromodel testbench (--circuit macro): level1 (nacc, fitted to the BSIM4 R_on, ~3x faster) or bsim4 (nch); the transistor-level testbench always uses nch",
         "circuits/models/nacc_level1_*.lib", -kInf, kInf, {"level1", "bsim4"}},
        {"access_width_m", &P::access_width_m, "m", "1T1R access transistor width", "circuits/README.md (R_on ~ 200 Ohm)", 1e-8, 1e-3},
        {"access_length_m", &P::access_length_m, "m", "1T1R access transistor length", "circuits/README.md", 1e-8, 1e-3},
        {"word_line_V", &P::word_line_V, "V", "boosted word-line level of the 1T1R cells", "circuits/README.md", 0, 5},
        {"switch_ron_width_ohm_m", &P::switch_ron_width_ohm_m, "ohm m",
         "transmission gate (wn:wp = 1:3, L = 60 nm) on-resistance times total width at VCM: sizes the switches",
         "measured: circuits/README.md tgate", 1e-9, 1},
        {"select_ron_width_ohm_m", &P::select_ron_width_ohm_m, "ohm m",
         "boosted NMOS select switch (gate at word_line_V, L = 60 nm) on-resistance times width at VCM",
         "measured: circuits/README.md select_switch", 1e-9, 1},
        {"ota_unit_capacitance_F", &P::ota_unit_capacitance_F, "F",
         "integrating capacitance one unit of OTA output stage serves: k = max(1, C / this)", "circuits/README.md ota_miller",
         1e-15, 1},
        {"mirror_unit_current_A", &P::mirror_unit_current_A, "A",
         "G- column current one unit of the current conveyor carries: k = rows g_min V_read / this",
         "circuits/README.md current_conveyor", 1e-9, 1},
        {"mirror_tail_s", &P::mirror_tail_s, "s",
         "the G- conveyor's output switch opens this long after the MAC integration: the tail of its lagging "
         "response returns the charge the lag withheld at the start",
         "circuits/README.md current_conveyor (settles in ~0.3 ns)", 0, 1e-6},
        {"max_step_s", &P::max_step_s, "s", "transient time-step limit", kChoice, 1e-15, 1e-6},
        {"edge_time_s", &P::edge_time_s, "s", "rise and fall time of the row drivers and clocks (linear ramps)", kChoice,
         1e-13, 1e-9},
        {"reltol", &P::reltol, "", "ngspice relative tolerance: node voltages are resolved to reltol |V| + vntol",
         kChoice, 1e-9, 1e-2},
        {"vntol", &P::vntol, "V", "ngspice absolute voltage tolerance", kChoice, 1e-12, 1e-2},
        {"supply_V", &P::supply_V, "V", "supply of the comparator and logic", "generic 65 nm", 0.1, 10},
        {"common_mode_V", &P::common_mode_V, "V", "integrator reference: rows sit at VCM + x V_read", kChoice, 0, 10},
    };
    return table;
}

namespace {

template <class S>
bool set_in(S& section, const ParamTable<S>& table, std::string_view name, std::string_view key, double value)
{
    for (const auto& field : table) {
        if (field.key != name) continue;
        if (!(value >= field.min && value <= field.max))
            throw Error(fmt::format("technology {}: {:g} {} is outside [{:g}, {:g}]", key, value, field.unit, field.min,
                                    field.max));
        if (const auto* member = std::get_if<double S::*>(&field.member)) {
            section.*(*member) = value;
            return true;
        }
        if (const auto* member = std::get_if<int S::*>(&field.member); member && value == std::round(value)) {
            section.*(*member) = static_cast<int>(value);
            return true;
        }
        throw Error(fmt::format("technology {}: not a number parameter", key));
    }
    return false;
}

}  // namespace

const std::vector<std::string_view>& technology_variation_keys()
{
    static const std::vector<std::string_view> keys = {
        "device.program_sigma_S",       "device.program_sigma_rel",    "device.verify_tolerance_S",
        "device.verify_max_iterations", "device.read_noise_sigma_S",   "device.stuck_off_probability",
        "device.stuck_on_probability",  "comparator.offset_sigma_V",   "device.drift_sigma_rel"};
    return keys;
}

void set_technology_number(Technology& tech, std::string_view key, double value)
{
    const auto dot = key.find('.');
    const std::string_view section = key.substr(0, dot), name = dot == std::string_view::npos ? "" : key.substr(dot + 1);
    const bool found = (section == "device" && set_in(tech.device, device_table(), name, key, value)) ||
                       (section == "array" && set_in(tech.array, array_table(), name, key, value)) ||
                       (section == "sense" && set_in(tech.sense, sense_table(), name, key, value)) ||
                       (section == "comparator" && set_in(tech.comparator, comparator_table(), name, key, value)) ||
                       (section == "counter" && set_in(tech.counter, counter_table(), name, key, value)) ||
                       (section == "spice" && set_in(tech.spice, spice_table(), name, key, value));
    if (!found) throw Error(fmt::format("technology has no parameter '{}'", key));
}

std::pair<std::string, std::string> find_technology_violation(const Technology& t)
{
    const auto& d = t.device;
    if (!(d.g_min_S < d.g_max_S))
        return {"device.g_min_S", fmt::format("{:g} S is not below device.g_max_S = {:g} S", d.g_min_S, d.g_max_S)};
    if (d.g_min_S <= 0) return {"device.g_min_S", fmt::format("{:g} S must be positive", d.g_min_S)};
    if (d.g_off_S > d.g_min_S)
        return {"device.g_off_S", fmt::format("{:g} S is above device.g_min_S = {:g} S", d.g_off_S, d.g_min_S)};
    if (d.stuck_off_probability + d.stuck_on_probability > 1)
        return {"device.stuck_on_probability", "stuck-at-OFF and stuck-at-ON probabilities add up to more than 1"};
    const auto& a = t.array;
    if (a.mac_column + 1 >= a.columns)
        return {"array.mac_column", fmt::format("{} leaves no room for the G- column in {} columns", a.mac_column,
                                                a.columns)};
    if (a.replica_column >= a.columns)
        return {"array.replica_column", fmt::format("{} is outside the {} columns", a.replica_column, a.columns)};
    if (a.replica_column == a.mac_column || a.replica_column == a.mac_column + 1)
        return {"array.replica_column", fmt::format("{} collides with the MAC pair at columns {} and {}",
                                                    a.replica_column, a.mac_column, a.mac_column + 1)};
    const double period = clock_period_s(t);
    const double busy =
        t.sense.reset_time_s + t.sense.integration_time_s + t.sense.select_delay_s + t.comparator.resolve_time_s;
    if (t.sense.mode == "integrator" && busy >= period)
        return {"sense.integration_time_s",
                fmt::format("reset {:g} s + integration {:g} s + select delay {:g} s + comparator resolve {:g} s do "
                            "not fit the {:g} s clock period",
                            t.sense.reset_time_s, t.sense.integration_time_s, t.sense.select_delay_s,
                            t.comparator.resolve_time_s, period)};
    if (t.comparator.resolve_time_s >= period)
        return {"comparator.resolve_time_s",
                fmt::format("{:g} s is not shorter than the clock period {:g} s", t.comparator.resolve_time_s, period)};
    return {};
}

}  // namespace nladc
