// ngspice output diagnosis without libngspice: captured output lines in, verdict and
// NgspiceError out (src/spice/ngspice_diagnosis.hpp). The lines are ngspice 39's own
// wording, as SendChar delivers them ("stdout ..." / "stderr ...").

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "nladc/spice/ngspice.hpp"
#include "../../src/spice/ngspice_diagnosis.hpp"

using namespace nladc::spice;
using namespace nladc::spice::detail;

namespace {

/// Diagnoses `output` for `netlist` the way NgspiceSession does after a run.
NgspiceError error_for(const std::string& netlist, const std::vector<std::string>& output)
{
    const Diagnosis d = diagnose(output, 0);
    return make_error(d.message, d, split_netlist(netlist), output);
}

}  // namespace

TEST_CASE("ngspice diagnosis: a clean run is no error, even when stdout says 'error'", "[spice][diagnosis]")
{
    const std::vector<std::string> output = {
        "stdout ******",
        "stdout ** ngspice-39 : Circuit level simulation program",
        "stderr Note: No compatibility mode selected!",
        "stdout Circuit: error amplifier",  // the title: stdout is never judged
        "stdout Doing analysis at TEMP = 27.000000 and TNOM = 27.000000",
        "stderr Note: Starting dynamic gmin stepping",
        "stderr Trying gmin =   1.0000E-03 Note: One successful gmin step",
        "stdout No. of Data Rows : 1",
    };
    const Diagnosis d = diagnose(output, 0);
    CHECK(d.message.empty());
    CHECK(d.line == 0);
    CHECK(d.echo.empty());
    CHECK(d.node.empty());
}

TEST_CASE("ngspice diagnosis: a singular matrix names the floating node's first element line", "[spice][diagnosis]")
{
    const std::string netlist = "floating\nV1 in 0 1\nR1 in out 1k\nC1 out x 1p\n.op\n.end\n";
    const std::vector<std::string> output = {
        "stdout Circuit: floating",
        "stderr Warning: singular matrix:  check node x",
        "stderr ",
        "stderr Note: Starting dynamic gmin stepping",
        "stderr Trying gmin =   1.0000E-03 Note: One successful gmin step",
        "stderr Warning: singular matrix:  check node x",  // repeated: reported once
        "stderr Warning: Dynamic gmin stepping failed",
        "stderr Trying gmin =   5.6234E-03 Warning: Further gmin increment",
        "stderr Warning: Last gmin step failed",
        "stderr Warning: True gmin stepping failed",
        "stderr Supplies reduced to   0.0000% ",
        "stderr Warning: source stepping failed",
        "stderr run simulation(s) aborted",
    };
    const Diagnosis d = diagnose(output, 0);
    CHECK(d.message == "Warning: singular matrix:  check node x; run simulation(s) aborted");
    CHECK(d.node == "x");
    CHECK(d.line == 0);

    const NgspiceError e = make_error(d.message, d, split_netlist(netlist), output);
    CHECK(e.message() == d.message);
    CHECK(e.netlist_title() == "floating");
    CHECK(e.line_number() == 4);
    CHECK(e.netlist_line() == "C1 out x 1p");
    CHECK(std::string(e.what()) ==
          "ngspice: netlist \"floating\": line 4 \"C1 out x 1p\": "
          "Warning: singular matrix:  check node x; run simulation(s) aborted");
    CHECK(e.output_tail() == output_tail(output));
}

TEST_CASE("ngspice diagnosis: a time step too small is fatal and names no line", "[spice][diagnosis]")
{
    const std::string netlist = "tstep\nV1 in 0 pulse(0 1 0 1f 1f 1n 2n)\nR1 in out 1\nC1 out 0 1e-20\n.tran 1p 10n\n.end\n";
    const std::vector<std::string> output = {
        "stderr Note: Transient op started",
        "stderr Error: Transient op failed, timestep too small",
        "stdout Transient solution failed -",
        "stderr doAnalyses: TRAN:  Timestep too small; initial timepoint: trouble with node \"out\"",
        "stderr run simulation(s) aborted",
    };
    const NgspiceError e = error_for(netlist, output);
    CHECK(e.message() ==
          "Error: Transient op failed, timestep too small; "
          "doAnalyses: TRAN:  Timestep too small; initial timepoint: trouble with node \"out\"; "
          "run simulation(s) aborted");
    CHECK(e.line_number() == 0);
    CHECK(e.netlist_line().empty());
    CHECK(std::string(e.what()) == "ngspice: netlist \"tstep\": " + e.message());
}

TEST_CASE("ngspice diagnosis: ngspice's line numbers map back to the netlist as given", "[spice][diagnosis]")
{
    SECTION("a missing model: blank lines are not sent, so ngspice's line 4 is line 5 here")
    {
        const std::string netlist = "missing model\nV1 in 0 1\nR1 in out 1k\n\nD1 out 0 nosuch\n.op\n.end\n";
        const std::vector<std::string> output = {
            "stderr warning, can't find model 'nosuch' from line",
            "stderr     d1 out 0 nosuch",
            "stderr Error on line 4 or its substitute:",
            "stderr   d1 out 0 nosuch",
            "stderr could not find a valid modelname",
            "stderr     Simulation interrupted due to error!",
        };
        const Diagnosis d = diagnose(output, 0);
        CHECK(d.line == 4);
        CHECK(d.echo == "d1 out 0 nosuch");
        CHECK(d.message ==
              "warning, can't find model 'nosuch' from line; could not find a valid modelname; "
              "Simulation interrupted due to error!");
        const NgspiceError e = make_error(d.message, d, split_netlist(netlist), output);
        CHECK(e.line_number() == 5);
        CHECK(e.netlist_line() == "D1 out 0 nosuch");
    }
    SECTION("ngspice's echo wins over its line number when they disagree")
    {
        const std::string netlist = "echo\nV1 in 0 1\nR1   in OUT 1k\nR2 out 0 bad\n.op\n.end\n";
        const std::vector<std::string> output = {
            "stderr Error on line 2 or its substitute:",
            "stderr   r1 in out 1k",
            "stderr could not parse the resistance",
        };
        const NgspiceError e = error_for(netlist, output);
        CHECK(e.message() == "could not parse the resistance");
        CHECK(e.line_number() == 3);
        CHECK(e.netlist_line() == "R1   in OUT 1k");
    }
    SECTION("a netlist line quoted in the message")
    {
        const std::string netlist = "subckt\nV1 in 0 1\nX1 in out nosub\nR2 out 0 3k\n.op\n.end\n";
        const std::vector<std::string> output = {
            "stderr Error: unknown subckt: x1 in out nosub",
            "stderr Please check your input netlist.",
        };
        const NgspiceError e = error_for(netlist, output);
        CHECK(e.message() == "Error: unknown subckt: x1 in out nosub");
        CHECK(e.line_number() == 3);
        CHECK(e.netlist_line() == "X1 in out nosub");
    }
    SECTION("'netlist line no.' gives the line when nothing is echoed")
    {
        const std::string netlist = "expr\nV1 in 0 {1/ }\nR1 in 0 1k\n.op\n.end\n";
        const std::vector<std::string> output = {
            "stderr Error: Expression err: 1/ }",
            "stderr Netlist line no. 2:",
            "stderr ngspice cannot recover and awaits to be detached",
        };
        const NgspiceError e = error_for(netlist, output);
        CHECK(e.message() == "Error: Expression err: 1/ }");
        CHECK(e.line_number() == 2);
        CHECK(e.netlist_line() == "V1 in 0 {1/ }");
    }
}

TEST_CASE("ngspice diagnosis: only the output from the given line on is read", "[spice][diagnosis]")
{
    const std::vector<std::string> output = {
        "stderr Error: unknown subckt: x1 in out nosub",
        "stdout Circuit: next",
        "stderr Note: No compatibility mode selected!",
    };
    CHECK(diagnose(output, 0).message == "Error: unknown subckt: x1 in out nosub");
    CHECK(diagnose(output, 1).message.empty());
    CHECK(diagnose(output, output.size()).message.empty());
}

TEST_CASE("ngspice diagnosis: which lines are fatal and which are noise", "[spice][diagnosis]")
{
    CHECK(is_fatal("Warning: singular matrix:  check node x"));
    CHECK(is_fatal("warning, can't find model 'nosuch' from line"));
    CHECK(is_fatal("Error: Transient op failed, timestep too small"));
    CHECK(is_fatal("doAnalyses: TRAN:  Timestep too small; initial timepoint: trouble with node \"out\""));
    CHECK(is_fatal("run simulation not started"));
    CHECK(is_fatal("Error on line 3"));
    // Warnings ngspice recovers from are not fatal, even with a fatal-sounding word.
    CHECK_FALSE(is_fatal("Warning: Dynamic gmin stepping failed"));
    CHECK_FALSE(is_fatal("Warning: Resistance of r1 is 0, set to 1e-3 (an undefined value)"));
    CHECK_FALSE(is_fatal("Doing analysis at TEMP = 27.000000 and TNOM = 27.000000"));

    CHECK(is_noise("Note: Starting dynamic gmin stepping"));
    CHECK(is_noise("Trying gmin =   9.9996E-03 Warning: Last gmin step failed"));
    CHECK(is_noise("Please check your input netlist."));
    CHECK(is_noise("ngspice cannot recover and awaits to be detached"));
    CHECK_FALSE(is_noise("Warning: singular matrix:  check node x"));
    CHECK_FALSE(is_noise("Error: unknown subckt: x1 in out nosub"));
}

TEST_CASE("ngspice diagnosis: netlists are sent without blank lines and with a final .end", "[spice][diagnosis]")
{
    const Netlist n = split_netlist("  my title \r\nV1 in 0 1\r\n\n   \nR1 in 0 1k\n* trailing comment\n");
    CHECK(n.title == "my title");
    CHECK(n.original == std::vector<std::string>{"  my title ", "V1 in 0 1", "", "   ", "R1 in 0 1k", "* trailing comment"});
    CHECK(n.sent ==
          std::vector<std::string>{"  my title ", "V1 in 0 1", "R1 in 0 1k", "* trailing comment", ".end"});
    CHECK(n.origin == std::vector<int>{1, 2, 5, 6, 0});

    const Netlist ended = split_netlist("t\nR1 a 0 1\n.END\n* after the end\n");
    CHECK(ended.sent == std::vector<std::string>{"t", "R1 a 0 1", ".END", "* after the end"});
    CHECK(ended.origin == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("ngspice diagnosis: the output tail keeps the last lines", "[spice][diagnosis]")
{
    std::vector<std::string> output;
    for (int i = 0; i < 50; ++i) output.push_back("stdout line " + std::to_string(i));
    const std::string tail = output_tail(output);
    CHECK(tail.rfind("stdout line 10\n", 0) == 0);  // the last 40 of 50
    CHECK(tail.find("stdout line 9\n") == std::string::npos);
    CHECK(tail.size() >= 15);
    CHECK(tail.substr(tail.size() - 15) == "stdout line 49\n");
    CHECK(output_tail(output, 2) == "stdout line 48\nstdout line 49\n");
    CHECK(output_tail({}, 5).empty());
}

TEST_CASE("ngspice diagnosis: NgspiceError's what() names the netlist and its line", "[spice][diagnosis]")
{
    CHECK(std::string(NgspiceError("boom").what()) == "ngspice: boom");
    CHECK(std::string(NgspiceError("boom", "t").what()) == "ngspice: netlist \"t\": boom");
    CHECK(std::string(NgspiceError("boom", "t", 3).what()) == "ngspice: netlist \"t\": line 3: boom");
    CHECK(std::string(NgspiceError("boom", "t", 3, "R1 a b").what()) == "ngspice: netlist \"t\": line 3 \"R1 a b\": boom");
    CHECK(std::string(NgspiceError("boom", "", 0, "R1 a b").what()) == "ngspice: line \"R1 a b\": boom");
}
