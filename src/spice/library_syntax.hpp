#pragma once
// Private to src/spice: the SPICE card syntax shared by the library reader and the expression evaluator.

#include <cstddef>
#include <string>
#include <vector>

namespace nladc::spice::detail {

/// Throws InputError naming `file` and, when > 0, `line`.
[[noreturn]] void fail_at(const std::string& file, int line, const std::string& detail);

bool is_space(char c);

/// Splits on whitespace outside {...} and '...'; glues "k = v" into one token "k=v".
std::vector<std::string> tokenize(const std::string& text);

/// Position of the top-level '=' of a "key=value" token, or npos.
std::size_t assignment(const std::string& token);

bool is_assignment(const std::string& token);

/// Index of the first "key=value" (or "params:") token at or after `from`.
std::size_t first_assignment(const std::vector<std::string>& tokens, std::size_t from);

}  // namespace nladc::spice::detail
