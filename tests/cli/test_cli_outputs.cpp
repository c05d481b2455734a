// Fault injection on outputs: a path that cannot be written (under a regular file, or
// beyond RLIMIT_FSIZE — CI runs as root, so permissions would not stop it) gives a clear
// error and leaves the earlier output intact, with no temporary file behind.
#include <catch2/catch.hpp>

#include "../support.hpp"

using namespace nladc;
namespace fs = std::filesystem;

namespace {

std::size_t temporaries(const fs::path& dir)
{
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir)) n += entry.path().filename().string().find(".tmp.") != std::string::npos;
    return n;
}

}  // namespace

TEST_CASE("outputs: a write that fails (file size limit) keeps the earlier file and says why", "[cli][errors]")
{
    test::ScratchDir dir;
    REQUIRE(test::run_cli({"synth", "--n", "1000", "--out", (dir / "acts.npy").string()}).exit_code == 0);
    const std::string earlier = test::slurp(dir / "acts.npy");
    // 1e6 samples are 4 MB; the limit allows 64 kB.
    const auto r = test::CliProcess({"synth", "--n", "1000000", "--out", (dir / "acts.npy").string()}, 65536).wait();
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("acts.npy") != std::string::npos);
    CHECK(r.err.find("too large") != std::string::npos);
    CHECK(test::count_lines(r.err) == 1);
    CHECK(test::slurp(dir / "acts.npy") == earlier);
    CHECK(temporaries(dir.path()) == 0);

    // The same for a JSON output and for the Monte Carlo trial blocks.
    REQUIRE(test::run_cli({"levels", "--input", (dir / "acts.npy").string(), "--bits", "3", "--method", "bs-kmq",
                           "--out", (dir / "levels.json").string()})
                .exit_code == 0);
    const std::string levels = test::slurp(dir / "levels.json");
    const auto json = test::CliProcess({"levels", "--input", (dir / "acts.npy").string(), "--bits", "6", "--method",
                                        "bs-kmq", "--out", (dir / "levels.json").string()},
                                       1024)
                          .wait();
    CHECK(json.exit_code == 1);
    CHECK(json.err.find("levels.json") != std::string::npos);
    CHECK(test::slurp(dir / "levels.json") == levels);
    CHECK(temporaries(dir.path()) == 0);
}

TEST_CASE("outputs: a path under a regular file is a clear error for every writer", "[cli][errors]")
{
    test::ScratchDir dir;
    test::write_text(dir / "file", "not a directory\n");
    const std::string under = (dir / "file" / "out").string();
    REQUIRE(test::run_cli({"synth", "--n", "1000", "--out", (dir / "acts.npy").string()}).exit_code == 0);
    const std::vector<std::vector<std::string>> commands = {
        {"synth", "--n", "100", "--out", under + ".npy"},
        {"levels", "--input", (dir / "acts.npy").string(), "--bits", "3", "--method", "linear", "--out", under + ".json"},
        {"mc", "--trials", "10", "--out", under},
        {"flow", "--out", under},
    };
    for (const auto& args : commands) {
        INFO(args.front());
        const auto r = test::run_cli(args);
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find(dir.path().string()) != std::string::npos);
        CHECK(r.err.rfind("nladc") != std::string::npos);
    }
    CHECK(test::slurp(dir / "file") == "not a directory\n");
}
