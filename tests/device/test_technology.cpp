// Technology files: defaults, validation with key and value, round trip, reference table.
#include <catch2/catch.hpp>

#include "../support.hpp"
#include "nladc/core/error.hpp"
#include "nladc/documents/technology_file.hpp"

using namespace nladc;

namespace {
std::string error_of(const std::string& text)
{
    test::ScratchDir dir;
    test::write_text(dir / "tech.json", text);
    try {
        io::read_technology(dir / "tech.json");
    } catch (const InputError& error) {
        return error.what();
    }
    return "no error";
}
}  // namespace

TEST_CASE("default technology is valid and round-trips through JSON", "[device]")
{
    const Technology defaults;
    CHECK(find_technology_violation(defaults).first.empty());
    test::ScratchDir dir;
    test::write_text(dir / "t.json", io::dump_json(io::technology_to_json(defaults)));
    const Technology back = io::read_technology(dir / "t.json");
    CHECK(io::technology_to_json(back) == io::technology_to_json(defaults));
    CHECK(back.device.g_min_S == 100e-6);  // ReADC window
    CHECK(back.device.program_sigma_S == 2.73e-6);
    CHECK(back.array.v_read_V == 0.2);
}

TEST_CASE("technology errors name the key and the value", "[device]")
{
    CHECK_THAT(error_of(R"({"device": {"g_mxa_S": 1e-4}})"),
               Catch::Contains("device.g_mxa_S: unknown key \"g_mxa_S\" (did you mean \"g_max_S\"?)"));
    CHECK_THAT(error_of(R"({"device": {"g_min_S": 5e-4}})"),
               Catch::Contains("device.g_min_S: 0.0005 S is not below device.g_max_S = 0.0004 S"));
    CHECK_THAT(error_of(R"({"device": {"g_min_S": -1e-6}})"), Catch::Contains("device.g_min_S: -1e-06 S is outside"));
    CHECK_THAT(error_of(R"({"array": {"input_encoding": "phase"}})"),
               Catch::Contains("array.input_encoding: \"phase\" is not one of: amplitude, pulse-width"));
    CHECK_THAT(error_of(R"({"array": {"rows": 2.5}})"), Catch::Contains("array.rows: 2.5 is not an integer"));
    CHECK_THAT(error_of(R"({"counter": {"early_stop": 1}})"), Catch::Contains("counter.early_stop: 1 is not true or false"));
    CHECK_THAT(error_of(R"({"wires": {}})"), Catch::Contains("unknown key \"wires\""));
    CHECK_THAT(error_of(R"({"array": {"replica_column": 1}})"), Catch::Contains("collides with the MAC pair"));
}

TEST_CASE("the reference table documents every key once", "[device]")
{
    const std::string table = io::describe_technology();
    for (const auto* key : {"`device.g_min_S`", "`device.program_sigma_S`", "`array.wire_resistance_ohm`",
                            "`sense.opamp_gain`", "`comparator.kickback_charge_C`", "`counter.clock_hz`"})
        CHECK(table.find(key) != std::string::npos);
    const auto rows = test::count_lines(table) - 2;
    CHECK(rows == device_table().size() + array_table().size() + sense_table().size() + comparator_table().size() +
                      counter_table().size() + spice_table().size());
}

TEST_CASE("docs/technology.md is the current reference table", "[device]")
{
    const std::string page = test::slurp(std::filesystem::path(NLADC_SOURCE_DIR) / "docs" / "technology.md");
    CHECK(page.find(io::describe_technology()) != std::string::npos);
}
