#pragma once
// JSON I/O driven by parameter tables (core/params.hpp).

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "nladc/core/params.hpp"
#include "nladc/io/json.hpp"

namespace nladc::io {

/// Overwrites the members of `out` named in `object`; keys not in the table are
/// errors (with a did-you-mean hint), as are wrong types and out-of-range values.
/// Throws InputError(file, "section.key", "...").
template <class S>
void load_params(const Json& object, const JsonPlace& place, const ParamTable<S>& table, S& out)
{
    if (!object.is_object()) place.fail("expected an object");
    for (const auto& item : object.items()) {
        // Named copies: clang 14 cannot capture structured bindings in the lambda below.
        const std::string key = item.key();
        const Json& value = item.value();
        const ParamField<S>* field = nullptr;
        for (const auto& f : table)
            if (f.key == key) field = &f;
        if (!field) {
            // Reuse the unknown-key message of reject_unknown_keys.
            Json single = Json::object();
            single[key] = value;
            std::vector<std::string_view> keys;
            for (const auto& f : table) keys.push_back(f.key);
            reject_unknown_keys(single, place, keys);
        }
        const JsonPlace at = place.key(key);
        auto not_one_of = [&](const std::string& v) {
            std::string list;
            for (auto c : field->choices) list += (list.empty() ? "" : ", ") + std::string(c);
            at.fail(fmt::format("\"{}\" is not one of: {}", v, list));
        };
        std::visit(
            [&](auto member) {
                if constexpr (std::is_same_v<decltype(member), ChoiceMember<S>>) {
                    const std::string v = as_string(value, at);
                    if (!member.set(out, v)) not_one_of(v);
                    return;
                } else {
                    using T = std::remove_cvref_t<decltype(out.*member)>;
                    if constexpr (std::is_same_v<T, double>) {
                        const double v = as_number(value, at);
                        if (v < field->min || v > field->max)
                            at.fail(fmt::format("{} {} is outside [{}, {}] {}", v, field->unit, field->min, field->max,
                                                field->unit));
                        out.*member = v;
                    } else if constexpr (std::is_same_v<T, int>) {
                        const long long v = as_integer(value, at);
                        if (static_cast<double>(v) < field->min || static_cast<double>(v) > field->max)
                            at.fail(fmt::format("{} is outside [{}, {}]", v, field->min, field->max));
                        out.*member = static_cast<int>(v);
                    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                        out.*member = as_count(value, at);
                    } else if constexpr (std::is_same_v<T, bool>) {
                        out.*member = as_bool(value, at);
                    } else {
                        const std::string v = as_string(value, at);
                        if (!field->choices.empty() &&
                            std::find(field->choices.begin(), field->choices.end(), v) == field->choices.end())
                            not_one_of(v);
                        out.*member = v;
                    }
                }
            },
            field->member);
    }
}

/// The struct's values as a JSON object in table order.
template <class S>
OrderedJson dump_params(const S& values, const ParamTable<S>& table)
{
    OrderedJson object = OrderedJson::object();
    for (const auto& field : table)
        std::visit(
            [&](auto member) {
                if constexpr (std::is_same_v<decltype(member), ChoiceMember<S>>)
                    object[std::string(field.key)] = std::string(member.get(values));
                else
                    object[std::string(field.key)] = values.*member;
            },
            field.member);
    return object;
}

/// Markdown table rows "| section.key | unit | default | range | provenance | meaning |".
template <class S>
std::string describe_params(const std::string& section, const S& defaults, const ParamTable<S>& table)
{
    std::string out;
    for (const auto& field : table) {
        std::string value, range;
        std::visit(
            [&](auto member) {
                if constexpr (std::is_same_v<decltype(member), ChoiceMember<S>>) {
                    value = "\"" + std::string(member.get(defaults)) + "\"";
                    for (auto c : field.choices) range += (range.empty() ? "" : " \\| ") + std::string(c);
                } else {
                    using T = std::remove_cvref_t<decltype(defaults.*member)>;
                    if constexpr (std::is_same_v<T, std::string>) {
                        value = "\"" + defaults.*member + "\"";
                        for (auto c : field.choices) range += (range.empty() ? "" : " \\| ") + std::string(c);
                    } else if constexpr (std::is_same_v<T, bool>) {
                        value = defaults.*member ? "true" : "false";
                    } else {
                        value = fmt::format("{:g}", static_cast<double>(defaults.*member));
                        if (std::isfinite(field.min) || std::isfinite(field.max))
                            range = fmt::format("[{:g}, {:g}]", field.min, field.max);
                    }
                }
            },
            field.member);
        out += fmt::format("| `{}.{}` | {} | {} | {} | {} | {} |\n", section, field.key,
                           field.unit.empty() ? "–" : std::string(field.unit), value, range, field.provenance,
                           field.doc);
    }
    return out;
}

}  // namespace nladc::io
