// Generated testbenches: deterministic, current, runnable by ngspice -b, and the fast
// SPICE threshold extractor against plain bisection on full conversions.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <regex>
#include <sstream>

#include "../support.hpp"
#include "nladc/adc/behavioral.hpp"
#include "nladc/io/design_file.hpp"
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
    CHECK(out.find("rror") == std::string::npos);

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
    CHECK(b.find("dvt_p=0.0015 dvt_n=-0.0015") != std::string::npos);
    options.corner = "XX";
    CHECK_THROWS_AS(spice::generate_netlist(design, design.tech, chip, options), UsageError);
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
