#include "nladc/mapping/mapping.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "nladc/core/error.hpp"

namespace nladc {

int ReplicaDesign::step_cells() const
{
    return static_cast<int>(std::count_if(cells.begin(), cells.end(), [](const ReplicaCell& c) { return c.role == "step"; }));
}

double ReplicaDesign::cumulative_target_S(int step) const
{
    double total = 0.0;
    for (const ReplicaCell& cell : cells)
        if (cell.step >= 0 && cell.step <= step) total += cell.target_S;
    return total;
}

std::string size_sense(Technology& tech, double top_conductance_S)
{
    SenseParams& sense = tech.sense;
    const double current = tech.array.v_read_V * top_conductance_S;
    const double target_V = sense.swing_fraction * sense.output_swing_V;
    if (sense.mode == "integrator" && sense.capacitance_F == 0.0) {
        sense.capacitance_F = current * sense.integration_time_s / target_V;
        return fmt::format("sense.capacitance_F sized to {:.4g} pF: a MAC at the range top swings {:.3g} V",
                           sense.capacitance_F * 1e12, target_V);
    }
    if (sense.mode == "tia" && sense.tia_resistance_ohm == 0.0) {
        sense.tia_resistance_ohm = target_V / current;
        return fmt::format("sense.tia_resistance_ohm sized to {:.4g} ohm: a MAC at the range top swings {:.3g} V",
                           sense.tia_resistance_ohm, target_V);
    }
    return {};
}

std::string adapt_technology(const ReplicaDesign& design, Technology& tech)
{
    return size_sense(tech, design.levels.hi / design.scale_per_S);
}

ReplicaDesign map_levels(const LevelSet& levels, const Technology& tech, const MappingOptions& options)
{
    const DeviceParams& device = tech.device;
    ReplicaDesign design;
    design.levels = levels;
    design.tech = tech;
    design.rows_available = options.rows.value_or(tech.array.rows);
    design.calibration_cells = options.calibration_cells;
    design.unit_grid = options.unit_grid || device.cell_type == "8T-SRAM";
    const auto& t = levels.thresholds;
    const std::size_t steps = t.size();

    for (std::size_t k = 0; k < steps; ++k)
        if (t[k] < 0)
            throw Error(fmt::format("thresholds[{}] = {:g} is negative: the replica column's reference is a sum of "
                                    "conductances and cannot go below 0 (map ReLU level sets, lo >= 0)",
                                    k, t[k]));
    if (!(t.back() > 0)) throw Error("all thresholds are 0: nothing to map");

    // Steps in activation units, from t_0 = 0.
    std::vector<double> step(steps);
    for (std::size_t k = 0; k < steps; ++k) step[k] = t[k] - (k == 0 ? 0.0 : t[k - 1]);
    double smallest = INFINITY;
    for (double s : step)
        if (s > 0) smallest = std::min(smallest, s);

    const double g_unit = device.g_min_S;
    const int usable_rows = design.rows_available - options.calibration_cells;
    if (usable_rows < 1)
        throw Error(fmt::format("rows = {} leaves no room beside {} calibration cells", design.rows_available,
                                options.calibration_cells));
    if (options.scale_per_S) {
        if (!(*options.scale_per_S > 0))
            throw Error(fmt::format("scale_per_S = {:g} must be positive", *options.scale_per_S));
        design.scale_per_S = *options.scale_per_S;
        design.scale_rule = "given";
    } else if (design.unit_grid) {
        // Finest grid the column allows: the top threshold uses every usable row.
        design.scale_per_S = t.back() / (static_cast<double>(usable_rows) * g_unit);
        design.scale_rule = fmt::format("auto: unit grid, the top threshold uses all {} usable rows", usable_rows);
    } else {
        design.scale_per_S = smallest / device.g_min_S;
        design.scale_rule = "auto: the smallest step maps to g_min";
    }
    const double s = design.scale_per_S;

    // Cells per step and their target conductances.
    std::vector<std::vector<double>> step_cells(steps);
    if (design.unit_grid) {
        long previous = 0;
        for (std::size_t k = 0; k < steps; ++k) {
            const long cumulative = std::lround(t[k] / (s * g_unit));
            for (long c = previous; c < cumulative; ++c) step_cells[k].push_back(g_unit);
            previous = std::max(previous, cumulative);
        }
        design.notes.push_back(fmt::format("unit grid: thresholds rounded to whole cells of {:.4g} uS", g_unit * 1e6));
    } else {
        int clipped = 0, split = 0;
        for (std::size_t k = 0; k < steps; ++k) {
            const double g = step[k] / s;
            if (g <= 0) continue;
            if (g < device.g_min_S) {
                // Only with a given scale: realize with one cell at g_min and report the error.
                step_cells[k].push_back(device.g_min_S);
                ++clipped;
                continue;
            }
            int n = static_cast<int>(std::ceil(g / device.g_max_S - 1e-12));
            if (k < options.cells_per_step.size()) {
                const int kept = options.cells_per_step[k];
                if (kept >= n && g / kept >= device.g_min_S) n = kept;
            }
            if (n > 1) ++split;
            for (int c = 0; c < n; ++c) step_cells[k].push_back(g / n);
        }
        if (split) design.notes.push_back(fmt::format("{} steps above g_max split over several cells", split));
        if (clipped)
            design.notes.push_back(fmt::format("{} steps below g_min realized at g_min (threshold errors reported); "
                                               "use the automatic scale to avoid this",
                                               clipped));
    }

    int row = 0;
    for (std::size_t k = 0; k < steps; ++k)
        for (double g : step_cells[k]) design.cells.push_back({row++, g, "step", static_cast<int>(k) + 1});
    const int needed = row + options.calibration_cells;
    if (needed > design.rows_available)
        throw Error(fmt::format("the level set needs {} replica cells ({} step + {} calibration) but the column has "
                                "{} rows (array.rows = {}{})",
                                needed, row, options.calibration_cells, design.rows_available, tech.array.rows,
                                options.rows ? fmt::format(", --rows {}", *options.rows) : std::string()));
    for (int c = 0; c < options.calibration_cells; ++c) design.cells.push_back({row++, 0.0, "calibration", -1});
    design.notes.push_back(fmt::format("fits: {} of {} rows used ({} step cells, {} calibration)", needed,
                                       design.rows_available, needed - options.calibration_cells,
                                       options.calibration_cells));
    if (options.match_load && !design.unit_grid && row < design.rows_available) {
        const int loads = design.rows_available - row;
        const double each = options.load_total_S
                                ? std::clamp(*options.load_total_S / loads, device.g_min_S, device.g_max_S)
                                : device.g_min_S;
        while (row < design.rows_available) design.cells.push_back({row++, each, "load", -1});
        design.notes.push_back(fmt::format("{} unused rows programmed to {:.4g} uS as load cells (matched integrator load)",
                                           loads, each * 1e6));
    }

    const double lsb = levels.lsb();
    for (std::size_t k = 0; k < steps; ++k) {
        const double realized = s * design.cumulative_target_S(static_cast<int>(k) + 1);
        design.realized_thresholds.push_back(realized);
        design.threshold_error_lsb.push_back((realized - t[k]) / lsb);
    }
    const std::string sizing = size_sense(design.tech, levels.hi / s);
    if (!sizing.empty()) design.notes.push_back(sizing);
    return design;
}

std::vector<int> cells_per_step(const ReplicaDesign& design)
{
    std::vector<int> counts(design.levels.thresholds.size(), 0);
    for (const ReplicaCell& cell : design.cells)
        if (cell.role == "step" && cell.step >= 1 && cell.step <= static_cast<int>(counts.size())) ++counts[cell.step - 1];
    return counts;
}

double load_conductance_S(const ReplicaDesign& design)
{
    double total = 0.0;
    for (const ReplicaCell& cell : design.cells)
        if (cell.role == "load") total += cell.target_S;
    return total;
}

}  // namespace nladc
