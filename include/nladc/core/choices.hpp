#pragma once
// Named choices: an `enum class` whose values have one spelling in files, on the command
// line and in messages. A choice type specializes Choices<E> with its table, in the
// module that owns the concept (device/corner.hpp, ...); parameter tables
// (core/params.hpp, choice_member), CLI validators and help texts read the same table.

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nladc/core/error.hpp"

namespace nladc {

/// Specialize with `static const std::vector<std::pair<E, std::string_view>>& table();`
/// and `static constexpr std::string_view what = "corner";` (for messages).
template <class E>
struct Choices;

template <class E>
concept Choice = requires { Choices<E>::table(); };

template <Choice E>
std::string_view choice_name(E value)
{
    for (const auto& [choice, name] : Choices<E>::table())
        if (choice == value) return name;
    return "?";  // unreachable while every enumerator is in its table
}

template <Choice E>
std::optional<E> find_choice(std::string_view name)
{
    for (const auto& [choice, spelled] : Choices<E>::table())
        if (spelled == name) return choice;
    return std::nullopt;
}

template <Choice E>
std::vector<std::string> choice_names()
{
    std::vector<std::string> names;
    for (const auto& entry : Choices<E>::table()) names.emplace_back(entry.second);
    return names;
}

/// Throws UsageError "<what> 'X' is not one of: A, B, C".
template <Choice E>
E parse_choice(std::string_view name)
{
    if (const auto choice = find_choice<E>(name)) return *choice;
    throw UsageError(fmt::format("{} '{}' is not one of: {}", Choices<E>::what, name, fmt::join(choice_names<E>(), ", ")));
}

}  // namespace nladc

/// Choices format as their names: fmt::format("{}", Corner::ss) == "SS".
template <nladc::Choice E>
struct fmt::formatter<E> : fmt::formatter<std::string_view> {
    auto format(E value, format_context& context) const
    {
        return fmt::formatter<std::string_view>::format(nladc::choice_name(value), context);
    }
};
