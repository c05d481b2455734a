#pragma once
// Technology JSON: {"format": "nladc-technology", "version": 1, "device": {...},
// "array": {...}, "sense": {...}, "comparator": {...}, "counter": {...}}. Every
// section and key is optional (defaults in device/technology.hpp); unknown keys
// and out-of-range values are errors naming the key and value.

#include <filesystem>
#include <string>

#include "nladc/device/technology.hpp"
#include "nladc/io/json.hpp"

namespace nladc::io {

Technology read_technology(const std::filesystem::path& file);
/// Parses a technology object (e.g. embedded in a design file) starting from defaults.
Technology technology_from_json(const Json& object, const JsonPlace& place);
OrderedJson technology_to_json(const Technology& tech);
/// Markdown reference of every key: section.key, unit, default, range, provenance, meaning.
std::string describe_technology();

}  // namespace nladc::io
