// The level-design commands as a user runs them: exit codes, one-line errors
// naming file and place, and no output file left behind on failure.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "../support.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/io/activations.hpp"

using namespace nladc;
using test::run_cli;

namespace {

std::filesystem::path small_mix(const test::ScratchDir& dir)
{
    SyntheticSpec spec;
    spec.samples = 20000;
    const auto values = generate_synthetic(spec);
    io::write_npy(dir / "acts.npy", values, {values.size()});
    return dir / "acts.npy";
}

/// Checks a failed run: the exit code, a single stderr line containing `needle`, no output.
void check_failure(const test::CliResult& result, int code, const std::string& needle,
                   const std::filesystem::path& output)
{
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == code);
    CHECK(test::count_lines(result.err) == 1);
    CHECK(result.err.find(needle) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(output));
}

}  // namespace

TEST_CASE("nladc levels writes a valid level set and reports it", "[cli]")
{
    test::ScratchDir dir;
    const auto input = small_mix(dir);
    const auto out = dir / "levels.json";
    const auto result = run_cli({"levels", "--input", input.string(), "--bits", "4", "--method", "bs-kmq", "--lo",
                                 "0", "--hi", "6", "--out", out.string()});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(result.out.find("bs-kmq/drop-pin 4 bits") != std::string::npos);
    const auto record = io::read_levelset(out);
    CHECK(record.set.levels.size() == 16);
    CHECK(record.input->file == "acts.npy");
    CHECK(record.input->samples == 20000);
    CHECK(record.input->sha256.size() == 64);
    // No temporary files remain next to the output.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
    CHECK(files == 2);
}

TEST_CASE("levels: bits outside 1..16 is a usage error naming the flag and value", "[cli]")
{
    test::ScratchDir dir;
    const auto input = small_mix(dir);
    for (const char* bits : {"0", "17"}) {
        const auto result = run_cli({"levels", "--input", input.string(), "--bits", bits, "--method", "kmeans",
                                     "--out", (dir / "l.json").string()});
        check_failure(result, 2, std::string("--bits: ") + bits + " is outside [1, 16]", dir / "l.json");
    }
}

TEST_CASE("bad activation files give one line naming the file and place, exit 1", "[cli]")
{
    test::ScratchDir dir;
    const auto out = dir / "levels.json";
    auto levels = [&](const std::filesystem::path& input, std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"levels", "--input", input.string(), "--bits", "3",
                                         "--method", "kmeans", "--out", out.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    };

    SECTION("missing file")
    {
        check_failure(levels(dir / "nope.npy"), 1, (dir / "nope.npy").string(), out);
    }
    SECTION("empty file")
    {
        test::write_text(dir / "empty.npy", "");
        check_failure(levels(dir / "empty.npy"), 1, "empty", out);
    }
    SECTION("truncated npy")
    {
        const auto input = small_mix(dir);
        const std::string bytes = test::slurp(input);
        test::write_text(dir / "cut.npy", bytes.substr(0, bytes.size() - 10));
        check_failure(levels(dir / "cut.npy"), 1, "cut.npy", out);
        check_failure(levels(dir / "cut.npy"), 1, "truncated", out);
    }
    SECTION("unsupported dtype")
    {
        std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }";
        const std::size_t total = (10 + header.size() + 1 + 63) / 64 * 64;  // header block is 64-aligned
        header.append(total - 10 - header.size() - 1, ' ');
        header += '\n';
        std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
        bytes += static_cast<char>(header.size() & 0xff);
        bytes += static_cast<char>(header.size() >> 8);
        bytes += header + std::string(32, '\0');
        test::write_text(dir / "int.npy", bytes);
        check_failure(levels(dir / "int.npy"), 1, "'<i8'", out);
    }
    SECTION("NaN names the element; --drop-nonfinite counts it")
    {
        std::vector<float> values = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 0.5f, 1.5f, 2.5f};
        values[7] = std::nanf("");
        io::write_npy(dir / "nan.npy", values, {values.size()});
        check_failure(levels(dir / "nan.npy"), 1, "element 7", out);
        const auto dropped = levels(dir / "nan.npy", {"--drop-nonfinite"});
        CHECK(dropped.exit_code == 0);
        CHECK(dropped.out.find("1 non-finite samples dropped") != std::string::npos);
        CHECK(io::read_levelset(out).input->dropped_nonfinite == 1);
    }
}

TEST_CASE("a failed run leaves an earlier output untouched", "[cli]")
{
    test::ScratchDir dir;
    const auto input = small_mix(dir);
    const auto out = dir / "levels.json";
    REQUIRE(run_cli({"levels", "--input", input.string(), "--bits", "3", "--method", "cdf", "--out", out.string()})
                .exit_code == 0);
    const std::string before = test::slurp(out);
    test::write_text(dir / "empty.csv", "");
    CHECK(run_cli({"levels", "--input", (dir / "empty.csv").string(), "--bits", "3", "--method", "cdf", "--out",
                   out.string()})
              .exit_code == 1);
    CHECK(test::slurp(out) == before);
}

TEST_CASE("nladc score rejects a non-ascending level set with file and place", "[cli]")
{
    test::ScratchDir dir;
    const auto input = small_mix(dir);
    test::write_text(dir / "bad.json",
                     R"({"bits": 2, "range": [0, 6], "levels": [0, 3, 2, 6], "thresholds": [1, 2.5, 4]})");
    const auto result = run_cli({"score", "--levels", (dir / "bad.json").string(), "--input", input.string()});
    CHECK(result.exit_code == 1);
    CHECK(test::count_lines(result.err) == 1);
    CHECK(result.err.find("bad.json: levels[2]: 2 is not above levels[1] = 3") != std::string::npos);
}

TEST_CASE("nladc compare prints every method with ratios and writes CSV and PNG", "[cli]")
{
    test::ScratchDir dir;
    const auto input = small_mix(dir);
    SyntheticSpec spec;
    spec.samples = 20000;
    spec.seed = 99;
    const auto held_out = generate_synthetic(spec);
    io::write_npy(dir / "eval.npy", held_out, {held_out.size()});
    const auto result = run_cli({"compare", "--input", input.string(), "--bits", "3,4", "--eval",
                                 (dir / "eval.npy").string(), "--lo", "0", "--hi", "6", "--csv",
                                 (dir / "c.csv").string(), "--plot", (dir / "c.png").string()});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(result.out.find("Metric: MSE over all samples") != std::string::npos);
    CHECK(result.out.find("eval MSE") != std::string::npos);
    for (const char* label : {"linear/midtread", "linear/floor", "lloyd-max/converged", "lloyd-max/capped",
                              "cdf/equal-probability", "kmeans/exact", "kmeans/lloyd++", "bs-kmq/drop-pin",
                              "bs-kmq/weight", "bs-kmq/cap"})
        CHECK(result.out.find(label) != std::string::npos);
    const std::string csv = test::slurp(dir / "c.csv");
    CHECK(test::count_lines(csv) == 1 + 2 * 10);
    const std::string png = test::slurp(dir / "c.png");
    REQUIRE(png.size() > 1000);
    CHECK(png.substr(1, 3) == "PNG");
}

TEST_CASE("nladc synth and --version", "[cli]")
{
    test::ScratchDir dir;
    const auto result = run_cli({"synth", "--n", "1000", "--zeros", "0.3", "--clamp", "4", "--clamp-frac", "0.1",
                                 "--dist", "uniform", "--seed", "3", "--out", (dir / "s.npy").string()});
    REQUIRE(result.exit_code == 0);
    const auto values = io::read_samples(dir / "s.npy", "", io::NonFinitePolicy::error);
    CHECK(std::count(values.begin(), values.end(), 0.0) == 300);
    CHECK(std::count(values.begin(), values.end(), 4.0) == 100);
    const auto version = run_cli({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.find("0.1.0") != std::string::npos);
    CHECK(run_cli({"levels", "--help"}).exit_code == 0);
    CHECK(run_cli({"frobnicate"}).exit_code == 2);
}
