#pragma once
// Private to src/spice: reading ngspice's printed output into an NgspiceError.
//
// Pure functions of text that never touch libngspice, so the tests can feed them
// captured output. NgspiceSession (ngspice_session.cpp) collects ngspice's SendChar
// lines, each prefixed by its stream ("stdout ..." / "stderr ..."), and hands them here:
// ngspice's return codes are unreliable, so its "stderr ..." lines are the verdict.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "nladc/spice/ngspice.hpp"

namespace nladc::spice::detail {

/// A netlist as given and as sent to ngspice.
struct Netlist {
    std::vector<std::string> original;  ///< the lines as given (without '\r')
    std::vector<std::string> sent;      ///< non-blank lines, plus ".end" when missing
    std::vector<int> origin;            ///< 1-based original line of each sent line (0: added)
    std::string title;                  ///< the first line, trimmed
};

/// Splits a netlist. Blank lines are not sent: ngspice does not count them in the line
/// numbers of its messages, so sending none keeps those numbers mappable. A final
/// ".end" is added when missing (ngSpice_Circ would otherwise wait for more lines and
/// glue the next netlist on).
Netlist split_netlist(const std::string& text);

/// What went wrong, according to ngspice's stderr lines.
struct Diagnosis {
    std::string message;  ///< the fatal lines, "; "-joined
    int line = 0;         ///< netlist line number ngspice named (1-based, title = 1)
    std::string echo;     ///< ngspice's (lower-cased) echo of that line, if printed
    std::string node;     ///< node named by "check node X"
};

/// Lines that signal failure: ngspice's errors, and the few warnings after which the
/// numbers are meaningless: a singular matrix (a floating node or a node without a DC
/// path), a missing model, a time step too small. Other warnings (gmin or source
/// stepping, a resistance clamped to 1 mOhm, model parameter notes) are not fatal.
bool is_fatal(std::string_view text);

/// Lines that carry no information of their own (generic trailers, progress notes).
bool is_noise(std::string_view text);

/// Reads output[from ...] (lines as collected, with their "stdout "/"stderr " prefix).
/// An empty message means ngspice reported nothing fatal.
Diagnosis diagnose(const std::vector<std::string>& output, std::size_t from);

/// The last `lines` lines of the output, each ended by '\n'.
std::string output_tail(const std::vector<std::string>& output, std::size_t lines = 40);

/// Builds the error for a diagnosis: maps ngspice's line number, its echo of the line,
/// a line quoted in its message, or the node it names back to the netlist as given.
NgspiceError make_error(std::string message, const Diagnosis& d, const Netlist& net,
                        const std::vector<std::string>& output);

}  // namespace nladc::spice::detail
