// Generated testbenches: deterministic, current, runnable by ngspice -b, and the fast
// SPICE threshold extractor against plain bisection on full conversions.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <sstream>

#include "../support.hpp"
#include "nladc/adc/behavioral.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/spice/extract.hpp"

using namespace nladc;

namespace {

const std::filesystem::path kSource = NLADC_SOURCE_DIR;

std::string without_version_lines(const std::string& text)
{
    std::istringstream in(text);
    std::string out;
    for (std::string line; std::getline(in, line);)
        if (!spice::is_version_line(line) && line.find("\"nladc_version\"") == std::string::npos) out += line + "\n";
    return out;
}

/// A small 3-bit design on a 32-row array: quick to simulate.
ReplicaDesign small_design()
{
    ReplicaDesign design = io::read_design(kSource / "netlists" / "bskmq3_design.json").design;
    Technology tech = design.tech;
    tech.array.rows = 32;
    tech.sense.capacitance_F = 0.0;
    return map_levels(design.levels, tech, {});
}

/// What an element-type audit of a netlist finds outside .control blocks: element lines
/// that are not M, R, C, V, I or X (B-sources inside rram_* subcircuits excepted), and
/// MOSFET model cards that are not BSIM4 (level 14 or 54). Continuation lines joined.
struct Audit {
    std::vector<std::string> foreign_elements, non_bsim4_models, subcircuits;
};

Audit audit(const std::string& text)
{
    std::istringstream in(text);
    std::vector<std::string> lines;
    bool first = true;
    for (std::string line; std::getline(in, line);) {
        if (first) {  // the title line
            first = false;
            continue;
        }
        if (!line.empty() && line[0] == '+' && !lines.empty())
            lines.back() += " " + line.substr(1);
        else
            lines.push_back(line);
    }
    Audit a;
    std::string subckt;
    bool control = false;
    for (std::string line : lines) {
        for (char& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '*') continue;
        line = line.substr(start);
        if (line.starts_with(".control")) control = true;
        if (line.starts_with(".endc")) control = false;
        if (control || line.starts_with(".endc")) continue;
        std::istringstream words(line);
        std::string head, name;
        words >> head >> name;
        if (head == ".subckt") {
            subckt = name;
            a.subcircuits.push_back(name);
        } else if (head == ".ends") {
            subckt.clear();
        } else if (head == ".model") {
            std::string type;
            words >> type;
            if (type == "nmos" || type == "pmos") {
                const std::regex level(R"(level\s*=\s*(\d+))");
                std::smatch m;
                const int lvl = std::regex_search(line, m, level) ? std::stoi(m[1]) : 1;
                if (lvl != 14 && lvl != 54) a.non_bsim4_models.push_back(name);
            }
        } else if (head[0] != '.') {
            const char kind = head[0];
            const bool allowed = std::string("mrcvix").find(kind) != std::string::npos ||
                                 (kind == 'b' && subckt.starts_with("rram"));
            if (!allowed) a.foreign_elements.push_back((subckt.empty() ? "" : subckt + ": ") + head);
        }
    }
    return a;
}

/// Runs a shell command and returns its stdout.
std::string capture(const std::string& command)
{
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
    ::pclose(pipe);
    return out;
}

}  // namespace

TEST_CASE("netlists/ examples regenerate identically apart from the version line", "[ngspice][netlist]")
{
    test::ScratchDir dir;
    const std::string command = fmt::format("'{}' '{}' '{}' 2>&1", (kSource / "scripts" / "make-netlists.sh").string(),
                                            NLADC_CLI_PATH, dir.path().string());
    INFO(capture(command));
    for (const char* name : {"bskmq3.cir", "bskmq4.cir", "bskmq3_design.json", "bskmq4_design.json"}) {
        INFO(name);
        REQUIRE(std::filesystem::exists(dir / name));
        CHECK(without_version_lines(test::slurp(dir / name)) ==
              without_version_lines(test::slurp(kSource / "netlists" / name)));
    }
}

TEST_CASE("a generated 4-bit netlist gives the same code in ngspice -b and in process", "[ngspice][netlist]")
{
    const std::string out = capture(fmt::format("cd /tmp && ngspice -b '{}' 2>&1", (kSource / "netlists" / "bskmq4.cir").string()));
    std::smatch match;
    REQUIRE(std::regex_search(out, match, std::regex(R"(\ncode\s*=\s*([0-9.e+-]+))")));
    const int batch_code = static_cast<int>(std::lround(std::stod(match[1])));
    CHECK_FALSE(std::regex_search(out, std::regex(R"((^|\n)\s*(Error|error)\b)")));

    const io::DesignRecord record = io::read_design(kSource / "netlists" / "bskmq4_design.json");
    spice::WorkerPool pool(1);
    spice::NetlistOptions options;
    const auto conversions = spice::spice_convert(record.design, record.design.tech,
                                                  spice::nominal_spice_chip(record.design, record.design.tech), {3.0},
                                                  pool, options);
    CHECK(conversions.front().code == batch_code);
    const BehavioralAdc adc(record.design, record.design.tech, nominal_chip(record.design, record.design.tech));
    CHECK(adc.convert(3.0) == batch_code);
}

TEST_CASE("an inlined transistor-level netlist: only M, R, C, V, I, X elements, BSIM4 cards, the code of nladc convert",
          "[ngspice][netlist][cli]")
{
    // The issue's acceptance check, from the outside: synth, levels, map --compensate,
    // netlist --inline, ngspice -b.
    test::ScratchDir dir;
    const auto a = (dir / "a.npy").string(), lv = (dir / "lv.json").string(), d = (dir / "D.json").string(),
               x = (dir / "x.cir").string();
    REQUIRE(test::run_cli({"synth", "--out", a}).exit_code == 0);
    REQUIRE(test::run_cli({"levels", "--input", a, "--bits", "4", "--method", "bs-kmq", "--out", lv}).exit_code == 0);
    REQUIRE(test::run_cli({"map", "--levels", lv, "--compensate", "--input", a, "--out", d}).exit_code == 0);
    const auto netlist = test::run_cli({"netlist", "--design", d, "--inline", "--mac", "3", "--out", x});
    REQUIRE(netlist.exit_code == 0);
    const std::string text = test::slurp(x);
    const Audit found = audit(text);
    CHECK(found.foreign_elements.empty());
    INFO("foreign elements: " << fmt::format("{}", fmt::join(found.foreign_elements, ", ")));
    CHECK(found.non_bsim4_models.empty());
    // Only what the netlist instantiates: no macromodels, no level-1 access card.
    for (const char* unused : {"opamp_core", "opamp_1p", "integrator", "cell_1t1r_fast", "wl_driver"})
        CHECK(std::find(found.subcircuits.begin(), found.subcircuits.end(), unused) == found.subcircuits.end());
    CHECK(text.find("nacc") == std::string::npos);
    CHECK_FALSE(std::regex_search(text, std::regex(R"((^|\n)\.include)", std::regex::icase)));

    const std::string out = capture(fmt::format("cd '{}' && ngspice -b '{}' 2>&1", dir.path().string(), x));
    CHECK_FALSE(std::regex_search(out, std::regex(R"((^|\n)\s*(Error|error)\b)")));
    std::smatch match;
    REQUIRE(std::regex_search(out, match, std::regex(R"(\ncode\s*=\s*([0-9.e+-]+))")));
    const int spice_code = static_cast<int>(std::lround(std::stod(match[1])));
    const auto convert = test::run_cli({"convert", "--design", d, "--mac", "3"});
    REQUIRE(convert.exit_code == 0);
    CHECK(convert.out.rfind(fmt::format("code {} ", spice_code), 0) == 0);

    // The audit can fail: the macromodel netlist holds controlled sources and behavioral switches.
    const auto macro = test::run_cli({"netlist", "--design", d, "--inline", "--circuit", "macro", "--mac", "3", "--out",
                                      (dir / "m.cir").string()});
    REQUIRE(macro.exit_code == 0);
    const Audit macro_found = audit(test::slurp(dir / "m.cir"));
    CHECK(macro_found.foreign_elements.size() >= 3);  // Fmirror, the op-amp's E and B sources, ...
    CHECK_FALSE(macro_found.non_bsim4_models.empty());  // nacc, level 1
}

TEST_CASE("netlists carry every Monte Carlo value explicitly and are deterministic", "[netlist]")
{
    const ReplicaDesign design = small_design();
    spice::SpiceChip chip = spice::nominal_spice_chip(design, design.tech);
    spice::NetlistOptions options;
    options.mac_value = 2.0;
    const std::string a = spice::generate_netlist(design, design.tech, chip, options).text;
    CHECK(a == spice::generate_netlist(design, design.tech, chip, options).text);
    chip.replica_conductance_S[0] = 123.456e-6;
    chip.wire_resistance_ohm = 1.2345;
    chip.v_read_V = 0.2111;
    chip.comparator_offset_V = 3e-3;
    const std::string b = spice::generate_netlist(design, design.tech, chip, options).text;
    CHECK(b.find("g=0.000123456") != std::string::npos);
    CHECK(b.find("1.2345\n") != std::string::npos);
    CHECK(b.find(fmt::format("{:.9g}", 0.9 + 0.2111)) != std::string::npos);
    // The input-referred offset, written as the pair mismatch that produces it.
    const double half_mismatch = 0.5 * 3e-3 / design.tech.comparator.offset_per_mismatch;
    CHECK(b.find(fmt::format("dvt_p={:.9g} dvt_n={:.9g}", half_mismatch, -half_mismatch)) != std::string::npos);
    // Corners are a closed set: an unknown name fails where it is parsed, naming the choices.
    CHECK_THROWS_WITH(parse_choice<Corner>("XX"), "corner 'XX' is not one of: TT, FF, SS");
    CHECK(parse_choice<Corner>("SS") == Corner::ss);
    CHECK(fmt::format("{}", Corner::ff) == "FF");
}

TEST_CASE("the circuits library is found by flag, environment or build tree", "[netlist]")
{
    CHECK(spice::find_circuits((kSource / "circuits").string()) == (kSource / "circuits").lexically_normal());
    CHECK_THROWS_WITH(spice::find_circuits("/nonexistent"), Catch::Contains("--circuits /nonexistent"));
    ::setenv("NLADC_CIRCUITS", "/nonexistent-env", 1);
    CHECK_THROWS_WITH(spice::find_circuits(), Catch::Contains("NLADC_CIRCUITS=/nonexistent-env"));
    ::unsetenv("NLADC_CIRCUITS");
    CHECK(std::filesystem::exists(spice::find_circuits() / "nladc_cells.lib"));
}

TEST_CASE("fast SPICE extraction agrees with bisection on full conversions", "[ngspice][netlist][slow]")
{
    const ReplicaDesign design = small_design();
    const Technology& tech = design.tech;
    spice::WorkerPool pool(2);
    spice::NetlistOptions options;
    const spice::SpiceChip chip = spice::nominal_spice_chip(design, tech);
    const spice::FastExtraction fast = spice::extract_transitions(design, tech, chip, pool, options);
    INFO("fast extraction: " << fast.simulations << " simulations, " << fast.wall_s << " s");
    CHECK(fast.wall_s < 120.0);
    const double lsb = design.levels.lsb();
    for (int k : {1, 4, 7}) {
        int simulations = 0;
        const double fast_level = fast.transition_levels[static_cast<std::size_t>(k - 1)];
        const double bisected = spice::bisect_transition(design, tech, chip, k, fast_level - 0.3 * lsb,
                                                         fast_level + 0.3 * lsb, 0.01 * lsb, pool, options, simulations);
        INFO("threshold " << k << ": fast " << fast_level << ", bisection " << bisected);
        CHECK(std::abs(bisected - fast_level) / lsb <= 0.05);
    }
}
