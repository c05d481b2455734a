#pragma once
// Block characterization of the transistor-level sense circuit (circuits/README.md):
// one ngspice testbench per measurement, all run on the worker pool, at the corner and
// temperature of the options and with the sizes the converter testbench uses
// (spice/netlist.hpp sense_sizing). Two kinds of results:
//   - the characterization a circuit designer reads (op-amp DC gain, unity-gain
//     frequency, phase margin, slew rate, output swing, offset, supply current; switch
//     on-resistances and injected charges; mirror gain error and settling; comparator
//     offset per unit of threshold mismatch), with the small-signal operating point a
//     hand analysis needs (gm, gds, bias currents);
//   - the behavioral model's block parameters derived from them (`parameters`), each
//     naming the testbench that produced it. technology_with() writes them into a
//     technology so the behavioral model simulates the circuit the netlist holds.
//
// Testbenches (names as recorded with each parameter):
//   ota_open_loop_G0 / _Grep / _Ghi   AC, DC loop closed through 1 GOhm / 1 F: A(jw) of
//        ota_miller loaded by the integrator (C into a column of conductance G, the
//        output resistor into the ramp line); loop gain T = A beta and its phase margin.
//   ota_op          unity-gain follower at VCM: offset, supply current, gm / gds.
//   ota_swing       open-loop DC sweep of the input difference: the linear output range.
//   ota_slew        unity-gain follower, 0.5 V input steps: slew rates.
//   switches        DC: reset transmission gate at 0.3 / 0.6 / 0.9 V, select NMOS at VCM.
//   integrator_step_0..5  integrator + select switch + column driven at V for T (two
//        columns, two outputs): the transient the op-amp parameters are fitted to.
//   injection_replica  integrator + select switch + column, rows at VCM: the charge the
//        opening reset and select switches leave on C.
//   injection_mac   the same with the G- column, conveyor and mirror switch: the charge
//        the MAC integrator gets after its select switches open (G- switch through the
//        conveyor, mirror switch) beyond the G+ switch's.
//   conveyor_dc     G- column at V_read through its select switch: mirror gain.
//   conveyor_step   the same, rows stepping to V_read: settling of the mirrored current.
//   comparator_*    comparator testbenches (spice/extract.hpp) with and without a
//        threshold mismatch: offset per unit of mismatch.
//
// Behavioral parameters (technology keys):
//   sense.opamp_gain            A0 = |A| at 1 kHz (ota_open_loop_G0).
//   sense.opamp_open_loop_output_ohm   R_o: the model's loaded gain A0 / (1 + s A0 / w_t)
//        x Z_L / (Z_L + R_o) matched to SPICE's at 1 / (4 T) with no column and with the
//        heaviest (ota_open_loop_G0 / _Ghi; this also gives a first w_t).
//   sense.opamp_gbw_Hz, sense.reset_injection_C   fitted (Levenberg-Marquardt) so the
//        behavioral integrator (adc/behavioral.hpp integrator_output_V) reproduces the six
//        integrator_step testbenches; the reset charge absorbs the op-amp's offset too.
//   sense.output_swing_V       VCM - the low end of the linear range (ota_swing).
//   sense.opamp_max_current_A  the output stage's sink bias (ota_op, M7).
//   sense.opamp_bias_power_W   VDD x (supply current - output-stage sink) (ota_op).
//   sense.opamp_output_stage_power_W  VDD x sink / k (ota_op): the output stage per unit of k.
//   sense.reset_switch_ohm, sense.select_switch_ohm       (switches, at VCM)
//   sense.reset_injection_C, sense.select_injection_C     (injection_replica)
//   sense.mirror_injection_C   MAC-only charge: injection_mac from ts on, minus the
//        replica's select charge
//   sense.column_mirror_gain   I_out (1 + R_sel G-) / (G- V_read) (conveyor_dc)
//   comparator.offset_per_mismatch                        (comparator_*)

#include <string>
#include <vector>

#include "nladc/spice/netlist.hpp"
#include "nladc/spice/ngspice.hpp"

namespace nladc::spice {

struct ExtractedParameter {
    std::string key;        ///< technology key, e.g. "sense.opamp_gain"
    double value = 0.0;     ///< SI
    std::string unit;
    std::string testbench;  ///< the testbench(es) it comes from
};

struct BlockCharacterization {
    Corner corner = Corner::tt;
    double temperature_C = 27.0;
    double ota_k = 1.0, capacitance_F = 0.0, common_mode_V = 0.9, supply_V = 1.2;
    /// Column conductances of the open-loop testbenches (0, replica column, heaviest MAC column), S.
    std::vector<double> load_conductance_S;
    // ota_miller
    double dc_gain = 0.0;                      ///< |A| at 1 kHz, unloaded by a column
    std::vector<double> unity_gain_Hz;         ///< loaded |A| = 1, one per load conductance
    std::vector<double> loop_unity_gain_Hz;    ///< |T| = 1 of the integrator loop, per load
    std::vector<double> phase_margin_deg;      ///< of T, per load (the first: column disconnected, hold)
    double offset_V = 0.0;                     ///< unity-gain follower output - VCM
    double supply_A = 0.0;
    double slew_fall_V_per_s = 0.0, slew_rise_V_per_s = 0.0;
    double swing_low_V = 0.0, swing_high_V = 0.0;  ///< linear range (incremental gain >= half its peak)
    // operating point (ota_op): input pair M2, load M4, driver M6, sink M7, tail Mt
    double gm_in_S = 0, gds_in_S = 0, gds_load_S = 0, gm_driver_S = 0, gds_driver_S = 0, gds_sink_S = 0;
    double tail_A = 0, sink_A = 0;
    // The behavioral single-pole op-amp. From AC: the model's gain matched at
    // fit_frequency_Hz with no column and with the heaviest (the start of the fit). From
    // the integrator step testbenches: GBW and R_o fitted to the transient outputs.
    double fit_frequency_Hz = 0.0;
    std::vector<double> fit_gain;
    double ac_gbw_Hz = 0.0, ac_output_ohm = 0.0;
    struct StepPoint {
        double current_A = 0, conductance_S = 0, spice_V = 0;
    };
    std::vector<StepPoint> step_points;
    double gbw_Hz = 0.0, output_ohm = 0.0;
    double step_fit_rms = 0.0;  ///< relative rms error of the fitted model on the step points
    // switches
    std::vector<double> reset_switch_ohm;  ///< transmission gate at 0.3, 0.6, 0.9 V
    double select_switch_ohm = 0.0;        ///< at VCM
    double reset_injection_C = 0.0, select_injection_C = 0.0, mirror_injection_C = 0.0;
    // G- conveyor
    double mirror_gain = 0.0;              ///< as the behavioral model uses it (see above)
    double mirror_raw_gain = 0.0;          ///< I_out / I_column
    double conveyor_input_error_V = 0.0;   ///< conveyor input - VCM with the column current flowing
    double conveyor_supply_A = 0.0;
    double mirror_settling_s = 0.0;        ///< |I_out - final| < 1 % after a column-current step
    // comparator
    double comparator_offset_per_mismatch = 0.0;
    int simulations = 0;
    double wall_s = 0.0;

    /// The behavioral model's block parameters, each with its testbench.
    std::vector<ExtractedParameter> parameters() const;
};

/// Runs every testbench on the pool (options: corner, temperature, circuits directory;
/// the circuit is transistor-level). Throws Error when a simulation fails or a
/// measurement is missing.
BlockCharacterization characterize_blocks(const ReplicaDesign& design, const Technology& tech, WorkerPool& pool,
                                          const NetlistOptions& options);

/// `tech` with the extracted block parameters written in (by key).
Technology technology_with(Technology tech, const std::vector<ExtractedParameter>& parameters);

}  // namespace nladc::spice
