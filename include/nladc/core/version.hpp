#pragma once
#include <string_view>

namespace nladc {
/// "<project version>+<git describe>", stamped into every output file.
std::string_view version();
}  // namespace nladc
