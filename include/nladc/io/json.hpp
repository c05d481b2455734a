#pragma once
// JSON files with errors that name the place: a syntax error gives "line L, column C";
// a semantic error gives the key path ("layers.conv1.levels[3]") and the value.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <vector>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace nladc::io {

using Json = nlohmann::json;
/// Object keys kept in insertion order, so written files read in a sensible order.
using OrderedJson = nlohmann::ordered_json;

/// Parses a JSON text; `file` names it in errors. Throws InputError with line and column.
Json parse_json(std::string_view text, const std::string& file);
/// Reads and parses a JSON file. Throws InputError.
Json read_json_file(const std::filesystem::path& file);
/// Pretty-printed text (2-space indent, trailing newline), finite numbers only:
/// NaN/Inf become null so that no output ever carries them.
std::string dump_json(const OrderedJson& value);

/// A position inside a JSON document, for error messages.
class JsonPlace {
public:
    JsonPlace(std::string file, std::string path = "") : file_(std::move(file)), path_(std::move(path)) {}
    JsonPlace key(std::string_view name) const;
    JsonPlace index(std::size_t i) const;
    const std::string& file() const { return file_; }
    const std::string& path() const { return path_; }
    /// Throws InputError(file, path, detail).
    [[noreturn]] void fail(const std::string& detail) const;

private:
    std::string file_, path_;
};

/// Throws InputError for the first key of `object` not in `allowed` (a misspelt key
/// must not be silently ignored), naming the closest allowed key when one is near.
void reject_unknown_keys(const Json& object, const JsonPlace& place, const std::vector<std::string_view>& allowed);

/// Typed getters: fail with the place and the offending value when the type is wrong.
const Json& require(const Json& object, const JsonPlace& place, std::string_view key);
double as_number(const Json& value, const JsonPlace& place);
long long as_integer(const Json& value, const JsonPlace& place);
/// An integer in [min, max] (fails naming the value rather than wrapping it into an int).
int as_int(const Json& value, const JsonPlace& place, long long min = std::numeric_limits<int>::min(),
           long long max = std::numeric_limits<int>::max());
/// A non-negative integer over the whole 64-bit unsigned range (seeds, sample counts).
std::uint64_t as_count(const Json& value, const JsonPlace& place);
std::string as_string(const Json& value, const JsonPlace& place);
bool as_bool(const Json& value, const JsonPlace& place);
/// The optional "format" and "version" keys of a config file: when present they must be
/// `format` and 1.
void check_format_version(const Json& object, const JsonPlace& place, std::string_view format);
/// The same for a format with versions 1 .. newest: returns the file's version (`newest`
/// when it has no "version" key).
int format_version(const Json& object, const JsonPlace& place, std::string_view format, int newest);
/// An integer ADC resolution in [1, 16].
int as_bit_width(const Json& value, const JsonPlace& place);

/// A JSON array converted element by element (`convert(element, place.index(i))`).
template <class T, class Convert>
std::vector<T> list_of(const Json& value, const JsonPlace& place, Convert convert)
{
    if (!value.is_array()) place.fail(value.dump() + " is not an array");
    std::vector<T> out;
    for (std::size_t i = 0; i < value.size(); ++i) out.push_back(convert(value[i], place.index(i)));
    return out;
}

/// A transition level that may be unreachable: finite numbers as numbers, +-infinity
/// as the strings "inf" / "-inf" (JSON has no infinity, and null would lose the sign).
OrderedJson level_to_json(double value);
double level_from_json(const Json& value, const JsonPlace& place);

}  // namespace nladc::io
