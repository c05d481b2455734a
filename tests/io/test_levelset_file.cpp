// Level-set files: round trip, multi-layer files, and validation errors naming the place.
#include <catch2/catch.hpp>

#include "../support.hpp"
#include "nladc/core/error.hpp"
#include "nladc/documents/levelset_file.hpp"

using namespace nladc;

namespace {

io::LevelSetRecord sample_record()
{
    io::LevelSetRecord record;
    LevelSet& set = record.set;
    set.bits = 2;
    set.lo = 0;
    set.hi = 6;
    set.levels = {0, 1.25, 3.5, 6};
    set.thresholds = midpoint_thresholds(set.levels);
    set.method = "bs-kmq";
    set.variant = "drop-pin";
    set.parameters = {{"pinned", 2}};
    record.input = DataProvenance{"acts.npy", "", 100, 0, "abc"};
    return record;
}

std::string message_of(const std::filesystem::path& file)
{
    try {
        io::read_levelset(file);
    } catch (const InputError& error) {
        return error.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("level sets round-trip through JSON exactly", "[io]")
{
    test::ScratchDir dir;
    const auto record = sample_record();
    io::write_levelsets(dir / "l.json", {{"", record}});
    const auto back = io::read_levelset(dir / "l.json");
    CHECK(back.set.levels == record.set.levels);
    CHECK(back.set.thresholds == record.set.thresholds);
    CHECK(back.set.lo == 0);
    CHECK(back.set.hi == 6);
    CHECK(back.set.method == "bs-kmq");
    CHECK(back.input->sha256 == "abc");
    const std::string text = test::slurp(dir / "l.json");
    CHECK(text.find("\"lsb\": 1.5") != std::string::npos);
    CHECK(text.find("/tmp") == std::string::npos);  // no absolute paths
}

TEST_CASE("multi-layer level-set files", "[io]")
{
    test::ScratchDir dir;
    io::write_levelsets(dir / "m.json", {{"fc1", sample_record()}, {"fc2", sample_record()}});
    CHECK(io::levelset_layers(dir / "m.json") == std::vector<std::string>{"fc1", "fc2"});
    CHECK(io::read_levelset(dir / "m.json", "fc2").set.bits == 2);
    CHECK_THROWS_WITH(io::read_levelset(dir / "m.json"), Catch::Contains("--layer"));
    CHECK_THROWS_WITH(io::read_levelset(dir / "m.json", "fc3"), Catch::Contains("no layer \"fc3\""));
}

TEST_CASE("invalid level sets are rejected with file, key and value", "[io]")
{
    test::ScratchDir dir;
    const auto file = dir / "bad.json";
    test::write_text(file, R"({"bits": 2, "range": [0, 6], "levels": [0, 3, 2, 6], "thresholds": [1, 2.5, 4]})");
    CHECK(message_of(file) == file.string() + ": levels[2]: 2 is not above levels[1] = 3");
    test::write_text(file, R"({"bits": 2, "range": [0, 6], "levels": [0, 1, 2], "thresholds": [1, 2.5, 4]})");
    CHECK(message_of(file).find("levels: has 3 values, 2 bits need 4") != std::string::npos);
    test::write_text(file, R"({"bits": 2, "range": [0, 6], "levels": [0, 1, 2, "x"], "thresholds": [1, 2, 3]})");
    CHECK(message_of(file).find("levels[3]: \"x\" is not a number") != std::string::npos);
    test::write_text(file, R"({"bits": 2, "range": [0, 6], "levles": [0, 1, 2, 3], "thresholds": [1, 2, 3]})");
    CHECK(message_of(file).find("unknown key \"levles\" (did you mean \"levels\"?)") != std::string::npos);
    test::write_text(file, "{\"bits\": 2,\n \"range\": [0, 6,\n}");
    CHECK(message_of(file).find(": line 3, column 1: invalid JSON") != std::string::npos);
    test::write_text(file, R"({"bits": 17, "range": [0, 6], "levels": [], "thresholds": []})");
    CHECK(message_of(file).find("bits: 17 is outside [1, 16]") != std::string::npos);
    test::write_text(file, R"({"format": "nladc-levelset", "version": 2, "bits": 2})");
    CHECK(message_of(file) == file.string() + ": version: 2 is not a supported version (1)");
    test::write_text(file, R"({"format": "nladc-design", "bits": 2})");
    CHECK(message_of(file) == file.string() + ": format: \"nladc-design\" is not \"nladc-levelset\"");
    CHECK(message_of(dir / "missing.json").find("cannot open") != std::string::npos);
}

TEST_CASE("integers too large for their field are errors, not wrapped values", "[io]")
{
    test::ScratchDir dir;
    const auto file = dir / "big.json";
    // 2^32 + 2 would have become bits = 2 through a cast to int.
    test::write_text(file, R"({"bits": 4294967298, "range": [0, 6], "levels": [0, 1, 2, 3], "thresholds": [1, 2, 3]})");
    CHECK(message_of(file) == file.string() + ": bits: 4294967298 is outside [1, 16]");
    test::write_text(file, R"({"bits": 2, "range": [0, 6], "levels": [0, 1, 2, 6], "thresholds": [0.5, 1.5, 4],
                               "empty_codes": [4294967297]})");
    CHECK(message_of(file) == file.string() + ": empty_codes[0]: 4294967297 is outside [-2147483648, 2147483647]");
    test::write_text(file, R"({"bits": 18446744073709551615, "range": [0, 6], "levels": [], "thresholds": []})");
    CHECK(message_of(file) ==
          file.string() + ": bits: 18446744073709551615 is too large (at most 9223372036854775807)");
}

TEST_CASE("counts use the whole unsigned 64-bit range", "[io]")
{
    test::ScratchDir dir;
    const auto file = dir / "counts.json";
    test::write_text(file, R"({"bits": 2, "range": [0, 6], "levels": [0, 1, 2, 6], "thresholds": [0.5, 1.5, 4],
                               "input": {"samples": 18446744073709551615, "dropped_nonfinite": 9223372036854775808}})");
    const io::LevelSetRecord record = io::read_levelset(file);
    REQUIRE(record.input.has_value());
    CHECK(record.input->samples == 18446744073709551615ull);
    CHECK(record.input->dropped_nonfinite == 9223372036854775808ull);
    test::write_text(file, R"({"bits": 2, "range": [0, 6], "levels": [0, 1, 2, 6], "thresholds": [0.5, 1.5, 4],
                               "input": {"samples": -1}})");
    CHECK(message_of(file) == file.string() + ": input.samples: -1 is negative");
}
