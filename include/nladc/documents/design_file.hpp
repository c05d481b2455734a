#pragma once
// Design files (format "nladc-design", version 1): the level set, the technology it
// was mapped with (sense sizing resolved), and the replica column: scale, cells with
// row, target conductance, role and enabling step, realized thresholds and errors.
// "design_hash" is the SHA-256 of the file's content without the version line and
// the hash itself, so equal designs have equal hashes on every checkout.

#include <filesystem>
#include <optional>

#include "nladc/io/json.hpp"
#include "nladc/mapping/mapping.hpp"
#include "nladc/quant/metrics.hpp"

namespace nladc::io {

struct DesignRecord {
    ReplicaDesign design;
    std::string hash;  ///< design_hash as read or written
    /// MSE of the activation data quantized with the realized thresholds (when given).
    std::optional<QuantizationMetrics> after_mapping, before_mapping;
};

OrderedJson design_to_json(const DesignRecord& record);
/// Writes atomically; fills record.hash. Returns the hash.
std::string write_design(const std::filesystem::path& file, DesignRecord& record);
/// Reads and validates a design. Throws InputError naming key and value.
DesignRecord read_design(const std::filesystem::path& file);
DesignRecord design_from_json(const Json& document, const JsonPlace& place);

}  // namespace nladc::io
