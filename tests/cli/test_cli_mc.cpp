// `nladc mc` as a user runs it: determinism across threads and shards, resume after an
// interrupt, corrupted blocks, bad study files, and the SPICE Monte Carlo.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../support.hpp"
#include "studies.hpp"

using namespace nladc;
using test::run_cli;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = NLADC_SOURCE_DIR;

/// The example study on ideal wires (fast trials) with the given trial count and seed 7.
fs::path write_study(const test::ScratchDir& dir, int trials, const std::string& name = "study.json")
{
    nlohmann::json s = test::ideal_wire_study(dir);
    s["trials"] = trials;
    s["seed"] = 7;
    test::write_text(dir / name, s.dump(2));
    return dir / name;
}

std::size_t block_count(const fs::path& dir)
{
    std::size_t n = 0;
    std::error_code ignored;
    for (fs::directory_iterator it(dir / "blocks", ignored), end; it != end; it.increment(ignored))
        n += it->path().extension() == ".csv";
    return n;
}

/// Starts `nladc mc`, waits until `blocks` blocks are on disk, then sends `signal`.
test::CliResult interrupt_after(const std::vector<std::string>& args, const fs::path& out, std::size_t blocks,
                                int signal)
{
    test::CliProcess process(args);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (block_count(out) < blocks && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    process.signal(signal);
    return process.wait();
}

void require_same_results(const fs::path& a, const fs::path& b)
{
    INFO(a.string() << " vs " << b.string());
    const std::string trials_a = test::slurp(a / "trials.csv");
    REQUIRE(!trials_a.empty());
    CHECK(trials_a == test::slurp(b / "trials.csv"));
    CHECK(test::slurp(a / "summary.json") == test::slurp(b / "summary.json"));
}

/// The example study on the checked-in 3-bit design (the SPICE Monte Carlo tests).
nlohmann::json three_bit_study()
{
    const auto example = run_cli({"mc", "--example-study"});
    REQUIRE(example.exit_code == 0);
    nlohmann::json s = nlohmann::json::parse(example.out);
    s["design"] = (kSource / "netlists" / "bskmq3_design.json").string();
    return s;
}

/// Lines of an error report ("nladc: ..."), as opposed to progress notes.
std::size_t error_lines(const std::string& err)
{
    std::size_t n = 0;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) n += line.rfind("nladc: ", 0) == 0;
    return n;
}

}  // namespace

TEST_CASE("mc: 10000 trials are byte-identical for 1, 2 and 4 threads and for 4 merged shards", "[cli][montecarlo]")
{
    test::ScratchDir dir;
    const fs::path study = write_study(dir, 10000);
    for (const char* threads : {"1", "2", "4"}) {
        const auto r = run_cli({"mc", "--study", study.string(), "--threads", threads, "--out",
                                (dir / (std::string("t") + threads)).string()});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
    require_same_results(dir / "t1", dir / "t2");
    require_same_results(dir / "t1", dir / "t4");
    // Trial rows: a header and one line per trial.
    CHECK(test::count_lines(test::slurp(dir / "t1" / "trials.csv")) == 10001);

    std::vector<std::string> merge = {"mc", "merge"};
    for (int shard = 1; shard <= 4; ++shard) {
        const std::string out = (dir / fmt::format("s{}", shard)).string();
        const auto r = run_cli({"mc", "--study", study.string(), "--threads", "2", "--shard",
                                fmt::format("{}/4", shard), "--out", out});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        merge.push_back(out);
    }
    merge.insert(merge.end(), {"--out", (dir / "merged").string()});
    const auto merged = run_cli(merge);
    INFO(merged.err);
    REQUIRE(merged.exit_code == 0);
    require_same_results(dir / "t1", dir / "merged");

    SECTION("merging an incomplete set of shards names the missing trials")
    {
        const auto partial = run_cli({"mc", "merge", (dir / "s1").string(), (dir / "s2").string(), (dir / "s4").string(), "--out",
                                      (dir / "partial").string()});
        CHECK(partial.exit_code == 1);
        INFO(partial.err);
        // Blocks 2, 6, 10, ... belong to shard 3/4 (block b to shard b % 4 + 1).
        CHECK(partial.err.find("block 2 (block_000002.csv)") != std::string::npos);
        CHECK(partial.err.find("shard 3/4") != std::string::npos);
        CHECK(test::count_lines(partial.err) == 1);
        CHECK_FALSE(fs::exists(dir / "partial" / "trials.csv"));
    }
    SECTION("shards of two different studies are refused, naming both directories")
    {
        const auto other = run_cli({"mc", "--study", study.string(), "--seed", "8", "--threads", "2", "--shard", "2/4",
                                    "--out", (dir / "other2").string()});
        REQUIRE(other.exit_code == 0);
        const auto mixed = run_cli({"mc", "merge", (dir / "s1").string(), (dir / "other2").string(),
                                    (dir / "s3").string(), (dir / "s4").string(), "--out", (dir / "mixed").string()});
        CHECK(mixed.exit_code == 1);
        INFO(mixed.err);
        CHECK(mixed.err.find((dir / "s1").string()) != std::string::npos);
        CHECK(mixed.err.find((dir / "other2").string()) != std::string::npos);
        CHECK(test::count_lines(mixed.err) == 1);
        CHECK_FALSE(fs::exists(dir / "mixed" / "trials.csv"));
    }
    SECTION("another seed gives other numbers")
    {
        const auto r = run_cli({"mc", "--study", study.string(), "--seed", "8", "--trials", "1000", "--out",
                                (dir / "seed8").string()});
        REQUIRE(r.exit_code == 0);
        CHECK(test::slurp(dir / "seed8" / "trials.csv") != test::slurp(dir / "t1" / "trials.csv"));
    }
}

TEST_CASE("mc: a study interrupted by SIGINT or SIGKILL resumes to the uninterrupted result", "[cli][montecarlo]")
{
    test::ScratchDir dir;
    const fs::path study = write_study(dir, 40000);
    const auto whole = run_cli({"mc", "--study", study.string(), "--out", (dir / "whole").string()});
    INFO(whole.err);
    REQUIRE(whole.exit_code == 0);

    for (int signal : {SIGINT, SIGKILL}) {
        INFO("signal " << signal);
        const fs::path out = dir / fmt::format("sig{}", signal);
        const std::vector<std::string> args = {"mc", "--study", study.string(), "--threads", "2", "--out",
                                               out.string()};
        const auto stopped = interrupt_after(args, out, 3, signal);
        CHECK(stopped.exit_code == 128 + signal);
        const std::size_t done = block_count(out);
        CHECK(done >= 3);
        CHECK(done < 80);  // stopped midway, not at the end
        CHECK_FALSE(fs::exists(out / "trials.csv"));

        const auto resumed = run_cli(args);
        INFO(resumed.err);
        REQUIRE(resumed.exit_code == 0);
        // The rerun reused the finished blocks instead of redoing them.
        CHECK(resumed.out.find(std::to_string(done) + " reused") != std::string::npos);
        require_same_results(dir / "whole", out);
    }
}

TEST_CASE("mc: a corrupted block is rejected on resume, naming the file", "[cli][montecarlo]")
{
    test::ScratchDir dir;
    const fs::path study = write_study(dir, 2000);
    const std::vector<std::string> args = {"mc", "--study", study.string(), "--out", (dir / "out").string()};
    REQUIRE(run_cli(args).exit_code == 0);
    const fs::path block = dir / "out" / "blocks" / "block_000001.csv";
    const std::string original = test::slurp(block);
    REQUIRE(!original.empty());

    SECTION("one digit changed")
    {
        std::string edited = original;
        const std::size_t digit = edited.find_first_of("123456789", edited.find('\n') + 1);
        edited[digit] = edited[digit] == '9' ? '8' : static_cast<char>(edited[digit] + 1);
        test::write_text(block, edited);
    }
    SECTION("checksum line removed")
    {
        test::write_text(block, original.substr(0, original.rfind("# sha256")));
    }
    SECTION("truncated")
    {
        test::write_text(block, original.substr(0, original.size() / 2));
    }
    const auto rerun = run_cli(args);
    INFO(rerun.err);
    CHECK(rerun.exit_code == 1);
    CHECK(rerun.err.find("block_000001.csv") != std::string::npos);
    CHECK(error_lines(rerun.err) == 1);
    // The finished results were not overwritten by the failed rerun.
    CHECK_FALSE(test::slurp(dir / "out" / "trials.csv").empty());
}

TEST_CASE("mc: bad study files and flags fail with the key and value, creating nothing", "[cli][montecarlo][errors]")
{
    test::ScratchDir dir;
    const fs::path study = write_study(dir, 100);
    const nlohmann::json good = nlohmann::json::parse(test::slurp(study));
    struct Case {
        std::string what, needle;
        nlohmann::json study;
    };
    std::vector<Case> cases;
    {
        auto s = good;
        s["variation"]["program_sigma_uS"] = 1.0;
        cases.push_back({"unknown variation key", "program_sigma_uS", s});
    }
    {
        auto s = good;
        s["technology_overrides"]["device.read_noise_sigma_S"] = -1e-7;
        cases.push_back({"negative sigma", "device.read_noise_sigma_S", s});
    }
    {
        auto s = good;
        s["technology_overrides"]["device.g_min_S"] = 1e-4;
        cases.push_back({"an override that is not a variation key", "device.g_min_S", s});
    }
    {
        auto s = good;
        s["version"] = 1;
        s.erase("technology_overrides");
        s["variation"]["read_noise_sigma_S"] = -1e-7;
        cases.push_back({"negative sigma in a version-1 file", "read_noise_sigma_S", s});
    }
    {
        auto s = good;
        s["trials"] = 0;
        cases.push_back({"zero trials", "trials", s});
    }
    {
        auto s = good;
        s["trim"]["policy"] = "magic";
        cases.push_back({"unknown trim policy", "magic", s});
    }
    {
        auto s = good;
        s["design"] = (dir / "missing.json").string();
        cases.push_back({"missing design file", "missing.json", s});
    }
    {
        auto s = good;
        s["version"] = 3;
        cases.push_back({"a later format version", "version: 3 is not a supported version (1 to 2)", s});
    }
    for (const Case& c : cases) {
        INFO(c.what);
        test::write_text(dir / "bad.json", c.study.dump(2));
        const auto r = run_cli({"mc", "--study", (dir / "bad.json").string(), "--out", (dir / "never").string()});
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find(c.needle) != std::string::npos);
        CHECK(error_lines(r.err) == 1);
        CHECK_FALSE(fs::exists(dir / "never"));
    }
    for (const std::string shard : {"5/4", "0/4", "1/0", "x"}) {
        INFO(shard);
        const auto r =
            run_cli({"mc", "--study", study.string(), "--shard", shard, "--out", (dir / "never").string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(shard) != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "never"));
    }
    SECTION("a directory holding another study is not mixed into")
    {
        REQUIRE(run_cli({"mc", "--study", study.string(), "--out", (dir / "used").string()}).exit_code == 0);
        const auto r = run_cli({"mc", "--study", study.string(), "--seed", "99", "--out", (dir / "used").string()});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("used") != std::string::npos);
    }
}

TEST_CASE("mc: seeds use the whole unsigned 64-bit range", "[cli][montecarlo]")
{
    test::ScratchDir dir;
    const auto study = write_study(dir, 200);
    nlohmann::json s = nlohmann::json::parse(test::slurp(study));
    s["seed"] = 18446744073709551615ull;
    test::write_text(dir / "top.json", s.dump(2));
    const auto top = run_cli({"mc", "--study", (dir / "top.json").string(), "--out", (dir / "top").string()});
    INFO(top.err);
    REQUIRE(top.exit_code == 0);
    // The same seed given on the command line names the same study: the rerun reuses it.
    const auto again = run_cli({"mc", "--study", study.string(), "--seed", "18446744073709551615", "--out",
                                (dir / "top").string()});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    const auto low = run_cli({"mc", "--study", study.string(), "--out", (dir / "low").string()});
    REQUIRE(low.exit_code == 0);
    CHECK(test::slurp(dir / "top" / "trials.csv") != test::slurp(dir / "low" / "trials.csv"));
    CHECK(nlohmann::json::parse(test::slurp(dir / "top" / "summary.json")).dump().find("18446744073709551615") !=
          std::string::npos);
}

TEST_CASE("mc --example-study runs as printed", "[cli][montecarlo]")
{
    test::ScratchDir dir;
    const auto example = run_cli({"mc", "--example-study"});
    REQUIRE(example.exit_code == 0);
    test::write_text(dir / "example.json", example.out);
    const auto r = run_cli({"mc", "--study", (dir / "example.json").string(), "--trials", "300", "--out",
                            (dir / "out").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(test::count_lines(test::slurp(dir / "out" / "trials.csv")) == 301);
    // Progress with rate and ETA goes to stderr, results to stdout.
    CHECK(r.err.find("ETA") != std::string::npos);
    CHECK(r.out.find("yield") != std::string::npos);
    const nlohmann::json summary = nlohmann::json::parse(test::slurp(dir / "out" / "summary.json"));
    CHECK(summary.at("trials") == 300);
    const double before = summary.at("yield_before_trim"), after = summary.at("yield_after_trim");
    CHECK(after >= before);
    CHECK(fs::file_size(dir / "out" / "yield.png") > 1000);
}

TEST_CASE("mc --spice: behavioral and SPICE transition levels on the same sampled chips", "[cli][montecarlo][ngspice][slow]")
{
    test::ScratchDir dir;
    // 10 transistor-level chips (139-152 s on two workers): the two models see the same chips, so their
    // sigmas are compared on identical samples and 10 suffice.
    constexpr int chips = 10;
    nlohmann::json s = three_bit_study();
    s["trials"] = chips;
    s["seed"] = 3;
    test::write_text(dir / "study.json", s.dump(2));
    const auto r = run_cli({"mc", "--study", (dir / "study.json").string(), "--spice", std::to_string(chips), "--out",
                            (dir / "out").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const nlohmann::json spice = nlohmann::json::parse(test::slurp(dir / "out" / "spice_mc.json"));
    CHECK(spice.at("trials") == chips);
    CHECK(spice.at("max_difference_lsb").get<double>() <= 0.1);
    REQUIRE(spice.at("thresholds").size() == 7);

    // Per threshold: the chip-to-chip spread agrees, and the two models move together chip by
    // chip (the variation reaches SPICE through the written netlists, not only the mean).
    std::map<int, std::vector<std::pair<double, double>>> pairs;
    std::istringstream csv(test::slurp(dir / "out" / "spice_mc.csv"));
    std::string line;
    std::getline(csv, line);
    CHECK(line == "trial,k,behavioral,spice,difference_lsb");
    while (std::getline(csv, line)) {
        int trial = 0, k = 0;
        double behavioral = 0, spice_value = 0;
        REQUIRE(std::sscanf(line.c_str(), "%d,%d,%lf,%lf", &trial, &k, &behavioral, &spice_value) == 4);
        pairs[k].emplace_back(behavioral, spice_value);
        double difference_lsb = 0;
        REQUIRE(std::sscanf(line.c_str(), "%*d,%*d,%*f,%*f,%lf", &difference_lsb) == 1);
        CHECK(std::abs(difference_lsb) <= 0.2);
    }
    REQUIRE(pairs.size() == 7);
    for (const auto& th : spice.at("thresholds")) {
        const int k = th.at("k");
        INFO("T" << k);
        const double b = th.at("behavioral_sigma_lsb"), sp = th.at("spice_sigma_lsb");
        CHECK(sp > 0.01);
        // Acceptance: sigma within 15 % of each other or within 0.02 LSB, whichever is larger.
        CHECK(std::abs(b - sp) <= std::max(0.15 * std::max(b, sp), 0.02));
        const auto& v = pairs.at(k);
        REQUIRE(v.size() == chips);
        double mb = 0, ms = 0;
        for (const auto& [x, y] : v) mb += x, ms += y;
        mb /= chips, ms /= chips;
        double sxy = 0, sxx = 0, syy = 0;
        for (const auto& [x, y] : v) sxy += (x - mb) * (y - ms), sxx += (x - mb) * (x - mb), syy += (y - ms) * (y - ms);
        CHECK(sxy / std::sqrt(sxx * syy) >= 0.95);
    }
    CHECK(fs::file_size(dir / "out" / "spice_mc.png") > 1000);
}

TEST_CASE("mc --spice: SPICE chips split over shards merge to the one-process files", "[cli][montecarlo][ngspice][slow]")
{
    test::ScratchDir dir;
    nlohmann::json s = three_bit_study();
    s["trials"] = 4;
    s["block_size"] = 2;  // two blocks: two shards
    s["seed"] = 3;
    test::write_text(dir / "study.json", s.dump(2));
    const std::string study = (dir / "study.json").string();
    const auto one = run_cli({"mc", "--study", study, "--spice", "2", "--out", (dir / "one").string()});
    INFO(one.err);
    REQUIRE(one.exit_code == 0);
    // Two shards side by side, one ngspice worker each: chip 0 in shard 1, chip 1 in shard 2.
    test::CliProcess first({"mc", "--study", study, "--spice", "2", "--shard", "1/2", "--spice-workers", "1", "--out",
                            (dir / "s1").string()});
    test::CliProcess second({"mc", "--study", study, "--spice", "2", "--shard", "2/2", "--spice-workers", "1", "--out",
                             (dir / "s2").string()});
    for (auto* process : {&first, &second}) {
        const auto r = process->wait();
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("1 SPICE chips") != std::string::npos);
    }
    CHECK(fs::exists(dir / "s1" / "spice" / "chip_000000.json"));
    CHECK(fs::exists(dir / "s2" / "spice" / "chip_000001.json"));
    CHECK_FALSE(fs::exists(dir / "s1" / "spice" / "chip_000001.json"));

    SECTION("merge names the shard whose chip is missing")
    {
        const auto partial = run_cli({"mc", "merge", (dir / "s1").string(), (dir / "s2").string(), "--out",
                                      (dir / "partial").string()});
        REQUIRE(partial.exit_code == 0);  // every block is there ...
        fs::remove(dir / "s2" / "spice" / "chip_000001.json");
        const auto missing = run_cli({"mc", "merge", (dir / "s1").string(), (dir / "s2").string(), "--out",
                                      (dir / "missing").string()});
        CHECK(missing.exit_code == 1);  // ... but not every chip
        INFO(missing.err);
        CHECK(missing.err.find("SPICE chip 1") != std::string::npos);
        CHECK(missing.err.find("shard 2/2") != std::string::npos);
        CHECK_FALSE(fs::exists(dir / "missing" / "spice_mc.json"));
    }
    SECTION("merged: the same trials and SPICE files as one process")
    {
        const auto merged = run_cli({"mc", "merge", (dir / "s1").string(), (dir / "s2").string(), "--out",
                                     (dir / "merged").string()});
        INFO(merged.err);
        REQUIRE(merged.exit_code == 0);
        CHECK(merged.out.find("SPICE Monte Carlo: 2 trials") != std::string::npos);
        for (const char* file : {"trials.csv", "spice_mc.csv", "spice_mc.json"}) {
            INFO(file);
            CHECK(test::slurp(dir / "merged" / file) == test::slurp(dir / "one" / file));
        }
    }
}

TEST_CASE("mc --spice: a chip whose worker is killed on both attempts is reported failed, the study goes on",
          "[cli][montecarlo][ngspice][slow]")
{
    // Fault injection: a wrapper around the real worker that SIGKILLs itself 0.4 s after
    // starting, for the first 10 worker starts; the chips simulated meanwhile fail.
    test::ScratchDir dir;
    test::write_text(dir / "kills", "10\n");
    test::write_text(dir / "worker.sh", fmt::format(R"(#!/bin/sh
exec 9>'{0}/lock'
flock 9
n=$(cat '{0}/kills')
if [ "$n" -gt 0 ]; then echo $((n-1)) > '{0}/kills'; (sleep 0.4; kill -9 $$) & fi
exec 9>&-
exec '{1}' "$@"
)",
                                                    dir.path().string(), NLADC_SPICE_WORKER_PATH));
    fs::permissions(dir / "worker.sh", fs::perms::owner_all);
    nlohmann::json s = three_bit_study();
    s["trials"] = 3;
    test::write_text(dir / "study.json", s.dump(2));
    ::setenv("NLADC_SPICE_WORKER", (dir / "worker.sh").c_str(), 1);
    const auto r = run_cli({"mc", "--study", (dir / "study.json").string(), "--spice", "3", "--out", (dir / "out").string()});
    ::unsetenv("NLADC_SPICE_WORKER");
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(test::slurp(dir / "kills") == "0\n");
    const nlohmann::json spice = nlohmann::json::parse(test::slurp(dir / "out" / "spice_mc.json"));
    const auto& failed = spice.at("failed_trials");
    REQUIRE(failed.size() >= 1);
    CHECK(failed.size() < 3);
    for (const auto& f : failed) {
        CHECK(f.at("error").get<std::string>().find("SIGKILL") != std::string::npos);
        CHECK(f.at("error").get<std::string>().find("attempt 2 of 2") != std::string::npos);
    }
    // The chips after the failure were simulated: 7 thresholds each.
    CHECK(test::count_lines(test::slurp(dir / "out" / "spice_mc.csv")) == 1 + 7 * (3 - failed.size()));
    CHECK(r.out.find("failed (left out)") != std::string::npos);
}

TEST_CASE("mc --spice: SIGINT during the SPICE trials stops after the current chip, behavioral results kept",
          "[cli][montecarlo][ngspice]")
{
    test::ScratchDir dir;
    nlohmann::json s = three_bit_study();
    s["trials"] = 20;
    test::write_text(dir / "study.json", s.dump(2));
    const std::vector<std::string> args = {"mc", "--study", (dir / "study.json").string(), "--spice", "20", "--out",
                                           (dir / "out").string()};
    {
        test::CliProcess process(args);
        // The behavioral part is done when summary.json exists; then the SPICE chips run.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (!fs::exists(dir / "out" / "summary.json") && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const auto started = std::chrono::steady_clock::now();
        process.signal(SIGINT);
        const auto stopped = process.wait();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        INFO(stopped.err);
        CHECK(stopped.exit_code == 130);
        CHECK(stopped.err.find("interrupted during the SPICE trials") != std::string::npos);
        CHECK(seconds < 60);  // one chip, not the remaining 19 (about 6 s each)
        CHECK_FALSE(fs::exists(dir / "out" / "spice_mc.json"));
        // The chip that finished is kept for the rerun (chip records, montecarlo/spice_mc.hpp).
        CHECK(fs::exists(dir / "out" / "spice" / "chip_000000.json"));
        CHECK_FALSE(fs::exists(dir / "out" / "spice" / "chip_000019.json"));
        CHECK(fs::exists(dir / "out" / "trials.csv"));
    }
}
