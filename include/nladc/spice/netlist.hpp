#pragma once
// ngspice testbenches of the NL-ADC, generated from a design (docs/spice.md).
//
// The circuit mirrors the behavioral model (adc/behavioral.hpp) element by element:
// row drivers at VCM + x V_read, row and column wire segments, 1T1R (or 0T1R) cells,
// column-select switches, the G- column's current mirrored out of the MAC integrator's
// summing node, two integrators (single-pole op-amp macromodel, reset switch), the
// ramp line shared by C comparators (their input capacitance and kickback lumped),
// and the transistor-level StrongARM latch. Every quantity Monte Carlo varies is an
// explicit per-instance value (each cell's g, the wire resistance, V_read, the
// comparator's input-pair threshold shifts), so samples drawn in C++ are written in.
//
// Timeline (t = 0): MAC reset [0, Tr], MAC integration [Tr, Tr + T], then ramp steps
// k = 1 .. L-1 of one clock period P each: replica reset [t0, t0 + Tr], integration
// [t0 + Tr, t0 + Tr + T], hold; the comparator clock rises at the compare edge
// t0 + P - t_resolve and the decision is read just before t0 + P.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nladc/device/corner.hpp"
#include "nladc/mapping/mapping.hpp"

namespace nladc::spice {

/// The circuits/ directory: `explicit_dir` (--circuits), else env NLADC_CIRCUITS, else
/// ../share/nladc/circuits beside the executable (installed), else the source tree.
/// Throws Error naming every place tried when none holds nladc_cells.lib.
std::filesystem::path find_circuits(const std::string& explicit_dir = "");

/// Per-instance values of one chip (nominal or a Monte Carlo sample).
struct SpiceChip {
    std::vector<double> replica_conductance_S;  ///< per design cell
    double v_read_V = 0.2;
    double wire_resistance_ohm = 0.0;
    double drift_factor = 1.0;                  ///< applied to the MAC cells
    double comparator_offset_V = 0.0;           ///< input-referred; written as delvto dvt_p = -dvt_n = V / (2 comparator.offset_per_mismatch)
};

SpiceChip nominal_spice_chip(const ReplicaDesign& design, const Technology& tech);

/// Device sizes of the transistor-level sense circuit (circuits/README.md), derived from
/// the technology: OTA output-stage scale, G- conveyor scale, transmission-gate widths.
struct SenseSizing {
    double ota_k = 1.0, mirror_k = 1.0;
    double reset_wn_m = 0, reset_wp_m = 0;    ///< reset switch across C (sense.reset_switch_ohm)
    double select_w_m = 0;                    ///< boosted NMOS column-select switch (sense.select_switch_ohm)
    double mirror_switch_w_m = 0;             ///< the G- mirror's output switch
};
SenseSizing sense_sizing(const Technology& tech);

struct NetlistOptions {
    std::string kind = "conversion";  ///< conversion | mac (MAC integrator only) | comparator
    /// transistor: OTA integrators, transmission gates, current conveyor, BSIM4 access
    /// transistors (only M, R, C, V, I, X elements; B-sources only inside rram_*);
    /// macro: the single-pole op-amp macromodels, behavioral switches, an ideal mirror.
    std::string circuit = "transistor";
    std::optional<double> mac_value;  ///< input units, canonical spread (required for conversion/mac)
    int last_step = 0;                ///< simulate up to this ramp step (0 = all)
    Corner corner = Corner::tt;
    double temperature_C = 27.0;
    bool inline_library = false;      ///< paste the library and model card instead of .include
    std::string circuits_dir;         ///< resolved with find_circuits
    std::uint64_t seed = 0;           ///< recorded in the header (the sample's seed)
    std::string design_hash;          ///< recorded in the header
    /// Comparator testbench: the input differences (INP - INN, V), one per clock cycle,
    /// around the common mode `comparator_common_V`.
    std::vector<double> comparator_differences_V;
    double comparator_common_V = 0.6;
    double max_step_s = 0.0;  ///< transient step limit; 0 = technology spice.max_step_s
    /// Transistor conversion: each block on its own VDD source (Vdd_imac, Vdd_iref,
    /// Vdd_conv, Vdd_cmp; the other columns' comparators stay on Vdd) and the supply and
    /// row-driver currents saved, for the energy per conversion (spice/energy.hpp).
    bool supply_per_block = false;
};

struct Netlist {
    std::string text;
    std::vector<std::string> vectors;   ///< what to ask ngspice for
    std::vector<double> compare_times;  ///< compare edges t_edge(k), s (k = 1 .. steps simulated)
    std::vector<double> decision_times; ///< where the latch output is read, s
    double stop_time = 0.0;
    double common_mode_V = 0.9;
    double mac_end_time = 0.0;          ///< end of the MAC phase (reset + T), s
    bool background = false;            ///< background cells present, returned through Vbgr<row>
};

/// The library files a testbench includes: circuits/nladc_cells.lib, the comparator's
/// library, the corner's model card (and, for the macromodel with level-1 access
/// devices, their card). Throws Error naming a missing file.
std::vector<std::filesystem::path> testbench_libraries(const Technology& tech, const NetlistOptions& options);
/// The .include lines (none when inlining), .temp and .options of a testbench.
std::string testbench_preamble(const Technology& tech, const NetlistOptions& options,
                               const std::vector<std::filesystem::path>& libraries);
/// With options.inline_library, pastes at `library_at` the parts of the libraries the
/// finished testbench `text` uses (spice/library.hpp), instead of .include lines.
void finish_testbench(std::string& text, std::size_t library_at, const std::vector<std::filesystem::path>& libraries,
                      const NetlistOptions& options);

/// Generates the netlist text. Deterministic: equal inputs give equal text. Throws
/// Error for unsupported settings (8T-SRAM cells, an unknown corner, a missing file).
Netlist generate_netlist(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                         const NetlistOptions& options);

/// Which line of a netlist holds the version stamp (regeneration tests ignore it).
bool is_version_line(const std::string& line);

}  // namespace nladc::spice
