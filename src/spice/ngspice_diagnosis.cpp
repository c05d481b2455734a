// ngspice output diagnosis: which printed lines are fatal, the netlist line they name, the NgspiceError.
#include "ngspice_diagnosis.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <utility>

#include <fmt/format.h>

namespace nladc::spice {

namespace {

std::string trim(std::string_view s)
{
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Lower case, runs of blanks collapsed to one space, trimmed: for comparing a netlist
/// line with ngspice's echo of it.
std::string normalized(std::string_view s)
{
    std::string out;
    bool blank = false;
    for (char c : trim(s)) {
        if (c == ' ' || c == '\t') {
            blank = true;
            continue;
        }
        if (blank && !out.empty()) out += ' ';
        blank = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// Parses the integer after `key` in `text` (e.g. "line 4"); 0 when absent.
int number_after(std::string_view text, std::string_view key)
{
    const std::string l = lower(text);
    const auto at = l.find(key);
    if (at == std::string::npos) return 0;
    std::size_t i = at + key.size();
    while (i < l.size() && l[i] == ' ') ++i;
    int n = 0;
    bool any = false;
    while (i < l.size() && std::isdigit(static_cast<unsigned char>(l[i])) && n < 100000000) {
        n = n * 10 + (l[i] - '0');
        ++i;
        any = true;
    }
    return any ? n : 0;
}

}  // namespace

namespace detail {

Netlist split_netlist(const std::string& text)
{
    Netlist n;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        n.original.push_back(line);
        if (trim(line).empty()) continue;
        n.sent.push_back(line);
        n.origin.push_back(static_cast<int>(n.original.size()));
    }
    auto last = std::find_if(n.sent.rbegin(), n.sent.rend(), [](const std::string& l) { return trim(l)[0] != '*'; });
    if (last == n.sent.rend() || lower(trim(*last)) != ".end") {
        n.sent.emplace_back(".end");
        n.origin.push_back(0);
    }
    n.title = n.original.empty() ? std::string() : trim(n.original.front());
    return n;
}

bool is_fatal(std::string_view text)
{
    const std::string l = lower(text);
    auto any_of = [&](std::initializer_list<std::string_view> markers) {
        return std::any_of(markers.begin(), markers.end(), [&](std::string_view m) { return l.find(m) != std::string::npos; });
    };
    if (l.rfind("warning", 0) == 0) return any_of({"singular matrix", "can't find", "could not", "too small"});
    return any_of({"error", "expression err", "singular matrix", "can't find", "could not", "cannot", "undefined",
                   "not found", "too small", "not started", "interrupted", "unknown subckt", "not parsed", "aborted",
                   "unable to", "illegal", "no such"});
}

bool is_noise(std::string_view text)
{
    const std::string l = lower(text);
    static constexpr std::string_view noise[] = {
        "please check your input netlist", "cannot recover and awaits to be detached", "note: ",
        "trying gmin", "supplies reduced", "gmin stepping failed", "further gmin increment",
        "last gmin step failed", "source stepping failed",
    };
    return std::any_of(std::begin(noise), std::end(noise),
                       [&](std::string_view m) { return l.find(m) != std::string::npos; });
}

Diagnosis diagnose(const std::vector<std::string>& output, std::size_t from)
{
    Diagnosis d;
    std::vector<std::string> fatal;
    bool next_is_echo = false;
    for (std::size_t i = from; i < output.size(); ++i) {
        std::string_view raw = output[i];
        if (raw.substr(0, 7) != "stderr ") continue;
        const std::string text = trim(raw.substr(7));
        if (text.empty()) continue;
        if (next_is_echo) {  // ngspice repeats the offending line after these headers
            next_is_echo = false;
            if (d.echo.empty()) d.echo = text;
            continue;
        }
        const std::string l = lower(text);
        if (l.rfind("netlist line no.", 0) == 0) {
            if (!d.line) d.line = number_after(l, "netlist line no.");
            continue;
        }
        if (l.rfind("error on line", 0) == 0) {
            if (!d.line) d.line = number_after(l, "error on line");
            next_is_echo = true;
            continue;
        }
        if (l.find("can't find model") != std::string::npos && l.find("from line") != std::string::npos)
            next_is_echo = true;
        if (const auto at = l.find("check node"); at != std::string::npos && d.node.empty())
            d.node = trim(text.substr(at + 10));
        if (is_noise(text) || !is_fatal(text)) continue;
        if (std::find(fatal.begin(), fatal.end(), text) == fatal.end()) fatal.push_back(text);
    }
    for (const auto& f : fatal) d.message += (d.message.empty() ? "" : "; ") + f;
    return d;
}

std::string output_tail(const std::vector<std::string>& output, std::size_t lines)
{
    std::string tail;
    for (std::size_t i = output.size() > lines ? output.size() - lines : 0; i < output.size(); ++i)
        tail += output[i] + '\n';
    return tail;
}

NgspiceError make_error(std::string message, const Diagnosis& d, const Netlist& net, const std::vector<std::string>& output)
{
    const auto& lines = net.original;
    int number = 0;
    std::string text;
    auto take = [&](std::size_t index) {  // 0-based index into net.original
        number = static_cast<int>(index + 1);
        text = trim(lines[index]);
    };
    if (d.line >= 1 && static_cast<std::size_t>(d.line) <= net.origin.size()) {
        const int original = net.origin[static_cast<std::size_t>(d.line - 1)];
        if (original > 0) take(static_cast<std::size_t>(original - 1));
    }
    // ngspice numbers lines after its own preprocessing; trust its echo when it disagrees.
    if (!d.echo.empty() && (text.empty() || normalized(text) != normalized(d.echo))) {
        const std::string want = normalized(d.echo);
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (normalized(lines[i]) == want) {
                take(i);
                break;
            }
    }
    if (text.empty()) {  // a netlist line quoted in the message ("unknown subckt: x1 in out nosub")
        const std::string said = normalized(message);
        for (std::size_t i = 1; i < lines.size() && text.empty(); ++i) {
            const std::string want = normalized(lines[i]);
            if (want.size() >= 6 && want[0] != '*' && said.find(want) != std::string::npos) take(i);
        }
    }
    if (text.empty() && !d.node.empty()) {  // a floating node: the first element line using it
        const std::string node = lower(d.node);
        for (std::size_t i = 1; i < lines.size() && text.empty(); ++i) {
            const std::string t = trim(lines[i]);
            if (t.empty() || t[0] == '*' || t[0] == '.' || t[0] == '+') continue;
            std::istringstream tokens(lower(t));
            std::string token;
            tokens >> token;  // the element name
            while (tokens >> token)
                if (token == node) {
                    take(i);
                    break;
                }
        }
    }
    return NgspiceError(std::move(message), net.title, number, std::move(text), output_tail(output));
}

}  // namespace detail

// ---------------------------------------------------------------------------------

NgspiceError::NgspiceError(std::string message, std::string netlist_title, int line_number, std::string netlist_line,
                           std::string output_tail)
    : Error([&] {
          std::string what = "ngspice: ";
          if (!netlist_title.empty()) what += fmt::format("netlist \"{}\": ", netlist_title);
          if (line_number > 0 || !netlist_line.empty()) {
              what += line_number > 0 ? fmt::format("line {}", line_number) : std::string("line");
              if (!netlist_line.empty()) what += fmt::format(" \"{}\"", netlist_line);
              what += ": ";
          }
          return what + message;
      }()),
      message_(std::move(message)),
      netlist_title_(std::move(netlist_title)),
      line_number_(line_number),
      netlist_line_(std::move(netlist_line)),
      output_tail_(std::move(output_tail))
{
}

}  // namespace nladc::spice
