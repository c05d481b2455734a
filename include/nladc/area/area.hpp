#pragma once
// Area, energy and latency per conversion of the in-memory ramp NL-ADC against baseline
// ADCs (docs/area.md lists every formula and constant with its source).
// Units: m, m^2, J, s, F (farad), ohm; F_s = feature size (array.feature_size_m).
//
// Transistor footprint (NeuroSim V1.4 bulk layout constants, formula.cpp CalculateGateArea):
//   a device of total width W, length L, nf fingers and multiplier m occupies
//     m (W/nf + 2 (e_poly + g_field/2) F_s) (nf L + (nf + 1) g_gate F_s + p F_s)
//   e_poly = 1.0, g_field = 1.6, g_gate = 2.8, p = 1.0 (all in F_s); a minimum device
//   (L = F_s, nf = 1) is 2 (p + g_gate) F_s = 7.6 F_s long, as NeuroSim's gate pitch.
//   A circuit's area = analog_layout_factor x the sum of its device footprints.
// NeuroSim gate area (bulk, F_s >= 22 nm): a gate sits in a cell of height 28 F_s; an
//   unfolded transistor column is 2 (p + g_gate) F_s wide; NAND/NOR share (n - 1) pitches.
// NeuroSim V1.4 SAR ADC (SarADC.cpp): A = A_nINV (269 + (N-1) 109) + A_pINV (209 + (N-1) 73),
//   latency (N + 1) x 1 ns, P = (a N + b) uW at the node (LP fit), E = P x latency.
// In-memory NL-ADC, per ADC (one MAC pair), C ADCs sharing one replica column:
//   A = A_comp + A_sense + A_counter(N) + (n_rep (A_cell + A_seq) + A_sense) / C
//   A_sense = OTA + integrating capacitor (sense.capacitance_F after mapping) / density
//   n_rep = step + calibration cells of the mapped linear level set (2^N - 1 + 5)
// Flash: (2^N - 1) A_comp + 2^N ladder resistors + thermometer-to-binary encoder.
// Yang 2025 ramp NL-ADC: A_comp + A_counter(N) + ((2^N + 5)(A_cell + A_seq) + A_sense) / C.
// ReADC: 24.29 um^2, 12.58 fJ, 0.165 ns at 5 b (reported); not available at other widths.

#include <filesystem>
#include <string>
#include <vector>

#include "nladc/device/technology.hpp"
#include "nladc/spice/library.hpp"

namespace nladc {

/// One MOSFET of a subcircuit, with every parameter expression evaluated (name, model,
/// width_m, length_m, multiplier, fingers): the SPICE library reader's record.
using Transistor = spice::Mosfet;

/// Layout constants in units of F_s (NeuroSim V1.4 constant.h unless marked choice).
struct LayoutRules {
    double poly_width_F = 1.0;           ///< POLY_WIDTH
    double gate_poly_gap_F = 2.8;        ///< MIN_GAP_BET_GATE_POLY
    double poly_ext_diff_F = 1.0;        ///< MIN_POLY_EXT_DIFF: poly beyond the diffusion
    double field_poly_gap_F = 1.6;       ///< MIN_GAP_BET_FIELD_POLY
    double pn_diff_gap_F = 3.5;          ///< MIN_GAP_BET_P_AND_N_DIFFS
    double cell_height_F = 28.0;         ///< MAX_TRANSISTOR_HEIGHT: standard-cell height
    double min_nmos_width_F = 2.0;       ///< MIN_NMOS_SIZE
    /// PMOS/NMOS width ratio: I_on,n / I_on,p of NeuroSim's 65 nm LSTP card (400 / 238.7,
    /// Technology.cpp). At minimum size no device folds, so gate areas do not depend on it.
    double pn_size_ratio = 400.0 / 238.7;
    /// Analog layout area over the sum of device footprints (wells, guard rings, routing,
    /// matching). Choice: NeuroSim's own minimum inverter is 212.8 F^2 over 95.4 F^2 of
    /// device footprints (2.23x); 2.0 is used for the comparator and the integrator OTA.
    double analog_layout_factor = 2.0;
};

/// Memory-cell footprints in F_s (NeuroSim V1.4 Param.cpp, nodes above 14 nm).
struct CellAreaParams {
    double sram_height_F = 10.0, sram_width_F = 28.0;          ///< heightInFeatureSizeSRAM / widthIn...
    double one_t1r_height_F = 4.0, one_t1r_width_F = 12.0;     ///< heightInFeatureSize1T1R / widthIn...
    double crossbar_height_F = 2.0, crossbar_width_F = 2.0;    ///< heightInFeatureSizeCrossbar (0T1R)
};

/// Every parameter of the comparison. Defaults and provenance: docs/area.md.
struct AreaParams {
    LayoutRules layout;
    CellAreaParams cells;
    /// Node the transistor sizes in circuits/ are drawn for (circuits/README.md: 65 nm-like).
    double circuits_feature_size_m = 65e-9;
    /// Scale every W and L of circuits/ by F_s / circuits_feature_size_m (1 at 65 nm).
    bool scale_circuits_to_feature_size = true;
    std::string integrator_subckt = "integrator";  ///< in circuits_dir/nladc_cells.lib
    /// Used only when the integrator subcircuit (with its sub-subcircuits) holds no MOSFET
    /// (today it is a behavioural macromodel): a two-stage Miller OTA, G- mirror and reset
    /// switch sized for 200 uW at 1.2 V (choice, docs/area.md), at circuits_feature_size_m.
    std::vector<Transistor> reference_ota = {
        {"m1", "nch", 8e-6, 120e-9, 1, 1},  {"m2", "nch", 8e-6, 120e-9, 1, 1},   // input pair
        {"m3", "pch", 4e-6, 240e-9, 1, 1},  {"m4", "pch", 4e-6, 240e-9, 1, 1},   // mirror load
        {"m5", "nch", 4e-6, 240e-9, 1, 1},                                        // tail
        {"m6", "pch", 16e-6, 120e-9, 1, 1}, {"m7", "nch", 8e-6, 240e-9, 1, 1},   // second stage
        {"m8", "nch", 2e-6, 240e-9, 1, 1},                                        // bias diode
        {"m9", "pch", 8e-6, 240e-9, 1, 1},  {"m10", "pch", 8e-6, 240e-9, 1, 1},  // G- column mirror
        {"m11", "nch", 1e-6, 60e-9, 1, 1},  {"m12", "pch", 2e-6, 60e-9, 1, 1},   // reset switch (TG)
    };
    double reference_ota_compensation_F = 60e-15;  ///< Miller capacitor of the reference OTA (choice)
    /// Capacitor density (MIM, choice: foundry MIM options are 1-2 fF/um^2), F/m^2.
    double capacitor_density_F_per_m2 = 2e-3;
    int calibration_cells = 5;                     ///< Yang 2025: 5 bias-calibration cells per column
    /// Our energy comes from BehavioralAdc::energy up to this width; above it from the closed
    /// form of the same terms with ideal ohmic cells (the behavioral ramp precomputation grows
    /// as 4^N: 2.8 s at 10 b, 55 s at 12 b).
    int behavioral_max_bits = 10;
    /// Flash ladder: 2^N unit poly resistors (choice): R_u, sheet resistance, width, contact
    /// head length and spacing in F_s; reference span = sense.output_swing_V.
    double ladder_unit_resistance_ohm = 1000.0;
    double poly_sheet_resistance_ohm = 300.0;
    double resistor_width_F = 4.0, resistor_head_F = 4.0, resistor_spacing_F = 4.0;
    /// Yang 2025 (as reported by ReADC): 5 b, 32 ns and 42.82 pJ. Assumed per 32-ADC VMM,
    /// so per conversion = 42.82 pJ / yang_adcs_per_vmm (true: per conversion, see notes).
    double yang_energy_J = 42.82e-12;
    double yang_latency_s = 32e-9;
    int yang_bits = 5;
    int yang_adcs_per_vmm = 32;
    bool yang_energy_is_per_conversion = false;
    /// ReADC (Nat. Commun. 2025), 5 b: reported values, at its own node (not rescaled).
    double readc_area_m2 = 24.29e-12, readc_energy_J = 12.58e-15, readc_latency_s = 0.165e-9;
    int readc_bits = 5;
};

/// Cost of one ADC architecture at one bit width, per ADC and per conversion.
/// energy_J / latency_s are NaN where not available (the note says why).
struct AdcCost {
    std::string architecture;  ///< nladc | sar | flash | yang2025 | readc
    int bits = 0;
    double area_m2 = 0.0, energy_J = 0.0, latency_s = 0.0;
    bool available = true;     ///< false: no area at this width (e.g. ReADC except 5 b)
    std::string note;
};

/// A subcircuit's area from its transistors.
struct CircuitArea {
    std::string library, subckt;
    std::vector<Transistor> transistors;  ///< as used (scaled to F_s)
    double footprint_m2 = 0.0;            ///< sum of device footprints
    double area_m2 = 0.0;                 ///< footprint x analog_layout_factor (+ capacitor)
    bool reference = false;               ///< true: the library had no MOSFET, reference sizing used
};

/// Our NL-ADC's area terms at one width (per ADC, m^2), and the sizing behind them.
struct NlAdcBreakdown {
    int bits = 0;
    double comparator_m2 = 0.0;
    double sense_ota_m2 = 0.0;          ///< integrator OTA (MAC pair)
    double sense_capacitor_m2 = 0.0;    ///< integrating capacitor (MAC pair)
    double counter_m2 = 0.0;
    double replica_cells_m2 = 0.0;      ///< share: n_rep A_cell / C
    double replica_sequencer_m2 = 0.0;  ///< share: n_rep A_seq / C
    double replica_sense_m2 = 0.0;      ///< share: replica integrator / C
    double total_m2 = 0.0;
    int replica_cells = 0;              ///< n_rep (step + calibration)
    double capacitance_F = 0.0;         ///< integrating capacitor from the mapping
    double mac_cell_read_J = 0.0;       ///< array read energy, excluded from the ADC energy
    /// The MAC pair's own sensing in the counted energy: its integrator's op-amp over the
    /// conversion and the G- conveyor. SAR and flash count no column sense circuit, so the
    /// like-for-like energy comparison leaves it out (as the area comparison leaves out the OTA and C).
    double mac_sense_J = 0.0;
    std::vector<std::pair<std::string, double>> energy_terms;  ///< as counted, J
};

struct AreaReport {
    std::vector<AdcCost> rows;             ///< every architecture x bit width
    std::vector<NlAdcBreakdown> breakdown; ///< ours, one per bit width
    CircuitArea comparator, integrator;
    double feature_size_m = 0.0;
    std::string cell_type;
    double cell_area_m2 = 0.0;
    int sharing_columns = 0;               ///< C: ADCs sharing one replica column
    std::vector<std::string> notes;        ///< assumptions that apply to the whole report
};

enum class GateKind { inv, nand, nor };

/// MOSFETs of `subckt` in a SPICE library, following X instances into the library's
/// other subcircuits (parameters, .param, {expressions} and suffixes such as 1u, 60n,
/// meg are evaluated). Throws InputError naming the file and line when the file cannot
/// be read, the subcircuit is missing, or a W/L is absent or not evaluable
/// (spice::subckt_mosfets of spice::read_library).
std::vector<Transistor> read_subckt_transistors(const std::filesystem::path& library, const std::string& subckt);

/// Footprint of one device (see the header comment), m^2.
double device_footprint_m2(const Transistor& t, double feature_size_m, const LayoutRules& rules);

/// NeuroSim V1.4 CalculateGateArea, bulk branch (F_s >= 22 nm), fixed cell height; widths
/// in m. Throws Error below 22 nm (NeuroSim's FinFET branch is not implemented).
double neurosim_gate_area_m2(GateKind kind, int inputs, double width_n_m, double width_p_m,
                             double feature_size_m, const LayoutRules& rules);

/// NeuroSim V1.4 SarADC::CalculateUnitArea at resolution `bits`, m^2.
double neurosim_sar_area_m2(int bits, double feature_size_m, const LayoutRules& rules);

/// NeuroSim V1.4 SAR power (LP roadmap, 300 K, column-current term left out), W;
/// NaN when F_s is not one of NeuroSim's nodes (130 ... 1 nm).
double neurosim_sar_power_W(int bits, double feature_size_m);

/// Memory-cell area for device.cell_type (0T1R | 1T1R | 8T-SRAM), m^2. Throws Error otherwise.
double memory_cell_area_m2(const std::string& cell_type, double feature_size_m, const CellAreaParams& cells);

/// Every architecture at every width in `bits` (1..16). Reads the comparator (technology
/// spice.comparator_library or circuits_dir/nladc_cells.lib) and the integrator from
/// circuits_dir; maps a linear level set per width and evaluates BehavioralAdc::energy at
/// mid-range. Throws InputError for an unreadable library, Error for a bad technology.
AreaReport compare_adc_costs(const Technology& tech, const std::vector<int>& bits,
                             const std::filesystem::path& circuits_dir, const AreaParams& params = {});

/// Markdown: area, energy and latency per architecture and width, the ratio ours / baseline
/// for each, our area breakdown and the notes.
std::string area_table_markdown(const AreaReport& report);

/// Writes dir/area.csv, dir/area.json and dir/area.png (atomically; creates dir).
/// Throws OutputError.
void write_area_report(const AreaReport& report, const std::filesystem::path& dir);

}  // namespace nladc
