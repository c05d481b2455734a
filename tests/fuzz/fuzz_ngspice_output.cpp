// libFuzzer harness: reading ngspice's text output (src/spice/ngspice_diagnosis.cpp):
// split_netlist (blank lines, '\r', the added .end, line-number mapping), diagnose
// (which "stderr ..." lines are fatal, "netlist line no." / "error on line" numbers,
// the echoed line, "check node X") and make_error (mapping ngspice's line number, its
// echo, a quoted line or a node back to the netlist as given). Its helpers (trim,
// lower, number_after) are private to that file, so its source is compiled into this
// harness; nothing in it loads ngspice.
//
// Input: the netlist, a NUL byte, then ngspice's output lines ("stdout ..." /
// "stderr ..." as the SendChar callback delivers them). Without a NUL the whole input
// is the output and the netlist is a fixed two-line one.
//
// Invariants: every sent line is non-blank and maps to its original line; the last
// non-comment sent line is .end; the error names a line of the netlist as given (or
// none) and quotes that line's text.
#include "../../src/spice/ngspice_diagnosis.cpp"  // NOLINT: the private functions under test

#include "fuzz_common.hpp"

namespace {

using namespace nladc::spice;
using namespace nladc::spice::detail;

std::vector<std::string> lines_of(std::string_view text)
{
    std::vector<std::string> lines;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        lines.emplace_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto nul = input.find('\0');
    const std::string netlist = nul == std::string_view::npos ? std::string("* fuzz netlist\nR1 in 0 1k\n")
                                                              : std::string(input.substr(0, nul));
    const std::string_view printed = nul == std::string_view::npos ? input : input.substr(nul + 1);

    const Netlist net = split_netlist(netlist);
    NLADC_FUZZ_CHECK(net.sent.size() == net.origin.size() && !net.sent.empty());
    for (std::size_t i = 0; i < net.sent.size(); ++i) {
        const int origin = net.origin[i];
        NLADC_FUZZ_CHECK(origin >= 0 && static_cast<std::size_t>(origin) <= net.original.size());
        NLADC_FUZZ_CHECK(!trim(net.sent[i]).empty());
        if (origin > 0) NLADC_FUZZ_CHECK(net.sent[i] == net.original[static_cast<std::size_t>(origin - 1)]);
        if (i > 0 && origin > 0) NLADC_FUZZ_CHECK(origin > net.origin[i - 1]);
    }
    const auto last = std::find_if(net.sent.rbegin(), net.sent.rend(), [](const std::string& l) { return trim(l)[0] != '*'; });
    NLADC_FUZZ_CHECK(last != net.sent.rend() && lower(trim(*last)) == ".end");

    const std::vector<std::string> output = lines_of(printed);
    const Diagnosis d = diagnose(output, 0);
    NLADC_FUZZ_CHECK(d.line >= 0);
    for (const auto& line : output) {
        (void)is_fatal(line);
        (void)is_noise(line);
        NLADC_FUZZ_CHECK(number_after(line, "line") >= 0);
    }
    const NgspiceError error = make_error(d.message.empty() ? std::string("no fatal line") : d.message, d, net, output);
    (void)error.what();
    const int number = error.line_number();
    NLADC_FUZZ_CHECK(number >= 0 && static_cast<std::size_t>(number) <= net.original.size());
    if (number > 0) NLADC_FUZZ_CHECK(error.netlist_line() == trim(net.original[static_cast<std::size_t>(number - 1)]));
    else NLADC_FUZZ_CHECK(error.netlist_line().empty());
    NLADC_FUZZ_CHECK(error.netlist_title() == net.title);
    return 0;
}
