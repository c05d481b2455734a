#pragma once
// Mapping a level set onto the replica (reference) column (BRIEF §2).
//
// The MAC domain scale s (activation units per siemens) ties the level set to
// conductances: a MAC value v corresponds to the differential column conductance
// G = v / s. Threshold k needs the cumulative replica conductance
//     G_ref(k) = t_k / s,   k = 1 .. L-1,
// built by enabling one more step per ramp clock: step k adds g_k = (t_k - t_{k-1}) / s
// (t_0 = 0). A step is realized by n_k = ceil(g_k / G_max) equal cells enabled together
// (each then lies in [G_max / 2, G_max] ⊂ [G_min, G_max] when G_max >= 2 G_min); with
// the automatic scale the smallest non-zero step is exactly G_min, so no step is too
// small. On a unit grid (SRAM) the cumulative counts round(t_k / (s g_unit)) set the
// steps. Calibration (bias) cells sit in the column as spares for trimming (Yang 2025:
// 5 per column); nominally they are off and never enabled.
//
// Every cell of a column loads its integrator's virtual ground (rows that are not
// driven sit at 0 V), and the MAC column presents about R g_min there. Unused rows of
// the replica column are therefore programmed to g_min as "load" cells (never enabled),
// so both integrators see a similar input conductance and their finite-gain and
// finite-bandwidth errors largely cancel (match_load; off: those rows stay unprogrammed).

#include <optional>
#include <string>
#include <vector>

#include "nladc/device/technology.hpp"
#include "nladc/quant/levelset.hpp"

namespace nladc {

struct MappingOptions {
    std::optional<double> scale_per_S;  ///< activation units per siemens; automatic when absent
    std::optional<int> rows;            ///< rows M of the physical replica column (default array.rows)
    int calibration_cells = 5;          ///< spare bias cells (Yang 2025)
    bool unit_grid = false;             ///< integer counts of unit cells (SRAM replica column)
    bool match_load = true;             ///< program unused rows to g_min (see above)
    /// With match_load: the load cells share this total conductance (each within
    /// [g_min, g_max]) instead of g_min each, so the column's total conductance does not
    /// jump when a step needs one more cell (the compensation keeps its first mapping's).
    std::optional<double> load_total_S;
    /// Cells per step to keep where they still fit the window (step k uses cells_per_step[k-1]
    /// cells when its conductance lies within [n g_min, n g_max]): cells stay on their rows,
    /// so the compensation's iterates see the same IR drop pattern.
    std::vector<int> cells_per_step;
};


struct ReplicaCell {
    int row = 0;
    double target_S = 0.0;  ///< conductance to program (0: left off)
    std::string role;       ///< "step", "calibration" or "load"
    int step = 0;           ///< enabled from this ramp step on (1..L-1); -1: spare, never enabled
};

struct ReplicaDesign {
    LevelSet levels;       ///< the target level set
    Technology tech;       ///< the technology mapped with, sense sizing resolved
    double scale_per_S = 0.0;
    std::string scale_rule;            ///< how the scale was chosen
    int rows_available = 0;
    int calibration_cells = 0;
    bool unit_grid = false;
    std::vector<ReplicaCell> cells;
    std::vector<double> realized_thresholds;  ///< s * G_ref(k), activation units, nominal ideal circuit
    std::vector<double> threshold_error_lsb;  ///< (realized - target) / LSB
    std::vector<std::string> notes;           ///< what the mapping did (splits, clipping, sizing)

    int step_cells() const;
    /// Cumulative programmed (target) conductance after step k, k = 0 .. L-1.
    double cumulative_target_S(int step) const;
};

/// Maps `levels` with `tech`. Throws Error naming the key and value when the level set
/// cannot be realized (negative thresholds, more cells than rows, a step below
/// G_min with a given scale, ...).
ReplicaDesign map_levels(const LevelSet& levels, const Technology& tech, const MappingOptions& options);

/// Sizes the sense circuit so that a MAC of `levels.hi` uses swing_fraction of the output
/// swing, when capacitance_F (integrator) or tia_resistance_ohm (TIA) is 0. Returns a note.
std::string size_sense(Technology& tech, double top_conductance_S);

/// `tech` as it applies to an already-mapped design: the sense circuit sized for the
/// design's range (size_sense at levels.hi / scale). Returns the sizing note ("" if none).
/// Every place that evaluates a design with another technology goes through this.
std::string adapt_technology(const ReplicaDesign& design, Technology& tech);

/// Step cells per threshold of a design (index k - 1).
std::vector<int> cells_per_step(const ReplicaDesign& design);
/// Total conductance of a design's load cells, S.
double load_conductance_S(const ReplicaDesign& design);

}  // namespace nladc
