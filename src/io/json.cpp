#include "nladc/io/json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::io {

namespace {

std::string short_value(const Json& value)
{
    std::string text = value.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    return text;
}

/// Optimal string alignment distance: edits and adjacent transpositions ("mxa" -> "max" is 1).
std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

void sanitize(OrderedJson& value)
{
    if (value.is_number_float() && !std::isfinite(value.get<double>())) {
        value = nullptr;
    } else if (value.is_structured()) {
        for (auto& child : value) sanitize(child);
    }
}

}  // namespace

Json parse_json(std::string_view text, const std::string& file)
{
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& error) {
        // Turn the byte offset into a line and column.
        const std::size_t offset = std::min<std::size_t>(error.byte > 0 ? error.byte - 1 : 0, text.size());
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i < offset; ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        std::string reason = error.what();
        if (const auto colon = reason.rfind(": "); colon != std::string::npos) reason = reason.substr(colon + 2);
        if (text.empty()) reason = "empty file";
        throw InputError(file, fmt::format("line {}, column {}", line, column), "invalid JSON: " + reason);
    } catch (const Json::out_of_range& error) {
        // A number beyond the double range: nlohmann throws out_of_range 406 ("number
        // overflow parsing '1e400'"), not parse_error, and gives no position.
        std::string reason = error.what();
        if (const auto bracket = reason.find("] "); bracket != std::string::npos) reason = reason.substr(bracket + 2);
        throw InputError(file, "", "invalid JSON: " + reason);
    }
}

Json read_json_file(const std::filesystem::path& file)
{
    return parse_json(read_file(file), file.string());
}

std::string dump_json(const OrderedJson& value)
{
    OrderedJson copy = value;
    sanitize(copy);
    return copy.dump(2) + "\n";
}

JsonPlace JsonPlace::key(std::string_view name) const
{
    return JsonPlace(file_, path_.empty() ? std::string(name) : path_ + "." + std::string(name));
}

JsonPlace JsonPlace::index(std::size_t i) const { return JsonPlace(file_, fmt::format("{}[{}]", path_, i)); }

void JsonPlace::fail(const std::string& detail) const { throw InputError(file_, path_, detail); }

void reject_unknown_keys(const Json& object, const JsonPlace& place, const std::vector<std::string_view>& allowed)
{
    if (!object.is_object()) place.fail(fmt::format("expected an object, found {}", short_value(object)));
    for (const auto& [key, value] : object.items()) {
        if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
        std::string_view closest;
        std::size_t best = 3;  // suggest only near misses
        for (auto candidate : allowed) {
            const std::size_t distance = edit_distance(key, candidate);
            if (distance < best) {
                best = distance;
                closest = candidate;
            }
        }
        const std::string hint = closest.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", closest);
        place.key(key).fail(fmt::format("unknown key \"{}\"{}", key, hint));
    }
}

const Json& require(const Json& object, const JsonPlace& place, std::string_view key)
{
    if (!object.is_object()) place.fail(fmt::format("expected an object, found {}", short_value(object)));
    const auto found = object.find(std::string(key));
    if (found == object.end()) place.key(key).fail("missing");
    return *found;
}

double as_number(const Json& value, const JsonPlace& place)
{
    if (!value.is_number()) place.fail(fmt::format("{} is not a number", short_value(value)));
    const double number = value.get<double>();
    if (!std::isfinite(number)) place.fail(fmt::format("{} is not finite", short_value(value)));
    return number;
}

OrderedJson level_to_json(double value)
{
    if (std::isfinite(value)) return value;
    return value > 0 ? "inf" : "-inf";
}

double level_from_json(const Json& value, const JsonPlace& place)
{
    if (value.is_string()) {
        const std::string text = value.get<std::string>();
        if (text == "inf") return std::numeric_limits<double>::infinity();
        if (text == "-inf") return -std::numeric_limits<double>::infinity();
        place.fail(fmt::format("\"{}\" is neither a number nor \"inf\" / \"-inf\"", text));
    }
    return as_number(value, place);
}

long long as_integer(const Json& value, const JsonPlace& place)
{
    if (value.is_number_unsigned() && value.get<std::uint64_t>() > std::numeric_limits<long long>::max())
        place.fail(fmt::format("{} is too large (at most {})", value.dump(), std::numeric_limits<long long>::max()));
    if (value.is_number_integer()) return value.get<long long>();
    if (value.is_number_float()) {
        const double number = value.get<double>();
        if (std::isfinite(number) && number == std::floor(number) && std::abs(number) < 9e15)
            return static_cast<long long>(number);
    }
    place.fail(fmt::format("{} is not an integer", short_value(value)));
}

int as_int(const Json& value, const JsonPlace& place, long long min, long long max)
{
    const long long number = as_integer(value, place);
    if (number < min || number > max) place.fail(fmt::format("{} is outside [{}, {}]", number, min, max));
    return static_cast<int>(number);
}

std::uint64_t as_count(const Json& value, const JsonPlace& place)
{
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    const long long number = as_integer(value, place);
    if (number < 0) place.fail(fmt::format("{} is negative", number));
    return static_cast<std::uint64_t>(number);
}

std::string as_string(const Json& value, const JsonPlace& place)
{
    if (!value.is_string()) place.fail(fmt::format("{} is not a string", short_value(value)));
    return value.get<std::string>();
}

bool as_bool(const Json& value, const JsonPlace& place)
{
    if (!value.is_boolean()) place.fail(fmt::format("{} is not true or false", short_value(value)));
    return value.get<bool>();
}

void check_format_version(const Json& object, const JsonPlace& place, std::string_view format)
{
    if (object.contains("format") && as_string(object["format"], place.key("format")) != format)
        place.key("format").fail(fmt::format("{} is not \"{}\"", object["format"].dump(), format));
    if (object.contains("version") && as_integer(object["version"], place.key("version")) != 1)
        place.key("version").fail(fmt::format("{} is not a supported version (1)", object["version"].dump()));
}

int format_version(const Json& object, const JsonPlace& place, std::string_view format, int newest)
{
    if (object.contains("format") && as_string(object["format"], place.key("format")) != format)
        place.key("format").fail(fmt::format("{} is not \"{}\"", object["format"].dump(), format));
    if (!object.contains("version")) return newest;
    const long long version = as_integer(object["version"], place.key("version"));
    if (version < 1 || version > newest)
        place.key("version").fail(fmt::format("{} is not a supported version (1 to {})", object["version"].dump(), newest));
    return static_cast<int>(version);
}

int as_bit_width(const Json& value, const JsonPlace& place)
{
    return as_int(value, place, 1, 16);
}

}  // namespace nladc::io
