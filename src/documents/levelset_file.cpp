#include "nladc/documents/levelset_file.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::io {

namespace {

constexpr const char* kFormat = "nladc-levelset";
constexpr const char* kMultiFormat = "nladc-levelsets";
constexpr int kVersion = 1;

OrderedJson metrics_to_json(const QuantizationMetrics& m)
{
    OrderedJson j;
    j["mse"] = m.mse;
    j["mse_interior"] = m.mse_interior;
    j["relative_mse"] = m.relative_mse;
    j["sqnr_db"] = level_to_json(m.sqnr_db);  // "inf" when the MSE is 0 (exact quantization)
    j["max_abs_error"] = m.max_abs_error;
    j["mean_square"] = m.mean_square;
    j["samples"] = m.samples;
    j["interior_samples"] = m.interior_samples;
    j["occupancy"] = m.occupancy;
    j["unoccupied_codes"] = m.unoccupied_codes;
    return j;
}

std::vector<double> number_array(const Json& value, const JsonPlace& place)
{
    if (!value.is_array()) place.fail(fmt::format("expected an array of numbers, found {}", value.dump().substr(0, 40)));
    std::vector<double> numbers;
    for (std::size_t i = 0; i < value.size(); ++i) numbers.push_back(as_number(value[i], place.index(i)));
    return numbers;
}

/// The "format" value, or "" when it is absent or not a string (levelset_from_json
/// reports the wrong type; Json::value would throw nlohmann's type_error).
std::string format_of(const Json& document)
{
    const auto found = document.find("format");
    return found != document.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

OrderedJson levelset_to_json(const LevelSetRecord& record)
{
    const LevelSet& set = record.set;
    OrderedJson j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["nladc_version"] = std::string(version());
    j["bits"] = set.bits;
    j["range"] = {set.lo, set.hi};
    j["lsb"] = set.lsb();
    j["method"] = set.method;
    j["variant"] = set.variant;
    OrderedJson parameters = OrderedJson::object();
    for (const auto& [name, value] : set.parameters) parameters[name] = value;
    j["parameters"] = parameters;
    j["levels"] = set.levels;
    j["thresholds"] = set.thresholds;
    j["empty_codes"] = set.empty_codes;
    if (record.input) {
        const DataProvenance& p = *record.input;
        j["input"] = {{"file", p.file}, {"layer", p.layer}, {"samples", p.samples},
                      {"dropped_nonfinite", p.dropped_nonfinite}, {"sha256", p.sha256}};
    }
    if (record.metrics) j["metrics"] = metrics_to_json(*record.metrics);
    return j;
}

void write_levelsets(const std::filesystem::path& file,
                     const std::vector<std::pair<std::string, LevelSetRecord>>& layers)
{
    if (layers.size() == 1 && layers.front().first.empty()) {
        write_file_atomic(file, dump_json(levelset_to_json(layers.front().second)));
        return;
    }
    OrderedJson document;
    document["format"] = kMultiFormat;
    document["version"] = kVersion;
    document["nladc_version"] = std::string(version());
    OrderedJson entries = OrderedJson::object();
    for (const auto& [name, record] : layers) entries[name.empty() ? "default" : name] = levelset_to_json(record);
    document["layers"] = entries;
    write_file_atomic(file, dump_json(document));
}

LevelSetRecord levelset_from_json(const Json& document, const JsonPlace& place)
{
    reject_unknown_keys(document, place,
                        {"format", "version", "nladc_version", "bits", "range", "lsb", "method", "variant",
                         "parameters", "levels", "thresholds", "empty_codes", "input", "metrics"});
    check_format_version(document, place, kFormat);
    LevelSetRecord record;
    LevelSet& set = record.set;
    set.bits = as_bit_width(require(document, place, "bits"), place.key("bits"));
    const auto range = number_array(require(document, place, "range"), place.key("range"));
    if (range.size() != 2) place.key("range").fail(fmt::format("has {} values, expected [lo, hi]", range.size()));
    set.lo = range[0];
    set.hi = range[1];
    set.levels = number_array(require(document, place, "levels"), place.key("levels"));
    set.thresholds = number_array(require(document, place, "thresholds"), place.key("thresholds"));
    if (document.contains("method")) set.method = as_string(document["method"], place.key("method"));
    if (document.contains("variant")) set.variant = as_string(document["variant"], place.key("variant"));
    if (document.contains("parameters")) {
        const Json& parameters = document["parameters"];
        if (!parameters.is_object()) place.key("parameters").fail("expected an object");
        for (const auto& [name, value] : parameters.items())
            set.parameters.emplace_back(name, as_number(value, place.key("parameters").key(name)));
    }
    if (document.contains("empty_codes")) {
        const Json& codes = document["empty_codes"];
        if (!codes.is_array()) place.key("empty_codes").fail("expected an array of codes");
        for (std::size_t i = 0; i < codes.size(); ++i)
            set.empty_codes.push_back(
                as_int(codes[i], place.key("empty_codes").index(i)));
    }
    if (document.contains("input")) {
        const Json& input = document["input"];
        const JsonPlace at = place.key("input");
        reject_unknown_keys(input, at, {"file", "layer", "samples", "dropped_nonfinite", "sha256"});
        DataProvenance p;
        if (input.contains("file")) p.file = as_string(input["file"], at.key("file"));
        if (input.contains("layer")) p.layer = as_string(input["layer"], at.key("layer"));
        if (input.contains("samples")) p.samples = as_count(input["samples"], at.key("samples"));
        if (input.contains("dropped_nonfinite"))
            p.dropped_nonfinite = as_count(input["dropped_nonfinite"], at.key("dropped_nonfinite"));
        if (input.contains("sha256")) p.sha256 = as_string(input["sha256"], at.key("sha256"));
        record.input = p;
    }
    // Metrics are informative output; a reader does not need them.
    if (const auto [where, reason] = find_levelset_violation(set); !where.empty())
        JsonPlace(place.file(), place.path().empty() ? where : place.path() + "." + where).fail(reason);
    // Finite lo and hi can still be too far apart for a double: the LSB would be infinite.
    if (!std::isfinite(set.lsb()))
        place.key("range").fail(fmt::format("[{}, {}] is too wide: hi - lo overflows a double", set.lo, set.hi));
    return record;
}

LevelSetRecord read_levelset(const std::filesystem::path& file, const std::string& layer)
{
    const Json document = read_json_file(file);
    const JsonPlace place(file.string());
    if (!document.is_object()) place.fail("expected a JSON object (a level set)");
    if (format_of(document) == kMultiFormat) {
        const Json& layers = require(document, place, "layers");
        if (!layers.is_object() || layers.empty()) place.key("layers").fail("expected a non-empty object of layers");
        std::string names;
        for (const auto& [name, value] : layers.items()) names += (names.empty() ? "" : ", ") + name;
        if (layer.empty()) {
            if (layers.size() != 1)
                place.key("layers").fail(fmt::format("holds several layers ({}); choose one with --layer", names));
            return levelset_from_json(layers.begin().value(), place.key("layers").key(layers.begin().key()));
        }
        if (!layers.contains(layer)) place.key("layers").fail(fmt::format("has no layer \"{}\" (layers: {})", layer, names));
        return levelset_from_json(layers[layer], place.key("layers").key(layer));
    }
    if (!layer.empty()) place.fail(fmt::format("holds a single level set; there is no layer \"{}\"", layer));
    return levelset_from_json(document, place);
}

std::vector<std::string> levelset_layers(const std::filesystem::path& file)
{
    const Json document = read_json_file(file);
    if (!document.is_object() || format_of(document) != kMultiFormat) return {""};
    std::vector<std::string> names;
    const JsonPlace place(file.string());
    const Json& layers = require(document, place, "layers");
    if (!layers.is_object()) place.key("layers").fail("expected an object of layers");
    for (const auto& [name, value] : layers.items()) names.push_back(name);
    return names;
}

}  // namespace nladc::io
