#include "nladc/documents/design_file.hpp"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "nladc/core/sha256.hpp"
#include "nladc/core/version.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::io {

namespace {

OrderedJson metrics_json(const QuantizationMetrics& m)
{
    return {{"mse", m.mse}, {"mse_interior", m.mse_interior}, {"sqnr_db", level_to_json(m.sqnr_db)}, {"samples", m.samples}};
}

/// The hash covers everything but the version stamp and the hash itself.
std::string content_hash(OrderedJson document)
{
    document.erase("nladc_version");
    document.erase("design_hash");
    if (document.contains("levelset")) document["levelset"].erase("nladc_version");
    return sha256_hex(document.dump());
}

}  // namespace

OrderedJson design_to_json(const DesignRecord& record)
{
    const ReplicaDesign& d = record.design;
    OrderedJson j;
    j["format"] = "nladc-design";
    j["version"] = 1;
    j["nladc_version"] = std::string(version());
    j["design_hash"] = "";
    LevelSetRecord levels;
    levels.set = d.levels;
    j["levelset"] = levelset_to_json(levels);
    j["technology"] = technology_to_json(d.tech);
    OrderedJson mapping;
    mapping["scale_per_S"] = d.scale_per_S;
    mapping["scale_rule"] = d.scale_rule;
    mapping["rows_available"] = d.rows_available;
    mapping["calibration_cells"] = d.calibration_cells;
    mapping["unit_grid"] = d.unit_grid;
    mapping["cell_count"] = d.cells.size();
    OrderedJson cells = OrderedJson::array();
    for (const ReplicaCell& c : d.cells)
        cells.push_back({{"row", c.row}, {"target_S", c.target_S}, {"role", c.role}, {"step", c.step}});
    mapping["cells"] = cells;
    mapping["realized_thresholds"] = d.realized_thresholds;
    mapping["threshold_error_lsb"] = d.threshold_error_lsb;
    double worst = 0;
    for (double e : d.threshold_error_lsb) worst = std::max(worst, std::abs(e));
    mapping["max_abs_threshold_error_lsb"] = worst;
    mapping["notes"] = d.notes;
    j["mapping"] = mapping;
    if (record.after_mapping) {
        j["activations"] = {{"target_levels", metrics_json(*record.before_mapping)},
                            {"after_mapping", metrics_json(*record.after_mapping)}};
    }
    j["design_hash"] = content_hash(j);
    return j;
}

std::string write_design(const std::filesystem::path& file, DesignRecord& record)
{
    const OrderedJson j = design_to_json(record);
    record.hash = j["design_hash"].get<std::string>();
    write_file_atomic(file, dump_json(j));
    return record.hash;
}

DesignRecord design_from_json(const Json& document, const JsonPlace& place)
{
    reject_unknown_keys(document, place,
                        {"format", "version", "nladc_version", "design_hash", "levelset", "technology", "mapping",
                         "activations"});
    require(document, place, "format");
    check_format_version(document, place, "nladc-design");
    DesignRecord record;
    ReplicaDesign& d = record.design;
    d.levels = levelset_from_json(require(document, place, "levelset"), place.key("levelset")).set;
    d.tech = technology_from_json(require(document, place, "technology"), place.key("technology"));
    const Json& mapping = require(document, place, "mapping");
    const JsonPlace at = place.key("mapping");
    reject_unknown_keys(mapping, at,
                        {"scale_per_S", "scale_rule", "rows_available", "calibration_cells", "unit_grid", "cell_count",
                         "cells", "realized_thresholds", "threshold_error_lsb", "max_abs_threshold_error_lsb", "notes"});
    d.scale_per_S = as_number(require(mapping, at, "scale_per_S"), at.key("scale_per_S"));
    if (!(d.scale_per_S > 0)) at.key("scale_per_S").fail(fmt::format("{:g} must be positive", d.scale_per_S));
    if (mapping.contains("scale_rule")) d.scale_rule = as_string(mapping["scale_rule"], at.key("scale_rule"));
    d.rows_available = as_int(require(mapping, at, "rows_available"), at.key("rows_available"));
    if (mapping.contains("calibration_cells"))
        d.calibration_cells = as_int(mapping["calibration_cells"], at.key("calibration_cells"));
    if (mapping.contains("unit_grid")) d.unit_grid = as_bool(mapping["unit_grid"], at.key("unit_grid"));
    const Json& cells = require(mapping, at, "cells");
    if (!cells.is_array()) at.key("cells").fail("expected an array of cells");
    std::set<int> rows;
    const int steps = static_cast<int>(d.levels.thresholds.size());
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const JsonPlace c = at.key("cells").index(i);
        reject_unknown_keys(cells[i], c, {"row", "target_S", "role", "step"});
        ReplicaCell cell;
        cell.row = as_int(require(cells[i], c, "row"), c.key("row"));
        cell.target_S = as_number(require(cells[i], c, "target_S"), c.key("target_S"));
        cell.role = as_string(require(cells[i], c, "role"), c.key("role"));
        cell.step = as_int(require(cells[i], c, "step"), c.key("step"));
        if (cell.row < 0 || cell.row >= d.rows_available)
            c.key("row").fail(fmt::format("{} is outside the {} rows of the column", cell.row, d.rows_available));
        if (!rows.insert(cell.row).second) c.key("row").fail(fmt::format("row {} holds two cells", cell.row));
        if (cell.target_S < 0) c.key("target_S").fail(fmt::format("{:g} S is a negative conductance", cell.target_S));
        if (cell.target_S > d.tech.device.g_max_S * (1 + 1e-9))
            c.key("target_S").fail(fmt::format("{:g} S is above device.g_max_S = {:g} S", cell.target_S,
                                               d.tech.device.g_max_S));
        if (cell.role != "step" && cell.role != "calibration" && cell.role != "load")
            c.key("role").fail(fmt::format("\"{}\" is not \"step\", \"calibration\" or \"load\"", cell.role));
        if (cell.step < -1 || cell.step > steps)
            c.key("step").fail(fmt::format("{} is outside [-1, {}]", cell.step, steps));
        d.cells.push_back(cell);
    }
    if (d.rows_available > d.tech.array.rows)
        at.key("rows_available").fail(fmt::format("{} exceeds technology.array.rows = {}", d.rows_available,
                                                   d.tech.array.rows));
    const double lsb = d.levels.lsb();
    for (int k = 1; k <= steps; ++k) {
        const double realized = d.scale_per_S * d.cumulative_target_S(k);
        const double error_lsb = (realized - d.levels.thresholds[static_cast<std::size_t>(k - 1)]) / lsb;
        // Each factor is finite, but a huge scale or a tiny LSB can still overflow.
        if (!std::isfinite(realized) || !std::isfinite(error_lsb))
            at.key("scale_per_S").fail(fmt::format("{:g} gives realized threshold {} = {:g}, {:g} LSB from its target: "
                                                   "not a finite number", d.scale_per_S, k, realized, error_lsb));
        d.realized_thresholds.push_back(realized);
        d.threshold_error_lsb.push_back(error_lsb);
    }
    if (mapping.contains("notes") && mapping["notes"].is_array())
        for (std::size_t i = 0; i < mapping["notes"].size(); ++i)
            d.notes.push_back(as_string(mapping["notes"][i], at.key("notes").index(i)));
    if (document.contains("activations")) {
        const Json& activations = document["activations"];
        const JsonPlace act = place.key("activations");
        reject_unknown_keys(activations, act, {"target_levels", "after_mapping"});
        auto metrics = [&](const char* key) {
            const JsonPlace at_key = act.key(key);
            const Json& m = require(activations, act, key);
            reject_unknown_keys(m, at_key, {"mse", "mse_interior", "sqnr_db", "samples"});
            QuantizationMetrics q;
            q.mse = as_number(require(m, at_key, "mse"), at_key.key("mse"));
            if (m.contains("mse_interior")) q.mse_interior = as_number(m["mse_interior"], at_key.key("mse_interior"));
            if (m.contains("sqnr_db") && !m["sqnr_db"].is_null()) q.sqnr_db = level_from_json(m["sqnr_db"], at_key.key("sqnr_db"));
            if (m.contains("samples")) q.samples = as_count(m["samples"], at_key.key("samples"));
            return q;
        };
        record.before_mapping = metrics("target_levels");
        record.after_mapping = metrics("after_mapping");
    }
    if (document.contains("design_hash")) record.hash = as_string(document["design_hash"], place.key("design_hash"));
    return record;
}

DesignRecord read_design(const std::filesystem::path& file)
{
    return design_from_json(read_json_file(file), JsonPlace(file.string()));
}

}  // namespace nladc::io
