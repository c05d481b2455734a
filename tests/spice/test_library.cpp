// The SPICE library reader (include/nladc/spice/library.hpp): structure and spans, the
// closure of used subcircuits and models, its errors, and an inlined netlist that
// ngspice simulates exactly as the one that .includes the library.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "../support.hpp"
#include "nladc/core/error.hpp"
#include "nladc/spice/library.hpp"

using namespace nladc;
namespace fs = std::filesystem;

namespace {

/// Two libraries: cells (subcircuits, a nested chain, local and global models) and models.
const char* const kCells = "* cells.lib: test fixture\n"
                           ".param wdef=1u\n"
                           "\n"
                           "* leaf: used only through mid\n"
                           "* (second comment line)\n"
                           ".subckt leaf a b params: r=1k\n"
                           "R1 a b {r}\n"
                           ".ends leaf\n"
                           "\n"
                           "* mid instantiates leaf\n"
                           ".SUBCKT Mid a b\n"
                           "XL a b LEAF r=2k\n"
                           "Mn a b 0 0 NCH w={wdef} l=60n\n"
                           ".ENDS mid\n"
                           "\n"
                           "* top instantiates mid and uses its own diode model\n"
                           ".subckt top a b\n"
                           "x1 a b mid\n"
                           "d1 a b dlocal\n"
                           ".model dlocal d(is=1e-15 n=0.05)\n"
                           ".ends top\n"
                           "\n"
                           "* never used\n"
                           ".subckt orphan a b\n"
                           "R1 a b 1\n"
                           "x2 a b leaf\n"
                           ".ends orphan\n"
                           "\n"
                           "* the diode the netlist uses directly\n"
                           ".model dtop d is=1e-14\n";

const char* const kModels = "* models.lib: model cards\n"
                            "\n"
                            "* nch: the NMOS of mid\n"
                            ".model nch nmos level=54 version=4.8\n"
                            "+ toxe=1.85e-9 vth0=0.45\n"
                            "* a comment between continuation lines\n"
                            "+ u0=0.0491\n"
                            "\n"
                            "* pch: used by nothing\n"
                            ".model pch pmos level=54\n"
                            "+ vth0=-0.45\n"
                            "\n"
                            ".model dlocal d is=1e-20\n";

struct Fixture {
    test::ScratchDir dir;
    std::vector<fs::path> libraries;
    Fixture()
    {
        test::write_text(dir / "cells.lib", kCells);
        test::write_text(dir / "models.lib", kModels);
        libraries = {dir / "cells.lib", dir / "models.lib"};
    }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("library: models, levels, subcircuit spans with their comment blocks, references", "[library]")
{
    const spice::Library cells = spice::parse_library(kCells, "cells.lib");
    REQUIRE(cells.subckts.size() == 4);
    const spice::Subcircuit& leaf = cells.subckts[0];
    CHECK(leaf.name == "leaf");
    CHECK(leaf.comment_line == 4);
    CHECK(leaf.first_line == 6);
    CHECK(leaf.last_line == 8);
    CHECK(leaf.ports == std::vector<std::string>{"a", "b"});
    REQUIRE(leaf.defaults.size() == 1);
    CHECK(leaf.defaults[0] == std::pair<std::string, std::string>{"r", "1k"});

    const spice::Subcircuit* mid = cells.find_subckt("mid");
    REQUIRE(mid);
    REQUIRE(mid->references.size() == 2);
    CHECK(mid->references[0].kind == spice::Reference::Kind::subckt);
    CHECK(mid->references[0].name == "leaf");
    CHECK(mid->references[0].element == "xl");
    CHECK(mid->references[0].line == 12);
    CHECK(mid->references[1].kind == spice::Reference::Kind::model);
    CHECK(mid->references[1].name == "nch");

    const spice::Subcircuit& top = cells.subckts[2];
    REQUIRE(top.models.size() == 1);
    CHECK(top.models[0].name == "dlocal");
    CHECK(top.models[0].type == "d");
    CHECK_FALSE(top.models[0].level.has_value());
    CHECK(top.body.size() == 2);  // the .model card is not a body card

    REQUIRE(cells.models.size() == 1);
    CHECK(cells.models[0].name == "dtop");
    CHECK(cells.models[0].first_line == 30);
    REQUIRE(cells.top_level.size() == 1);
    CHECK(cells.top_level[0].tokens[0] == ".param");
    CHECK(spice::global_scope(cells).at("wdef") == Approx(1e-6));

    const spice::Library models = spice::parse_library(kModels, "models.lib");
    REQUIRE(models.models.size() == 3);
    CHECK(models.models[0].type == "nmos");
    CHECK(models.models[0].level == 54);
    CHECK(models.models[0].comment_line == 3);  // the header above the blank line is not its comment
    CHECK(models.models[0].first_line == 4);
    CHECK(models.models[0].last_line == 7);
    CHECK(models.models[1].type == "pmos");
    CHECK(models.models[2].first_line == 13);
    CHECK(models.models[2].comment_line == 13);

    // X: the last token before the first key=value or params:; M: the 6th; D: the 4th.
    const spice::Library x = spice::parse_library(".subckt s a\nX9 a b Cell params: k=1\nM2 d g s b PMOD w=1u\n"
                                                  "Dx a c DMOD area=2\nQ1 c b e qmod\n.ends\n",
                                                  "x.lib");
    REQUIRE(x.subckts[0].references.size() == 3);  // Q: no fixed position, no model names given
    CHECK(x.subckts[0].references[0].name == "cell");
    CHECK(x.subckts[0].references[1].name == "pmod");
    CHECK(x.subckts[0].references[2].name == "dmod");
    const auto guesses = spice::element_references(x.subckts[0].body[3], "x.lib", {"qmod"});
    REQUIRE(guesses.size() == 1);
    CHECK(guesses[0].name == "qmod");
    CHECK_FALSE(guesses[0].required);
}

TEST_CASE("library: the closure keeps subcircuits used through others and drops unused ones", "[library]")
{
    Fixture f;
    const std::string netlist = "title line: X0 a b orphan is not read\n"
                                "* X9 a b orphan (a comment)\n"
                                ".include cells.lib\n"
                                "Xtop in out top\n"
                                ".control\n"
                                "* X8 a b orphan\n"
                                "let x = 1\n"
                                ".endc\n"
                                ".end\n"
                                "X7 a b orphan\n";
    const std::string text = spice::used_library_text(f.libraries, netlist);
    INFO(text);
    CHECK(contains(text, "* ---- used parts of cells.lib ----\n"));
    CHECK(contains(text, "* ---- used parts of models.lib ----\n"));
    CHECK(text.find("used parts of cells.lib") < text.find("used parts of models.lib"));
    // Verbatim blocks with the comment block just above, in file order.
    CHECK(contains(text, "* leaf: used only through mid\n* (second comment line)\n.subckt leaf a b params: r=1k\n"
                         "R1 a b {r}\n.ends leaf\n"));
    CHECK(contains(text, "* mid instantiates leaf\n.SUBCKT Mid a b\n"));
    CHECK(contains(text, ".model dlocal d(is=1e-15 n=0.05)\n.ends top\n"));
    CHECK(text.find(".subckt leaf") < text.find(".SUBCKT Mid"));
    CHECK(text.find(".SUBCKT Mid") < text.find(".subckt top"));
    CHECK_FALSE(contains(text, "orphan"));
    CHECK_FALSE(contains(text, "never used"));
    // The .param card is always kept; the unused top-level diode card is not.
    CHECK(contains(text, ".param wdef=1u\n"));
    CHECK_FALSE(contains(text, "dtop"));
    // nch is used inside mid; top's dlocal is its own card, so models.lib's is not used.
    CHECK(contains(text, "* nch: the NMOS of mid\n.model nch nmos level=54 version=4.8\n+ toxe=1.85e-9 vth0=0.45\n"
                         "* a comment between continuation lines\n+ u0=0.0491\n"));
    CHECK_FALSE(contains(text, "pch"));
    CHECK_FALSE(contains(text, "is=1e-20"));

    // A netlist-defined subcircuit's references are followed too; its own definition is not pasted.
    const std::string own = spice::used_library_text(f.libraries, "t\n.subckt wrap a b\nXo a b orphan\n.ends\n"
                                                                  "Xw 1 2 wrap\n");
    CHECK(contains(own, ".subckt orphan a b\n"));
    CHECK(contains(own, ".subckt leaf a b"));
    CHECK_FALSE(contains(own, "wrap"));
    CHECK_FALSE(contains(own, ".SUBCKT Mid"));
}

TEST_CASE("library: models used at top level and inside subcircuits, continuation lines whole", "[library]")
{
    Fixture f;
    const std::string text = spice::used_library_text(f.libraries, "t\nD1 a 0 dtop\nM1 d g s b pch w=1u l=60n\n");
    INFO(text);
    CHECK(contains(text, "* the diode the netlist uses directly\n.model dtop d is=1e-14\n"));
    CHECK(contains(text, "* pch: used by nothing\n.model pch pmos level=54\n+ vth0=-0.45\n"));
    CHECK_FALSE(contains(text, ".model nch"));
    CHECK_FALSE(contains(text, ".subckt"));
    CHECK_FALSE(contains(text, ".SUBCKT"));

    // A top-level D line naming dlocal uses models.lib's card (top's own serves top only).
    CHECK(contains(spice::used_library_text(f.libraries, "t\nD2 a 0 dlocal\n"), ".model dlocal d is=1e-20\n"));

    // Binned models: a reference to "nb" uses every "nb.<n>".
    test::write_text(f.dir / "bins.lib", ".model nb.1 nmos level=1\n.model nb.2 nmos level=1\n.model nbx nmos\n");
    const std::string bins = spice::used_library_text({f.dir / "bins.lib"}, "t\nM1 d g s b NB\n");
    CHECK(contains(bins, ".model nb.1 nmos level=1\n\n.model nb.2 nmos level=1\n"));
    CHECK_FALSE(contains(bins, "nbx"));

    // Other elements: a token naming a known model is a reference (a switch model here).
    test::write_text(f.dir / "sw.lib", ".model swm sw vt=0.5\n.model other sw\n");
    const std::string sw = spice::used_library_text({f.dir / "sw.lib"}, "t\nS1 a b c 0 SWM\nV1 other 0 1\n");
    CHECK(contains(sw, ".model swm sw vt=0.5\n"));
    CHECK_FALSE(contains(sw, "other"));
}

TEST_CASE("library: subcircuit and model names are case-insensitive", "[library]")
{
    Fixture f;
    const std::string text = spice::used_library_text(f.libraries, "t\nXA in out MID\nDB a 0 DTop\n");
    INFO(text);
    CHECK(contains(text, ".SUBCKT Mid a b\n"));
    CHECK(contains(text, ".subckt leaf a b"));  // referenced as LEAF inside Mid
    CHECK(contains(text, ".model nch nmos"));   // referenced as NCH
    CHECK(contains(text, ".model dtop d"));
    CHECK_FALSE(contains(text, ".subckt top"));
}

TEST_CASE("library: undefined references and unterminated subcircuits are input errors", "[library]")
{
    Fixture f;
    // Missing at top level: the netlist's line and the name.
    try {
        spice::used_library_text(f.libraries, "t\n* c\nR1 a b 1k\nXbad a b NoSuch k=1\n", "tb.cir");
        FAIL("no error");
    } catch (const InputError& e) {
        CHECK(e.file() == "tb.cir");
        CHECK(e.place() == "line 4");
        CHECK_THAT(e.what(), Catch::Contains("xbad") && Catch::Contains("subcircuit 'nosuch'") &&
                                 Catch::Contains("cells.lib, models.lib"));
    }
    CHECK_THROWS_WITH(spice::used_library_text(f.libraries, "t\nM1 d g s b nmissing\n"),
                      Catch::Contains("netlist: line 2") && Catch::Contains("model 'nmissing'"));
    CHECK_THROWS_WITH(spice::used_library_text(f.libraries, "t\nD1 a b dmissing\n"),
                      Catch::Contains("line 2") && Catch::Contains("model 'dmissing'"));
    // Missing inside a used library subcircuit: that file and line.
    test::write_text(f.dir / "broken.lib", "* broken\n.subckt uses_ghost a\nXg a ghost\n.ends\n");
    CHECK_THROWS_WITH(spice::used_library_text({f.dir / "broken.lib"}, "t\nX1 a uses_ghost\n"),
                      Catch::Contains("broken.lib: line 3") && Catch::Contains("subcircuit 'uses_ghost'") &&
                          Catch::Contains("subcircuit 'ghost'"));
    // ... but not when that subcircuit is unused.
    CHECK_NOTHROW(spice::used_library_text({f.dir / "broken.lib"}, "t\nR1 a 0 1\n"));
    // Unterminated .subckt: the file and the .subckt line.
    test::write_text(f.dir / "open.lib", "* open\n.param p=1\n.subckt never_closed a b\nR1 a b 1\n");
    try {
        spice::used_library_text({f.dir / "open.lib"}, "t\nR1 a 0 1\n");
        FAIL("no error");
    } catch (const InputError& e) {
        CHECK(e.file() == (f.dir / "open.lib").string());
        CHECK(e.place() == "line 3");
        CHECK_THAT(e.detail(), Catch::Contains("'never_closed' has no .ends"));
    }
    CHECK_THROWS_AS(spice::used_library_text({f.dir / "none.lib"}, "t\n"), InputError);
    CHECK_THROWS_WITH(spice::parse_library(".subckt s a\nM1 a a a nch\n.ends\n", "m.lib"),
                      Catch::Contains("m.lib: line 2") && Catch::Contains("m1"));
    CHECK_THROWS_WITH(spice::parse_library("+ r=1\n", "c.lib"), Catch::Contains("c.lib: line 1"));
    test::write_text(f.dir / "inc.lib", ".include other.lib\n");
    CHECK_THROWS_WITH(spice::used_library_text({f.dir / "inc.lib"}, "t\n"),
                      Catch::Contains("inc.lib: line 1") && Catch::Contains(".include"));
}

namespace {

/// Runs `ngspice -b` (NLADC_NGSPICE or ngspice on PATH) on dir/name.cir; returns its stdout.
std::string run_ngspice(const test::ScratchDir& dir, const std::string& name, const std::string& deck)
{
    const fs::path cir = dir / (name + ".cir"), out_path = dir / (name + ".out"), err_path = dir / (name + ".err");
    test::write_text(cir, deck);
    const char* env_program = std::getenv("NLADC_NGSPICE");
    const std::string program = env_program && *env_program ? env_program : "ngspice";
    std::cout.flush();
    std::fflush(nullptr);  // the child inherits unwritten stdio buffers
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::chdir(dir.path().c_str()) != 0) ::_exit(126);
        if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr))
            ::_exit(126);
        std::string arg0 = program, batch = "-b", file = cir.string();
        char* argv[] = {arg0.data(), batch.data(), file.data(), nullptr};
        ::execvp(program.c_str(), argv);
        ::_exit(127);
    }
    REQUIRE(pid > 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::string out = test::slurp(out_path), err = test::slurp(err_path);
    INFO(name << ": ngspice exit status " << status << "\n--- stdout:\n" << out << "\n--- stderr:\n" << err);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    CHECK_FALSE(contains(out + err, "rror"));
    return out;
}

/// "name = value" lines of the .meas output, value as printed.
std::map<std::string, std::string> measurements(const std::string& out)
{
    static const std::regex line(R"(^\s*(v\w+)\s*=\s*(\S+)\s*$)");
    std::map<std::string, std::string> values;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) {
        std::smatch m;
        if (std::regex_match(l, m, line)) values[m[1].str()] = m[2].str();
    }
    return values;
}

}  // namespace

TEST_CASE("library: the inlined netlist gives ngspice's .meas values of the .include version", "[library][ngspice]")
{
    test::ScratchDir dir;
    // An RC low-pass built from a resistor subcircuit, with a leakage diode whose model has
    // a continuation line, plus an unused subcircuit and an unused model.
    test::write_text(dir / "rc_fixture.lib", "* rc_fixture.lib: test fixture\n"
                                             ".param rscale=2\n"
                                             "\n"
                                             "* resistor r x rscale\n"
                                             ".subckt res a b params: r=1k\n"
                                             "R1 a b {r*rscale}\n"
                                             ".ends res\n"
                                             "\n"
                                             "* RC low-pass\n"
                                             ".subckt rc in out params: r=1k c=1n\n"
                                             "X1 in out res r={r}\n"
                                             "C1 out 0 {c}\n"
                                             "D1 0 out dleak\n"
                                             ".ends rc\n"
                                             "\n"
                                             "* unused: would fail if simulated (no model 'nothere')\n"
                                             ".subckt unused a b\n"
                                             "M1 a b 0 0 nothere w=1u l=1u\n"
                                             ".ends unused\n"
                                             "\n"
                                             "* leakage diode\n"
                                             ".model dleak d(is=1e-12\n"
                                             "+ n=1.5)\n"
                                             "\n"
                                             "* unused model\n"
                                             ".model nunused nmos level=1 vto=0.5\n");
    const std::string body = "V1 in 0 pulse(0 1 0 1n 1n 10u 20u)\n"
                             "X1 in out RC r=1k c=1n\n"
                             ".tran 10n 5u\n"
                             ".meas tran v1u find v(out) at=1u\n"
                             ".meas tran v2u find v(out) at=2u\n"
                             ".meas tran v4u find v(out) at=4u\n"
                             ".control\nset num_threads=1\nrun\nquit 0\n.endc\n"
                             ".end\n";
    const std::string included =
        fmt::format("rc through .include\n.include \"{}\"\n", (dir / "rc_fixture.lib").string()) + body;
    const std::string pasted = spice::used_library_text({dir / "rc_fixture.lib"}, "rc inlined\n" + body);
    INFO(pasted);
    CHECK_FALSE(contains(pasted, "unused"));
    CHECK(contains(pasted, "* leakage diode\n.model dleak d(is=1e-12\n+ n=1.5)\n"));
    CHECK(contains(pasted, ".param rscale=2\n"));

    const auto a = measurements(run_ngspice(dir, "included", included));
    const auto b = measurements(run_ngspice(dir, "inlined", "rc inlined\n" + pasted + body));
    REQUIRE(a.size() == 3);
    CHECK(a == b);
    // Sanity: RC = 2 kohm x 1 nF = 2 us; at 2 us the output is near 1 - e^-1 (the diode leaks a little).
    CHECK(std::stod(a.at("v2u")) == Approx(1 - std::exp(-1.0)).epsilon(0.02));
}
