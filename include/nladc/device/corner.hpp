#pragma once
// Process corners of the MOSFET model cards (circuits/models/generic65_{tt,ff,ss}.lib):
// typical, fast and slow NMOS and PMOS together.

#include <string_view>
#include <utility>
#include <vector>

#include "nladc/core/choices.hpp"

namespace nladc {

enum class Corner { tt, ff, ss };

template <>
struct Choices<Corner> {
    static const std::vector<std::pair<Corner, std::string_view>>& table();
    static constexpr std::string_view what = "corner";
};

/// "tt", "ff", "ss": the model-card file suffix.
std::string_view corner_file_suffix(Corner corner);

}  // namespace nladc
