#pragma once
// The technology file: every physical parameter of the in-memory NL-ADC, in SI
// units, with its default and provenance (BRIEF §2). Sections:
//   device      RRAM cell: conductance window, variation, I-V, program-and-verify
//   array       crossbar geometry, wires, read voltage, input encoding
//   sense       integrator (or TIA) shared by the MAC pair and the replica column
//   comparator  StrongARM-style latch: offset, noise, hysteresis, regeneration, kickback
//   counter     ramp clock, early stop, energy
//   spice       the SPICE testbench: comparator subcircuit, model card, device sizes
// `nladc tech --defaults` prints the defaults; `nladc tech --describe` the table
// of every key (docs/technology.md is generated from it).

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "nladc/core/params.hpp"

namespace nladc {

struct DeviceParams {
    std::string cell_type = "1T1R";      ///< 0T1R | 1T1R | 8T-SRAM
    double g_min_S = 100e-6;             ///< lower end of the programmable window
    double g_max_S = 400e-6;             ///< upper end of the programmable window
    double g_off_S = 1e-6;               ///< off-state (HRS) conductance: stuck-at-OFF and unprogrammed cells
    double g_stuck_on_S = 400e-6;        ///< conductance of a stuck-at-ON cell
    double program_sigma_S = 2.73e-6;    ///< device-to-device programming error (absolute)
    double program_sigma_rel = 0.0;      ///< programming error relative to the target
    double read_noise_sigma_S = 0.14e-6; ///< cycle-to-cycle read noise
    double stuck_off_probability = 1e-3;
    double stuck_on_probability = 5e-4;
    double iv_alpha_per_V = 0.0;         ///< I = G sinh(alpha V) / alpha; 0 = ohmic
    double drift_factor = 1.0;           ///< common multiplicative conductance drift
    double drift_sigma_rel = 0.0;        ///< per-cell spread of the drift factor
    double verify_tolerance_S = 5e-6;    ///< program-and-verify acceptance band
    int verify_max_iterations = 20;
    double access_resistance_ohm = 200.0;  ///< 1T1R access transistor on-resistance (0T1R: unused)
};

struct ArrayParams {
    int rows = 64;
    int columns = 32;
    double wire_resistance_ohm = 1.0;    ///< per wire segment (row and column), 0 = ideal wires
    int mac_column = 0;                  ///< G+ column of the differential pair; G- is mac_column + 1
    int replica_column = 31;             ///< column holding the replica (reference) cells
    double v_read_V = 0.2;
    int input_bits = 8;                  ///< B_in: inputs x in [0, 1] are quantized to 2^B_in - 1 steps
    std::string input_encoding = "amplitude";  ///< amplitude (x V_read) | pulse-width (V_read for x T)
    /// Cells of the other columns (the active array loading the row wires), S; 0 = idle
    /// array. Default: their mean differential-pair conductance g_min + (g_max - g_min)/4.
    double background_conductance_S = 1.75e-4;
    double feature_size_m = 65e-9;       ///< F, for the area model
};

struct SenseParams {
    std::string mode = "integrator";     ///< integrator | tia
    double integration_time_s = 2e-9;    ///< T: MAC and each ramp step integrate for T
    double reset_time_s = 0.5e-9;        ///< integrator reset before each integration
    double capacitance_F = 0.0;          ///< integrating capacitor C; 0 = sized at mapping (swing_fraction)
    double tia_resistance_ohm = 0.0;     ///< TIA feedback resistor; 0 = sized at mapping
    double swing_fraction = 0.7;         ///< auto sizing: the top threshold uses this share of output_swing_V
    double output_swing_V = 0.705;       ///< largest output excursion from the reset level (the OTA's linear range)
    double opamp_gain = 980.0;           ///< DC gain A0 (V/V)
    double opamp_gbw_Hz = 1.71e9;        ///< gain-bandwidth product (single-pole op-amp)
    double opamp_output_resistance_ohm = 300.0;  ///< isolation resistor into the output node (and the shared ramp line)
    /// Static power of one op-amp (circuits/README.md §8): its bias and input stage, plus
    /// k output stages, k = ota_output_scale (the output stage is sized with C): opamp_power_W().
    double opamp_bias_power_W = 1.10e-3;          ///< bias diode + input stage (k-independent)
    double opamp_output_stage_power_W = 1.196e-3; ///< one unit (k = 1) of the class-A output stage
    double conveyor_power_W = 2.96e-3;   ///< static power of the G- current conveyor (one per MAC pair)
    double column_mirror_gain = 0.998;   ///< gain of the mirror that subtracts the G- column current
    double reset_switch_ohm = 10.0;      ///< reset switch across the integrating capacitor (on)
    double select_delay_s = 0.25e-9;     ///< the column-select switches open this long after the rows return to VCM
    double select_switch_ohm = 10.0;     ///< column-select switch in series with each MAC column and the replica column (on)
    double reset_injection_C = 61.8e-15; ///< charge the opening reset switch leaves on C (u += Q / C)
    double select_injection_C = -40.6e-15;  ///< charge an opening column-select switch leaves on C (u += Q / C)
    double mirror_injection_C = 28.0e-15;   ///< MAC-only charge after its select switches open (G- switch via the conveyor, mirror switch)
    double opamp_open_loop_output_ohm = 73.0;  ///< the op-amp's own output resistance near crossover (0 = ideal source)
    double opamp_max_current_A = 3.40e-3;  ///< output current the op-amp can sink; 0 = unlimited (no slewing)
};

struct ComparatorParams {
    double offset_V = 0.0;               ///< systematic input-referred offset (nominal evaluation)
    double offset_sigma_V = 2e-3;        ///< mismatch offset, drawn per comparator in Monte Carlo
    double noise_sigma_V = 0.3e-3;       ///< input-referred noise per decision
    double offset_per_mismatch = 1.09;   ///< input-referred offset per volt of input-pair threshold mismatch
    double hysteresis_V = 0.0;           ///< switching thresholds at +-h/2 around the offset
    double regeneration_tau_s = 20e-12;  ///< latch regeneration time constant
    double resolve_time_s = 0.5e-9;      ///< time from the clock edge until the counter samples the latch
    double supply_V = 1.2;               ///< latch swing; metastable if the overdrive cannot regenerate to it
    double input_capacitance_F = 5e-15;  ///< gate load of one comparator input
    double hold_capacitance_F = 50e-15;  ///< capacitor at each comparator input (absorbs kickback)
    double kickback_charge_C = -4.5e-15; ///< charge the latch injects into each input at the clock edge (< 0: drawn out)
    double ramp_wire_capacitance_F = 2e-15;  ///< ramp-line wire capacitance per column
    /// Put (C - 1) R_out in series with the MAC output so both comparator inputs see the
    /// same source impedance as the shared ramp line: the kickback is then common mode.
    bool match_input_impedance = true;
    double energy_J = 55.2e-15;          ///< energy per decision (measured: spice/energy.hpp, default design)
};

struct CounterParams {
    double clock_hz = 200e6;             ///< ramp clock: one reference step per period
    bool early_stop = false;             ///< stop at the first "ramp above MAC" decision
    double energy_per_clock_J = 10e-15;  ///< counter and clock distribution per period
};

/// SPICE testbench settings (the netlist generator; circuits/README.md documents
/// the port convention a user's comparator subcircuit and model card must follow).
struct SpiceParams {
    std::string comparator_library;           ///< file with the comparator subcircuit; "" = circuits/nladc_cells.lib
    std::string comparator_subckt = "strongarm";  ///< ports: inp inn clk outp outn vdd vss; params dvt_p dvt_n
    std::string model_library;                ///< MOSFET model card defining nch, pch; "{corner}" -> tt|ff|ss;
                                              ///< "" = circuits/models/generic65_{corner}.lib
    std::string access_model = "level1";      ///< macromodel testbench only: level1 (nacc, fitted to BSIM4 R_on; fast) | bsim4 (nch)
    double access_width_m = 1.6e-6;           ///< 1T1R access NMOS width (R_on ~ 200 ohm at the operating point)
    double access_length_m = 60e-9;
    double word_line_V = 2.0;                 ///< boosted word line of the 1T1R cells
    /// Transistor-level testbench sizing (circuits/README.md): a transmission gate of total
    /// width W has R_on = switch_ron_width_ohm_m / W at VCM (the switches are sized from
    /// sense.reset_switch_ohm and sense.select_switch_ohm); the integrator's OTA output
    /// stage is scaled by k = max(1, C / ota_unit_capacitance_F); the G- conveyor by
    /// rows g_min V_read / mirror_unit_current_A.
    double switch_ron_width_ohm_m = 1.39e-3;
    double select_ron_width_ohm_m = 2.98e-4;  ///< boosted NMOS select switch: R_on = this / W
    double ota_unit_capacitance_F = 2e-12;
    double mirror_unit_current_A = 1.28e-3;
    /// The G- conveyor's output switch opens this long after the MAC integration ends.
    double mirror_tail_s = 1e-9;
    double max_step_s = 50e-12;               ///< transient time-step limit
    double edge_time_s = 50e-12;              ///< rise/fall time of the row drivers and clocks
    double reltol = 1e-4;                     ///< ngspice relative tolerance (sets the voltage resolution)
    double vntol = 1e-6;                      ///< ngspice absolute voltage tolerance, V
    double supply_V = 1.2;
    double common_mode_V = 0.9;               ///< integrator reference: rows at VCM + x V_read
};

struct Technology {
    DeviceParams device;
    ArrayParams array;
    SenseParams sense;
    ComparatorParams comparator;
    CounterParams counter;
    SpiceParams spice;
};

const ParamTable<DeviceParams>& device_table();
const ParamTable<ArrayParams>& array_table();
const ParamTable<SenseParams>& sense_table();
const ParamTable<ComparatorParams>& comparator_table();
const ParamTable<CounterParams>& counter_table();
const ParamTable<SpiceParams>& spice_table();

/// Sets the numeric technology parameter "section.key" (e.g. "sense.opamp_gain") to
/// `value`. Throws Error naming the key for an unknown or non-numeric key and for a value
/// outside its range.
void set_technology_number(Technology& tech, std::string_view key, double value);

/// The keys that say how one chip differs from another ("device.program_sigma_S", ...,
/// "comparator.offset_sigma_V"): what `nladc mc` and `nladc dnn` draw chips from, and what
/// a Monte Carlo study may override (documents/study_file.hpp). Their order is the order
/// overrides are written in.
const std::vector<std::string_view>& technology_variation_keys();

/// Cross-field checks (ranges are in the tables): returns {"device.g_min_S", "reason"}
/// for the first violation, or empty strings.
std::pair<std::string, std::string> find_technology_violation(const Technology& tech);

/// The ramp clock period and the compare instant within it (s).
inline double clock_period_s(const Technology& tech) { return 1.0 / tech.counter.clock_hz; }

/// The integrator OTA's output-stage scale (circuits/README.md §8): the stage sinks the
/// integrated current, which grows with C, so k = max(1, C / spice.ota_unit_capacitance_F).
/// C = 0 (not sized yet) counts as k = 1.
inline double ota_output_scale(const Technology& tech)
{
    return tech.sense.capacitance_F > 0 && tech.spice.ota_unit_capacitance_F > 0
               ? std::max(1.0, tech.sense.capacitance_F / tech.spice.ota_unit_capacitance_F)
               : 1.0;
}
/// Static power of one integrator op-amp at its output-stage scale.
inline double opamp_power_W(const Technology& tech)
{
    return tech.sense.opamp_bias_power_W + ota_output_scale(tech) * tech.sense.opamp_output_stage_power_W;
}

}  // namespace nladc
