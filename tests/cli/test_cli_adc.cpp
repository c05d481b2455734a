// The behavioral-ADC commands as a user runs them.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "../support.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/io/activations.hpp"

using namespace nladc;
using test::run_cli;

namespace {

/// A 4-bit BS-KMQ level set of ReLU-and-clamp data, written to dir/levels.json.
void make_levels(const test::ScratchDir& dir)
{
    SyntheticSpec spec;
    spec.samples = 50000;
    const auto values = generate_synthetic(spec);
    io::write_npy(dir / "acts.npy", values, {values.size()});
    REQUIRE(run_cli({"levels", "--input", (dir / "acts.npy").string(), "--bits", "4", "--method", "bs-kmq", "--lo",
                     "0", "--hi", "6", "--out", (dir / "levels.json").string()})
                .exit_code == 0);
}

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& file) { return test::parse_csv(test::slurp(file)); }

}  // namespace

TEST_CASE("map then transfer --ideal lands on the level set plus the mapping error", "[cli]")
{
    test::ScratchDir dir;
    make_levels(dir);
    const auto mapped = run_cli({"map", "--levels", (dir / "levels.json").string(), "--input",
                                 (dir / "acts.npy").string(), "--out", (dir / "design.json").string()});
    INFO(mapped.err);
    REQUIRE(mapped.exit_code == 0);
    CHECK(mapped.out.find("MSE on") != std::string::npos);
    const io::DesignRecord record = io::read_design(dir / "design.json");
    for (double e : record.design.threshold_error_lsb) CHECK(std::abs(e) <= 0.05);
    REQUIRE(record.after_mapping.has_value());

    const auto transfer = run_cli({"transfer", "--design", (dir / "design.json").string(), "--ideal", "--out",
                                   (dir / "t.csv").string(), "--plot", (dir / "t.png").string()});
    INFO(transfer.err);
    REQUIRE(transfer.exit_code == 0);
    const auto rows = read_csv(dir / "t.csv");
    REQUIRE(rows.size() == 16);
    CHECK(rows[0][0] == "k");
    const double lsb = record.design.levels.lsb();
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const double target = std::stod(rows[r][1]), measured = std::stod(rows[r][3]);
        const double mapping_error = std::stod(rows[r][5]);
        CHECK(std::abs((measured - target) / lsb - mapping_error) <= 0.01);
    }
    CHECK(test::slurp(dir / "t.png").substr(1, 3) == "PNG");

    // The default (nonideal) model moves the thresholds, and convert reports energy.
    const auto real = run_cli({"transfer", "--design", (dir / "design.json").string(), "--out",
                               (dir / "real.csv").string()});
    REQUIRE(real.exit_code == 0);
    const auto convert = run_cli({"convert", "--design", (dir / "design.json").string(), "--mac", "2.5", "--ideal"});
    REQUIRE(convert.exit_code == 0);
    CHECK(convert.out.find("code ") == 0);
    CHECK(convert.out.find("comparator") != std::string::npos);
}

TEST_CASE("map and transfer reject bad inputs naming key and value", "[cli]")
{
    test::ScratchDir dir;
    make_levels(dir);
    const auto levels = (dir / "levels.json").string();
    const auto design = (dir / "design.json").string();

    auto check = [](const test::CliResult& r, const std::string& needle) {
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(test::count_lines(r.err) == 1);
        CHECK(r.err.find(needle) != std::string::npos);
    };
    check(run_cli({"map", "--levels", levels, "--rows", "10", "--out", design}), "but the column has 10 rows");
    CHECK_FALSE(std::filesystem::exists(design));

    test::write_text(dir / "swapped.json", R"({"device": {"g_min_S": 4e-4, "g_max_S": 1e-4}})");
    check(run_cli({"map", "--levels", levels, "--tech", (dir / "swapped.json").string(), "--out", design}),
          "device.g_min_S: 0.0004 S is not below device.g_max_S = 0.0001 S");
    test::write_text(dir / "typo.json", R"({"array": {"wire_resistence_ohm": 2}})");
    check(run_cli({"map", "--levels", levels, "--tech", (dir / "typo.json").string(), "--out", design}),
          "array.wire_resistence_ohm: unknown key");

    REQUIRE(run_cli({"map", "--levels", levels, "--out", design}).exit_code == 0);
    std::string text = test::slurp(design);
    const auto at = text.find("\"target_S\": ");
    REQUIRE(at != std::string::npos);
    text.insert(text.begin() + static_cast<std::ptrdiff_t>(at + 12), '-');
    test::write_text(dir / "negative.json", text);
    check(run_cli({"transfer", "--design", (dir / "negative.json").string(), "--out", (dir / "t.csv").string()}),
          "mapping.cells[0].target_S: -");
    CHECK_FALSE(std::filesystem::exists(dir / "t.csv"));

    // A later format version is refused, not read as version 1 (design and calibration alike).
    nlohmann::json later = nlohmann::json::parse(test::slurp(design));
    later["version"] = 2;
    test::write_text(dir / "later.json", later.dump(2));
    check(run_cli({"transfer", "--design", (dir / "later.json").string(), "--out", (dir / "t.csv").string()}),
          "later.json: version: 2 is not a supported version (1)");
    test::write_text(dir / "calibration.json", R"({"format": "nladc-calibration", "version": 2, "parameters": {}})");
    check(run_cli({"transfer", "--design", design, "--calibration", (dir / "calibration.json").string(), "--out",
                   (dir / "t.csv").string()}),
          "calibration.json: version: 2 is not a supported version (1)");
    CHECK_FALSE(std::filesystem::exists(dir / "t.csv"));
}

TEST_CASE("tech prints defaults that load back, and --tech overrides say so", "[cli]")
{
    test::ScratchDir dir;
    const auto defaults = run_cli({"tech", "--defaults"});
    REQUIRE(defaults.exit_code == 0);
    test::write_text(dir / "tech.json", defaults.out);
    CHECK(run_cli({"tech", "--check", (dir / "tech.json").string()}).exit_code == 0);
    make_levels(dir);
    REQUIRE(run_cli({"map", "--levels", (dir / "levels.json").string(), "--out", (dir / "d.json").string()})
                .exit_code == 0);
    const auto r = run_cli({"convert", "--design", (dir / "d.json").string(), "--mac", "1", "--tech",
                            (dir / "tech.json").string()});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("instead of the one embedded") != std::string::npos);
}

TEST_CASE("non-finite values of numeric flags are usage errors (exit 2) naming the flag", "[cli]")
{
    test::ScratchDir dir;
    make_levels(dir);
    const std::string design = (dir / "design.json").string();
    REQUIRE(run_cli({"map", "--levels", (dir / "levels.json").string(), "--out", design}).exit_code == 0);
    for (const char* value : {"nan", "inf", "-inf", "NaN", "1e400"}) {
        INFO(value);
        const auto convert = run_cli({"convert", "--design", design, "--mac", value});
        CHECK(convert.exit_code == 2);
        CHECK(convert.err.find("nladc convert: --mac") != std::string::npos);
        CHECK(convert.out.empty());
    }
    // Other commands and flags get the same check.
    const auto netlist = run_cli({"netlist", "--design", design, "--mac", "3", "--temp", "nan", "--out",
                                  (dir / "x.cir").string()});
    CHECK(netlist.exit_code == 2);
    CHECK(netlist.err.find("--temp") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "x.cir"));
    const auto synth = run_cli({"synth", "--sigma", "inf", "--out", (dir / "s.npy").string()});
    CHECK(synth.exit_code == 2);
    // A finite value still works.
    CHECK(run_cli({"convert", "--design", design, "--mac", "3"}).exit_code == 0);
}
