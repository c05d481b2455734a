#include "nladc/spice/library.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>
#include <utility>

#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"
#include "library_syntax.hpp"

namespace nladc::spice {

namespace fs = std::filesystem;

using detail::assignment;
using detail::fail_at;
using detail::first_assignment;
using detail::is_assignment;
using detail::is_space;
using detail::tokenize;

namespace {

std::string lower(std::string text)
{
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

bool is_comment_line(const std::string& line)
{
    const std::size_t start = line.find_first_not_of(" \t");
    return start != std::string::npos && line[start] == '*';
}

/// The first word of a lower-cased card text.
std::string head_word(const std::string& body)
{
    const std::size_t end = body.find_first_of(" \t");
    return body.substr(0, end);
}

/// What the reader does with the first line and with .end: a library has no title line
/// and ngspice reads on past an .end in an included file; a netlist's first line is its
/// title and nothing after .end is read.
enum class Role { library, netlist };

/// The logical lines of `lib.lines`, with their spans; .control ... .endc is one card.
std::vector<Card> read_cards(const Library& lib, Role role)
{
    std::vector<Card> cards;
    std::vector<std::string> texts;  // joined lower-case text of each card
    bool in_control = false;
    for (std::size_t index = role == Role::netlist ? 1 : 0; index < lib.lines.size(); ++index) {
        const int number = static_cast<int>(index) + 1;
        std::string raw = lib.lines[index];
        // Inline comments: ';' anywhere, '$' after whitespace (ngspice).
        for (std::size_t i = 0; i < raw.size(); ++i)
            if (raw[i] == ';' || (raw[i] == '$' && (i == 0 || is_space(raw[i - 1])))) {
                raw.resize(i);
                break;
            }
        const std::size_t start = raw.find_first_not_of(" \t");
        if (start == std::string::npos || raw[start] == '*') continue;
        const std::string body = lower(raw.substr(start));
        if (in_control) {
            if (head_word(body) == ".endc") {
                cards.back().last_line = number;
                in_control = false;
            }
            continue;
        }
        if (body[0] == '+') {
            if (cards.empty()) fail_at(lib.file, number, "continuation line '+' without a line to continue");
            texts.back() += ' ';  // (not " " + body.substr(1): a GCC 12 -Wrestrict false positive at -O3)
            texts.back() += body.substr(1);
            cards.back().last_line = number;
            continue;
        }
        const std::string head = head_word(body);
        if (role == Role::netlist && head == ".end") break;
        Card card;
        card.first_line = card.last_line = card.comment_line = number;
        while (card.comment_line > 1 && is_comment_line(lib.lines[static_cast<std::size_t>(card.comment_line) - 2]))
            --card.comment_line;
        if (head == ".control") {
            in_control = true;
            card.tokens = {".control"};
        }
        cards.push_back(card);
        texts.push_back(body);
    }
    if (in_control) fail_at(lib.file, cards.back().first_line, ".control has no .endc");
    for (std::size_t i = 0; i < cards.size(); ++i)
        if (cards[i].tokens.empty()) cards[i].tokens = tokenize(texts[i]);
    return cards;
}

ModelCard parse_model(const Card& card, const std::string& file)
{
    if (card.tokens.size() < 3) fail_at(file, card.first_line, ".model needs a name and a device type");
    // "nmos(level=1 ...)" and "nmos (level=1 ...)": parentheses outside {...} and '...' are
    // only grouping here, so they become spaces.
    std::string rest;
    for (std::size_t i = 2; i < card.tokens.size(); ++i) rest += card.tokens[i] + " ";
    int depth = 0;
    bool quoted = false;
    for (char& c : rest) {
        if (c == '{') ++depth;
        if (c == '}') depth = std::max(0, depth - 1);
        if (c == '\'') quoted = !quoted;
        if (depth == 0 && !quoted && (c == '(' || c == ')')) c = ' ';
    }
    const std::vector<std::string> tokens = tokenize(rest);
    if (tokens.empty()) fail_at(file, card.first_line, fmt::format(".model {}: no device type", card.tokens[1]));
    ModelCard model;
    model.name = card.tokens[1];
    model.type = tokens[0];
    for (std::size_t i = 1; i < tokens.size(); ++i) {
        const std::size_t eq = assignment(tokens[i]);
        if (eq == std::string::npos || tokens[i].substr(0, eq) != "level") continue;
        model.level = static_cast<int>(std::lround(evaluate(tokens[i].substr(eq + 1), {}, file, card.first_line)));
    }
    model.first_line = card.first_line;
    model.last_line = card.last_line;
    model.comment_line = card.comment_line;
    return model;
}

Library parse(std::string text, const std::string& file, Role role)
{
    Library lib;
    lib.file = file;
    std::istringstream in(std::move(text));
    for (std::string raw; std::getline(in, raw);) {
        if (!raw.empty() && raw.back() == '\r') raw.pop_back();
        lib.lines.push_back(std::move(raw));
    }
    Subcircuit* open = nullptr;
    for (const Card& card : read_cards(lib, role)) {
        if (card.tokens.empty()) continue;
        const std::string& head = card.tokens[0];
        if (head == ".subckt") {
            if (open) fail_at(file, card.first_line, fmt::format("nested .subckt inside '{}'", open->name));
            if (card.tokens.size() < 2) fail_at(file, card.first_line, ".subckt without a name");
            Subcircuit def;
            def.name = card.tokens[1];
            def.first_line = card.first_line;
            def.comment_line = card.comment_line;
            for (std::size_t i = 2; i < card.tokens.size(); ++i) {
                const std::string& token = card.tokens[i];
                const std::size_t eq = assignment(token);
                if (eq != std::string::npos && eq > 0)
                    def.defaults.emplace_back(token.substr(0, eq), token.substr(eq + 1));
                else if (token != "params:")
                    def.ports.push_back(token);
            }
            lib.subckts.push_back(std::move(def));
            open = &lib.subckts.back();
        } else if (head == ".ends") {
            if (!open) fail_at(file, card.first_line, ".ends without .subckt");
            open->last_line = card.last_line;
            open = nullptr;
        } else if (head == ".model") {
            (open ? open->models : lib.models).push_back(parse_model(card, file));
        } else if (open) {
            open->body.push_back(card);
            for (Reference& r : element_references(card, file)) open->references.push_back(std::move(r));
        } else {
            lib.top_level.push_back(card);
        }
    }
    if (open) fail_at(file, open->first_line, fmt::format(".subckt '{}' has no .ends", open->name));
    return lib;
}

void collect(const Library& lib, const std::string& name, const Scope& globals, const Scope& overrides,
             const std::string& prefix, int depth, int called_from, std::vector<Mosfet>& out)
{
    const Subcircuit* def = lib.find_subckt(name);
    if (!def) fail_at(lib.file, called_from, fmt::format("no subcircuit '{}' in the library", name));
    if (depth > 32) fail_at(lib.file, called_from, fmt::format("subcircuit '{}' nests deeper than 32 levels", name));
    Scope scope = globals;
    for (const auto& [key, expr] : def->defaults) {
        const auto o = overrides.find(key);
        scope[key] = o != overrides.end() ? o->second : evaluate(expr, scope, lib.file, def->first_line);
    }
    for (const auto& [key, value] : overrides) scope[key] = value;
    for (const Card& e : def->body) {
        const auto& t = e.tokens;
        const char kind = t[0][0];
        if (t[0] == ".param") {
            assign_params(e, scope, lib.file);
        } else if (kind == 'm') {
            const std::size_t k = first_assignment(t, 1);
            if (k < 3) fail_at(lib.file, e.first_line, fmt::format("{}: MOSFET without nodes and model", t[0]));
            Mosfet tr;
            tr.name = prefix + t[0];
            tr.model = t[k - 1];
            bool has_w = false, has_l = false;
            for (std::size_t i = k; i < t.size(); ++i) {
                const std::size_t eq = assignment(t[i]);
                if (eq == std::string::npos || eq == 0) continue;
                const std::string key = t[i].substr(0, eq);
                if (key != "w" && key != "l" && key != "m" && key != "nf") continue;
                const double v = evaluate(t[i].substr(eq + 1), scope, lib.file, e.first_line);
                if (!(v > 0))
                    fail_at(lib.file, e.first_line, fmt::format("{}: {} = {:g} must be positive", t[0], key, v));
                if (key == "w") tr.width_m = v, has_w = true;
                if (key == "l") tr.length_m = v, has_l = true;
                if (key == "m") tr.multiplier = v;
                if (key == "nf") tr.fingers = std::max(1, static_cast<int>(std::lround(v)));
            }
            if (!has_w || !has_l)
                fail_at(lib.file, e.first_line,
                        fmt::format("{}: no {}= (W and L must be given on the instance)", t[0], has_w ? "l" : "w"));
            out.push_back(tr);
        } else if (kind == 'x') {
            const std::size_t k = first_assignment(t, 1);
            if (k < 2) fail_at(lib.file, e.first_line, fmt::format("{}: instance without a subcircuit name", t[0]));
            Scope args;
            for (std::size_t i = k; i < t.size(); ++i) {
                const std::size_t eq = assignment(t[i]);
                if (eq == std::string::npos || eq == 0) continue;
                args[t[i].substr(0, eq)] = evaluate(t[i].substr(eq + 1), scope, lib.file, e.first_line);
            }
            collect(lib, t[k - 1], globals, args, prefix + t[0] + ".", depth + 1, e.first_line, out);
        }
    }
}

// ---------------------------------------------------------------------------------
// used_library_text: closing the set of used definitions.
// ---------------------------------------------------------------------------------

/// A parsed file (the netlist first, then each library) and which of its definitions are used.
struct Source {
    Library lib;
    std::vector<bool> subckt_used, model_used;
};

/// A reference waiting to be resolved, with where it was made for the error message.
struct Pending {
    Reference ref;
    std::size_t source = 0;  ///< index into the sources
    std::string within;      ///< the subcircuit it is made in, empty at top level
};

bool is_element(const Card& card)
{
    return !card.tokens.empty() && std::isalpha(static_cast<unsigned char>(card.tokens[0][0]));
}

/// "nch.3" is a binned variant of "nch".
bool is_bin_of(const std::string& model, const std::string& name)
{
    if (model.size() <= name.size() + 1 || model.compare(0, name.size(), name) != 0 || model[name.size()] != '.')
        return false;
    return std::all_of(model.begin() + static_cast<std::ptrdiff_t>(name.size()) + 1, model.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

bool defines_model(const std::vector<ModelCard>& models, const std::string& name)
{
    for (const ModelCard& m : models)
        if (m.name == name || is_bin_of(m.name, name)) return true;
    return false;
}

class Closure {
public:
    explicit Closure(std::vector<Source>& sources) : sources_(sources)
    {
        for (const Source& s : sources_)
            for (const ModelCard& m : s.lib.models) model_names_.push_back(m.name);
        for (std::size_t i = 1; i < sources_.size(); ++i)
            library_names_.push_back(fs::path(sources_[i].lib.file).filename().string());
    }

    /// References of the top-level element cards of sources_[source].
    void add_top_level(std::size_t source)
    {
        const Library& lib = sources_[source].lib;
        for (const Card& card : lib.top_level)
            if (is_element(card))
                for (Reference& r : element_references(card, lib.file, model_names_))
                    pending_.push_back({std::move(r), source, ""});
    }

    void run()
    {
        while (!pending_.empty()) {
            const Pending p = std::move(pending_.back());
            pending_.pop_back();
            const bool found = p.ref.kind == Reference::Kind::subckt ? use_subckt(p.ref.name) : use_model(p.ref.name);
            if (!found && p.ref.required) fail_undefined(p);
        }
    }

private:
    bool use_subckt(const std::string& name)
    {
        bool found = false;
        for (std::size_t s = 0; s < sources_.size(); ++s) {
            Source& source = sources_[s];
            for (std::size_t i = 0; i < source.lib.subckts.size(); ++i) {
                const Subcircuit& def = source.lib.subckts[i];
                if (def.name != name) continue;
                found = true;
                if (source.subckt_used[i]) continue;
                source.subckt_used[i] = true;
                std::vector<std::string> names = model_names_;
                for (const ModelCard& m : def.models) names.push_back(m.name);
                for (const Card& card : def.body) {
                    if (!is_element(card)) continue;
                    for (Reference& r : element_references(card, source.lib.file, names)) {
                        // A model defined inside the subcircuit is the one its elements use.
                        if (r.kind == Reference::Kind::model && defines_model(def.models, r.name)) continue;
                        pending_.push_back({std::move(r), s, def.name});
                    }
                }
            }
        }
        return found;
    }

    bool use_model(const std::string& name)
    {
        bool exact = false;
        for (const Source& source : sources_)
            for (const ModelCard& m : source.lib.models) exact = exact || m.name == name;
        bool found = false;
        for (Source& source : sources_)
            for (std::size_t i = 0; i < source.lib.models.size(); ++i) {
                const std::string& model = source.lib.models[i].name;
                if (exact ? model == name : is_bin_of(model, name)) source.model_used[i] = found = true;
            }
        return found;
    }

    [[noreturn]] void fail_undefined(const Pending& p) const
    {
        std::string libraries;
        for (const std::string& name : library_names_) libraries += (libraries.empty() ? "" : ", ") + name;
        const char* what = p.ref.kind == Reference::Kind::subckt ? "subcircuit" : "model";
        const std::string where = p.within.empty() ? "" : fmt::format(" in subcircuit '{}'", p.within);
        fail_at(sources_[p.source].lib.file, p.ref.line,
                fmt::format("{}{} uses {} '{}', which neither the netlist nor any library ({}) defines", p.ref.element,
                            where, what, p.ref.name, libraries.empty() ? "none given" : libraries));
    }

    std::vector<Source>& sources_;
    std::vector<std::string> model_names_, library_names_;
    std::vector<Pending> pending_;
};

}  // namespace

// ---------------------------------------------------------------------------------
// Public functions.
// ---------------------------------------------------------------------------------

const Subcircuit* Library::find_subckt(const std::string& name) const
{
    for (auto it = subckts.rbegin(); it != subckts.rend(); ++it)
        if (it->name == name) return &*it;
    return nullptr;
}

Library parse_library(const std::string& text, const std::string& file) { return parse(text, file, Role::library); }

Library read_library(const fs::path& path)
{
    return parse(io::read_file(path), path.string(), Role::library);  // InputError naming the file
}

std::vector<Reference> element_references(const Card& card, const std::string& file,
                                          const std::vector<std::string>& model_names)
{
    const std::vector<std::string>& t = card.tokens;
    if (t.empty() || !std::isalpha(static_cast<unsigned char>(t[0][0]))) return {};
    auto reference = [&](Reference::Kind kind, const std::string& name, bool required) {
        return Reference{kind, name, t[0], card.first_line, required};
    };
    switch (t[0][0]) {
    case 'x': {
        const std::size_t k = first_assignment(t, 1);
        if (k < 2) fail_at(file, card.first_line, fmt::format("{}: instance without a subcircuit name", t[0]));
        return {reference(Reference::Kind::subckt, t[k - 1], true)};
    }
    case 'm':
        if (t.size() < 6 || is_assignment(t[5]) || t[5] == "params:")
            fail_at(file, card.first_line,
                    fmt::format("{}: a MOSFET needs drain, gate, source and bulk nodes and a model", t[0]));
        return {reference(Reference::Kind::model, t[5], true)};
    case 'd':
        if (t.size() < 4 || is_assignment(t[3]))
            fail_at(file, card.first_line, fmt::format("{}: a diode needs two nodes and a model", t[0]));
        return {reference(Reference::Kind::model, t[3], true)};
    default: {
        // Elements that can take a model, its place depending on options or node count.
        static const std::string with_models = "acjlnopqrsuwyz";
        std::vector<Reference> guesses;
        if (with_models.find(t[0][0]) == std::string::npos) return guesses;
        for (std::size_t i = 1; i < t.size(); ++i)
            for (const std::string& model : model_names)
                if (model == t[i] || is_bin_of(model, t[i])) {
                    guesses.push_back(reference(Reference::Kind::model, t[i], false));
                    break;
                }
        return guesses;
    }
    }
}

void assign_params(const Card& card, Scope& scope, const std::string& file)
{
    for (std::size_t i = 1; i < card.tokens.size(); ++i) {
        const std::size_t eq = assignment(card.tokens[i]);
        if (eq == std::string::npos || eq == 0)
            fail_at(file, card.first_line, fmt::format("bad .param '{}'", card.tokens[i]));
        scope[card.tokens[i].substr(0, eq)] =
            evaluate(card.tokens[i].substr(eq + 1), scope, file, card.first_line);
    }
}

Scope global_scope(const Library& library)
{
    Scope scope;
    for (const Card& card : library.top_level)
        if (card.tokens[0] == ".param") assign_params(card, scope, library.file);
    return scope;
}

std::vector<Mosfet> subckt_mosfets(const Library& library, const std::string& subckt)
{
    std::vector<Mosfet> out;
    collect(library, lower(subckt), global_scope(library), {}, "", 0, 0, out);
    return out;
}

std::string used_library_text(const std::vector<fs::path>& libraries, const std::string& netlist_text,
                              const std::string& netlist_label)
{
    std::vector<Source> sources;
    sources.push_back({parse(netlist_text, netlist_label, Role::netlist), {}, {}});
    for (const fs::path& path : libraries) sources.push_back({read_library(path), {}, {}});
    for (Source& s : sources) {
        s.subckt_used.assign(s.lib.subckts.size(), false);
        s.model_used.assign(s.lib.models.size(), false);
    }
    for (std::size_t s = 1; s < sources.size(); ++s)
        for (const Card& card : sources[s].lib.top_level) {
            const std::string& head = card.tokens[0];
            if (head == ".include" || head == ".inc" || head == ".lib" || head == ".endl")
                fail_at(sources[s].lib.file, card.first_line,
                        fmt::format("{} inside a library cannot be inlined (its path is relative to this file); "
                                    "pass the included file as a library instead",
                                    head));
        }

    Closure closure(sources);
    for (std::size_t s = 0; s < sources.size(); ++s) closure.add_top_level(s);
    closure.run();

    std::string out;
    for (std::size_t s = 1; s < sources.size(); ++s) {
        const Source& source = sources[s];
        std::vector<std::pair<int, int>> spans;  // [comment_line, last_line]
        for (const Card& card : source.lib.top_level)
            if (card.tokens[0] != ".end") spans.emplace_back(card.comment_line, card.last_line);
        for (std::size_t i = 0; i < source.lib.subckts.size(); ++i)
            if (source.subckt_used[i])
                spans.emplace_back(source.lib.subckts[i].comment_line, source.lib.subckts[i].last_line);
        for (std::size_t i = 0; i < source.lib.models.size(); ++i)
            if (source.model_used[i])
                spans.emplace_back(source.lib.models[i].comment_line, source.lib.models[i].last_line);
        std::sort(spans.begin(), spans.end());
        out += fmt::format("* ---- used parts of {} ----\n", fs::path(source.lib.file).filename().string());
        for (std::size_t k = 0; k < spans.size(); ++k) {
            if (k > 0) out += "\n";
            for (int line = spans[k].first; line <= spans[k].second; ++line)
                out += source.lib.lines[static_cast<std::size_t>(line) - 1] + "\n";
        }
    }
    return out;
}

}  // namespace nladc::spice
