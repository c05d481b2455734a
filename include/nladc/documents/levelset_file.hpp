#pragma once
// Level-set files (format "nladc-levelset", version 1). Documented in README.md.
//
// Single layer:  { "format": "nladc-levelset", "version": 1, "nladc_version": ...,
//                  "bits", "range": [lo, hi], "lsb", "method", "variant", "parameters": {},
//                  "levels": [2^bits], "thresholds": [2^bits - 1], "empty_codes": [],
//                  "input": {file, layer, samples, dropped_nonfinite, sha256},
//                  "metrics": {mse, mse_interior, relative_mse, sqnr_db, max_abs_error, ...} }
// Several layers: { "format": "nladc-levelsets", "version": 1, "nladc_version": ...,
//                   "layers": { "<name>": <single-layer object>, ... } }

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nladc/io/json.hpp"
#include "nladc/quant/levelset.hpp"
#include "nladc/quant/metrics.hpp"

namespace nladc {

/// Where a level set's data came from (no absolute paths: files stay identical across checkouts).
struct DataProvenance {
    std::string file;    ///< file name without directories
    std::string layer;   ///< npz member, or empty
    std::uint64_t samples = 0;  ///< finite samples used
    std::uint64_t dropped_nonfinite = 0;
    std::string sha256;  ///< of the whole file
};

}  // namespace nladc

namespace nladc::io {

struct LevelSetRecord {
    LevelSet set;
    std::optional<DataProvenance> input;
    std::optional<QuantizationMetrics> metrics;
};

/// The single-layer JSON object.
OrderedJson levelset_to_json(const LevelSetRecord& record);
/// Writes one record (layers.size() == 1 with an empty name) or a "layers" file.
void write_levelsets(const std::filesystem::path& file, const std::vector<std::pair<std::string, LevelSetRecord>>& layers);

/// Reads and validates a level set; `layer` selects one from a multi-layer file
/// (may be empty when the file holds one). Throws InputError naming the key and value.
LevelSetRecord read_levelset(const std::filesystem::path& file, const std::string& layer = "");
/// The same from an already parsed document.
LevelSetRecord levelset_from_json(const Json& document, const JsonPlace& place);

/// Layer names of a level-set file ({""} for a single-layer file).
std::vector<std::string> levelset_layers(const std::filesystem::path& file);

}  // namespace nladc::io
