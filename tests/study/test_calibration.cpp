// nladc calibrate end to end on a small design: the fitted model meets the targets on
// the thresholds, on bisection-checked thresholds, on a second level set and on codes.
#include <catch2/catch.hpp>

#include "../support.hpp"
#include "nladc/io/design_file.hpp"
#include "nladc/io/json.hpp"

using namespace nladc;

TEST_CASE("calibrate: behavioral model within 0.1 LSB of SPICE, report keys present", "[ngspice][calibration][slow]")
{
    test::ScratchDir dir;
    const std::filesystem::path source = NLADC_SOURCE_DIR;
    // The 3-bit example design remapped on 32 rows (quicker to simulate).
    io::DesignRecord record = io::read_design(source / "netlists" / "bskmq3_design.json");
    Technology tech = record.design.tech;
    tech.array.rows = 32;
    tech.sense.capacitance_F = 0.0;
    io::DesignRecord small;
    small.design = map_levels(record.design.levels, tech, {});
    io::write_design(dir / "design.json", small);

    const auto result = test::run_cli({"calibrate", "--design", (dir / "design.json").string(), "--agreement", "40",
                                       "--no-ablation", "--out", (dir / "calibrated.json").string()});
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 0);
    const io::Json report = io::read_json_file(dir / "calibrated.report.json");
    for (const char* key : {"max_threshold_error_lsb_before", "max_threshold_error_lsb_after",
                            "max_threshold_error_lsb_bisection", "max_threshold_error_lsb_validation", "code_agreement",
                            "code_agreement_all", "speedup"})
        CHECK(report.contains(key));
    CHECK(report["max_threshold_error_lsb_after"].get<double>() <= 0.1);
    CHECK(report["max_threshold_error_lsb_after"].get<double>() <= report["max_threshold_error_lsb_before"].get<double>());
    CHECK(report["max_threshold_error_lsb_bisection"].get<double>() <= 0.1);
    CHECK(report["max_fast_extractor_vs_bisection_lsb"].get<double>() <= 0.05);
    CHECK(report["max_threshold_error_lsb_validation"].get<double>() <= 0.2);
    CHECK(report["code_agreement"].get<double>() >= 0.995);
    CHECK(report["speedup"].get<double>() >= 1e4);

    // The calibration is accepted by the evaluation commands.
    const auto transfer = test::run_cli({"transfer", "--design", (dir / "design.json").string(), "--calibration",
                                         (dir / "calibrated.json").string(), "--out", (dir / "t.csv").string()});
    CHECK(transfer.exit_code == 0);
    test::write_text(dir / "bad.json", R"({"format": "nladc-calibration", "parameters": {"ofset_V": 1}})");
    const auto bad = test::run_cli({"transfer", "--design", (dir / "design.json").string(), "--calibration",
                                    (dir / "bad.json").string(), "--out", (dir / "t2.csv").string()});
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("parameters.ofset_V: unknown key") != std::string::npos);
}
