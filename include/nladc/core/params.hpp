#pragma once
// Parameter tables: one row per member of a plain parameter struct, giving its
// JSON key (with the SI unit as suffix), unit, allowed range or choices, default
// provenance and meaning. The same table drives JSON loading (unknown keys are
// errors), validation, the dump of the effective values into every output, and
// the generated documentation, so nothing is written three times.

#include <cstdint>
#include <limits>
#include <utility>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nladc/core/choices.hpp"

namespace nladc {

/// A member holding a named choice (core/choices.hpp), reached by name; built by
/// choice_member<&S::member>().
template <class S>
struct ChoiceMember {
    std::string_view (*get)(const S&);
    bool (*set)(S&, std::string_view);  ///< false: not one of the names (nothing set)
    std::vector<std::string_view> (*names)();
};

template <class T>
struct MemberPointer;
template <class S, class V>
struct MemberPointer<V S::*> {
    using Object = S;
    using Value = V;
};

template <auto Member>
ChoiceMember<typename MemberPointer<decltype(Member)>::Object> choice_member()
{
    using Object = typename MemberPointer<decltype(Member)>::Object;
    using Value = typename MemberPointer<decltype(Member)>::Value;
    return {[](const Object& object) { return choice_name(object.*Member); },
            [](Object& object, std::string_view name) {
                const auto choice = find_choice<Value>(name);
                if (choice) object.*Member = *choice;
                return choice.has_value();
            },
            [] {
                std::vector<std::string_view> names;
                for (const auto& entry : Choices<Value>::table()) names.push_back(entry.second);
                return names;
            }};
}

template <class S>
struct ParamField {
    using Member =
        std::variant<double S::*, int S::*, std::uint64_t S::*, bool S::*, std::string S::*, ChoiceMember<S>>;
    ParamField(std::string_view key_, Member member_, std::string_view unit_, std::string_view doc_,
               std::string_view provenance_, double min_ = -std::numeric_limits<double>::infinity(),
               double max_ = std::numeric_limits<double>::infinity(), std::vector<std::string_view> choices_ = {})
        : key(key_), member(member_), unit(unit_), doc(doc_), provenance(provenance_), min(min_), max(max_),
          choices(std::move(choices_))
    {
        if (const auto* choice = std::get_if<ChoiceMember<S>>(&member)) choices = choice->names();
    }
    std::string_view key;         ///< JSON key, e.g. "g_max_S"
    Member member;
    std::string_view unit;        ///< "S", "V", "s", "F", "Hz", "ohm", "J", "W", "m", "" ...
    std::string_view doc;         ///< what it means
    std::string_view provenance;  ///< where the default comes from ("ReADC, Nat. Commun. 2025", "choice", ...)
    double min = -std::numeric_limits<double>::infinity();  ///< inclusive numeric range
    double max = std::numeric_limits<double>::infinity();
    std::vector<std::string_view> choices;  ///< allowed strings (empty: any); a choice member's names
};

template <class S>
using ParamTable = std::vector<ParamField<S>>;

}  // namespace nladc
