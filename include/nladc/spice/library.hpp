#pragma once
// Reading ngspice subcircuit libraries: their structure (subcircuits, model cards,
// top-level cards, with line spans), parameter expressions, the MOSFETs of a
// subcircuit, and the used part of a set of libraries for pasting into a netlist.
// Units: W and L in m. Line numbers are 1-based physical lines of the file.
//
// Syntax followed (ngspice): a '+' line continues the previous logical line; a line
// whose first non-blank character is '*' is a comment; ';' anywhere and '$' after
// whitespace start an inline comment. Names are case-insensitive: everything parsed is
// lower-cased (the verbatim text in Library::lines is not). Tokens split on whitespace
// outside {...} and '...', and "k = v" is glued into one token "k=v".
//
// References (which subcircuit or model an element line uses):
//   X x1 n1 n2 ... name [params:] k=v ...   the last token before the first k=v or params:
//   M m1 d g s b model ...                  the 6th token
//   D d1 a c model ...                      the 4th token
//   A C J L N O P Q R S U W Y Z            every token that names a known model: these
//                                            take a model at a place that depends on their
//                                            options or node count (a node that happens to
//                                            share a model's name only keeps an unneeded card)
// A reference to "name" also matches binned models "name.1", "name.2" ... (ngspice
// model binning) when no model is called exactly "name".

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nladc::spice {

/// One logical line: a physical line with its '+' continuations, lower case, tokenized.
struct Card {
    std::vector<std::string> tokens;
    int first_line = 0;    ///< the line the card starts on
    int last_line = 0;     ///< its last continuation line (== first_line without one)
    int comment_line = 0;  ///< first line of the '*' comment block just above (== first_line if none)
};

/// A name an element line refers to.
struct Reference {
    enum class Kind { subckt, model };
    Kind kind = Kind::subckt;
    std::string name;       ///< lower case
    std::string element;    ///< the referring element, e.g. "x1"
    int line = 0;           ///< the element's first line
    bool required = true;   ///< false: a guess from an element without a fixed model position
};

/// A .model card. `level` is the level= value when the card gives one.
struct ModelCard {
    std::string name;            ///< lower case, e.g. "nch"
    std::string type;            ///< device type, lower case: nmos, pmos, d, sw, ...
    std::optional<int> level;
    int first_line = 0, last_line = 0, comment_line = 0;  ///< as in Card
};

/// A .subckt ... .ends block.
struct Subcircuit {
    std::string name;                                           ///< lower case
    std::vector<std::string> ports;
    std::vector<std::pair<std::string, std::string>> defaults;  ///< parameter -> default expression
    std::vector<Card> body;                                     ///< element and .param cards, in order
    std::vector<ModelCard> models;                              ///< .model cards defined inside
    std::vector<Reference> references;                          ///< X, M and D references of body, in order
    int first_line = 0;    ///< the .subckt line
    int last_line = 0;     ///< the .ends line
    int comment_line = 0;  ///< first line of the comment block just above .subckt
};

/// One library file.
struct Library {
    std::string file;                  ///< as given, for messages
    std::vector<std::string> lines;    ///< physical lines, verbatim without line ends (lines[0] is line 1)
    std::vector<Subcircuit> subckts;   ///< in file order
    std::vector<ModelCard> models;     ///< top-level .model cards, in file order
    /// Every other top-level card in file order: .param, .func, .global, .option, element
    /// lines, .include ... A .control ... .endc block is one card with tokens {".control"}.
    std::vector<Card> top_level;

    /// The subcircuit named `name` (lower case); the last one when the file defines it twice,
    /// as ngspice does. nullptr when absent.
    const Subcircuit* find_subckt(const std::string& name) const;
};

/// Parses library text; `file` names it in errors. Throws InputError("<file>: line N: ...")
/// for a '+' line with nothing to continue, a .subckt nested in another, without a name
/// or without .ends (naming its .subckt line), an .ends without .subckt, a .control
/// without .endc, a .model without name and type or with a non-numeric level, and an
/// X, M or D line too short to name its subcircuit or model.
Library parse_library(const std::string& text, const std::string& file);

/// parse_library of a file's content. Throws InputError naming the file when unreadable.
Library read_library(const std::filesystem::path& path);

/// The subcircuits and models `card` (an element line) refers to, by the rules at the top;
/// `model_names` are the models the guesses for other elements may match. Throws
/// InputError naming `file` and the card's line when an X, M or D line is too short.
std::vector<Reference> element_references(const Card& card, const std::string& file,
                                          const std::vector<std::string>& model_names = {});

/// Parameter name (lower case) -> value.
using Scope = std::map<std::string, double>;

/// Value of a SPICE parameter expression: numbers with ngspice scale suffixes (t g meg k
/// m mil u n p f a), names from `scope`, + - * / ^ **, parentheses, sqrt abs exp log ln
/// min max pow pwr; {braces} or 'quotes' around the whole are allowed. Throws InputError
/// naming `file` and `line` for a syntax error, an unknown name or a non-finite value.
double evaluate(std::string expression, const Scope& scope, const std::string& file, int line);

/// Evaluates the "key=value" tokens of a .param card into `scope`, in order (later
/// ones may use earlier ones). Throws InputError for a token that is not key=value.
void assign_params(const Card& card, Scope& scope, const std::string& file);

/// The library's top-level .param values, evaluated in file order. Throws as evaluate.
Scope global_scope(const Library& library);

/// One MOSFET of a subcircuit, with every parameter expression evaluated.
struct Mosfet {
    std::string name;          ///< instance path, e.g. "m1" or "x1.m3" (lower case)
    std::string model;         ///< model name, e.g. "nch"
    double width_m = 0.0;      ///< total gate width W (all fingers)
    double length_m = 0.0;     ///< gate length L
    double multiplier = 1.0;   ///< m: identical devices in parallel
    int fingers = 1;           ///< nf: fingers sharing diffusions (each W / nf wide)
};

/// MOSFETs of `subckt` (any case), following X instances into the library's other
/// subcircuits with their parameters and the top-level .param values. Throws InputError
/// naming the file and line when the subcircuit (or one it instantiates) is missing,
/// nesting exceeds 32 levels, or a MOSFET's W or L is absent, not positive or not evaluable.
std::vector<Mosfet> subckt_mosfets(const Library& library, const std::string& subckt);

/// The text to paste into a netlist instead of `.include`-ing `libraries`: the parts of
/// them the netlist uses.
///
/// The netlist's top-level element lines (not its first line, the title; not comments,
/// dot-cards, .control ... .endc blocks or anything after .end) and the subcircuits the
/// netlist itself defines are read for references; the set of used subcircuits and
/// models is closed over the references inside every used subcircuit, across all files
/// (a model defined inside a subcircuit serves that subcircuit only). Every definition of
/// a used name is kept, in every file that has one, as .include would.
///
/// Returned, per library in the given order, headed by "* ---- used parts of <file name> ----":
/// in file order and verbatim with the '*' comment block just above each, the used
/// .subckt blocks, the used top-level .model cards (with their '+' lines), and every
/// other top-level card (.param, .func, .option, element lines: what .include would make
/// active anyway; an element line's references are used too). A top-level .end is dropped.
///
/// Throws InputError "<netlist_label>: line N: ..." naming the element and the name when
/// the netlist refers to a subcircuit or model that neither it nor any library defines,
/// "<library>: line N: ..." for such a reference inside a used library subcircuit, for a
/// library's .include/.lib (not inlinable), and whatever read_library throws.
std::string used_library_text(const std::vector<std::filesystem::path>& libraries, const std::string& netlist_text,
                              const std::string& netlist_label = "netlist");

}  // namespace nladc::spice
