// `nladc mc --slurm` without a Slurm: the job scripts it writes are run by bash with the
// variables Slurm would set, and what they produce must equal a one-process run. The
// same scripts under a real Slurm: tests/slurm/run.sh (ctest label `slurm`).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "../support.hpp"
#include "studies.hpp"
#include "nladc/cluster/slurm.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/process.hpp"

using namespace nladc;
using test::run_cli;
namespace fs = std::filesystem;

namespace {

/// The example study on ideal wires (fast trials) with small blocks, so four shards get
/// several blocks each; its technology path relative to the study file, which the Slurm
/// study must turn into an absolute one.
fs::path write_study(const test::ScratchDir& dir, int trials)
{
    nlohmann::json s = test::ideal_wire_study(dir);
    s["technology"] = "tech.json";
    s["trials"] = trials;
    s["block_size"] = 100;
    test::write_text(dir / "study.json", s.dump(2));
    return dir / "study.json";
}

/// Runs a generated script as Slurm would, from another working directory.
CommandResult run_script(const fs::path& script, const std::vector<std::string>& environment)
{
    std::vector<std::string> argv = {"env", "-C", "/"};
    argv.insert(argv.end(), environment.begin(), environment.end());
    argv.insert(argv.end(), {"bash", script.string()});
    return run_command(argv);
}

}  // namespace

TEST_CASE("mc --slurm: the job scripts, run as Slurm would run them, give the one-process results", "[cli][montecarlo][slurm]")
{
    test::ScratchDir dir;
    const fs::path study = write_study(dir, 1000);
    const fs::path out = dir / "slurm";
    const auto written = run_cli({"mc", "--study", study.string(), "--seed", "7", "--slurm", "--tasks", "4",
                                  "--cpus-per-task", "2", "--partition", "short", "--time", "0:30:00",
                                  "--sbatch=--mem=2G", "--merge-sbatch=--mem=8G", "--out", out.string()});
    INFO(written.err);
    REQUIRE(written.exit_code == 0);
    CHECK(written.out.find("submit with:") != std::string::npos);

    const std::string array = test::slurp(out / "slurm" / "array.sh");
    const std::string merge = test::slurp(out / "slurm" / "merge.sh");
    CHECK(array.find("#SBATCH --array=1-4\n") != std::string::npos);
    CHECK(array.find("#SBATCH --cpus-per-task=2\n") != std::string::npos);
    CHECK(array.find("#SBATCH --partition=short\n") != std::string::npos);
    CHECK(array.find("#SBATCH --time=0:30:00\n") != std::string::npos);
    CHECK(array.find("#SBATCH --mem=2G\n") != std::string::npos);
    // By the absolute path of the nladc that wrote them.
    CHECK(array.find("exec " + fs::canonical(NLADC_CLI_PATH).string() + " mc --study ") != std::string::npos);
    CHECK(merge.find("#SBATCH --cpus-per-task=1\n") != std::string::npos);
    // The merge's own memory line comes after the shared one, so it wins.
    CHECK(merge.find("#SBATCH --mem=2G\n#SBATCH --mem=8G\n") != std::string::npos);
    CHECK(array.find("--mem=8G") == std::string::npos);
    for (const char* script : {"array.sh", "merge.sh"}) {
        INFO(script);
        CHECK(run_command({"bash", "-n", (out / "slurm" / script).string()}).exit_code == 0);
        CHECK((fs::status(out / "slurm" / script).permissions() & fs::perms::owner_exec) != fs::perms::none);
    }
    const nlohmann::json plan = nlohmann::json::parse(test::slurp(out / "slurm" / "plan.json"));
    CHECK(plan["tasks"] == 4);
    CHECK(plan["submissions"].empty());
    const nlohmann::json task_study = nlohmann::json::parse(test::slurp(out / "slurm" / "study.json"));
    CHECK(task_study["seed"] == 7);
    CHECK(fs::path(task_study["technology"].get<std::string>()).is_absolute());

    // The array's tasks in a scrambled order (Slurm promises none), then the merge job.
    for (int task : {3, 1, 4, 2}) {
        const CommandResult r = run_script(out / "slurm" / "array.sh", {fmt::format("SLURM_ARRAY_TASK_ID={}", task),
                                                                        "SLURM_CPUS_PER_TASK=2"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find(fmt::format("shard {}/4 done", task)) != std::string::npos);
    }
    const CommandResult merged = run_script(out / "slurm" / "merge.sh", {});
    INFO(merged.err);
    REQUIRE(merged.exit_code == 0);

    const auto single = run_cli({"mc", "--study", study.string(), "--seed", "7", "--out", (dir / "one").string()});
    REQUIRE(single.exit_code == 0);
    const std::string trials = test::slurp(dir / "one" / "trials.csv");
    REQUIRE(test::count_lines(trials) == 1001);
    CHECK(test::slurp(out / "trials.csv") == trials);
    CHECK(test::slurp(out / "summary.json") == test::slurp(dir / "one" / "summary.json"));

    SECTION("preparing again for the same study keeps the plan; another study is refused")
    {
        const auto again = run_cli({"mc", "--study", study.string(), "--seed", "7", "--slurm", "--tasks", "4",
                                    "--out", out.string()});
        CHECK(again.exit_code == 0);
        const auto other = run_cli({"mc", "--study", study.string(), "--seed", "8", "--slurm", "--tasks", "4",
                                    "--out", out.string()});
        CHECK(other.exit_code == 1);
        CHECK(other.err.find("holds the Slurm plan of another study") != std::string::npos);
    }
}

TEST_CASE("mc --slurm: bad requests fail with one line before anything is written", "[cli][montecarlo][slurm][errors]")
{
    test::ScratchDir dir;
    const fs::path study = write_study(dir, 1000);  // 10 blocks of 100
    auto fails = [&](std::vector<std::string> args, const std::string& expected, int code) {
        const auto r = run_cli(args);
        INFO(r.err);
        CHECK(r.exit_code == code);
        CHECK(r.err.find(expected) != std::string::npos);
        CHECK(test::count_lines(r.err) == 1);
    };
    fails({"mc", "--study", study.string(), "--slurm", "--tasks", "11", "--out", (dir / "a").string()},
          "--tasks 11 exceeds the study's 10 blocks", 2);
    fails({"mc", "--study", study.string(), "--slurm", "--tasks", "2", "--out", (dir / "with space").string()},
          "cannot go into a Slurm job script", 2);
    fails({"mc", "--study", study.string(), "--slurm", "--shard", "1/2", "--out", (dir / "b").string()}, "drop --shard", 2);
    fails({"mc", "--study", study.string(), "--submit", "--out", (dir / "c").string()}, "--submit needs --slurm", 2);
    fails({"mc", "--resubmit", (dir / "nothing").string()}, "not found: the directory was not prepared by `nladc mc --slurm`", 1);
    for (const char* name : {"a", "with space", "b", "c"}) CHECK_FALSE(fs::exists(dir / name));

    // A plan whose nladc is gone: resubmitted tasks would run another binary than the first.
    slurm::Plan plan;
    plan.out = dir / "gone";
    plan.executable = dir / "no-such-nladc";
    plan.study_hash = std::string(64, 'b');
    plan.jobs.tasks = 2;
    slurm::write_plan(plan);
    test::write_text(plan.study_file(), "{}");
    fails({"mc", "--resubmit", plan.out.string()}, "no-such-nladc, no longer exists", 1);
}

TEST_CASE("slurm: plan files round-trip and are checked", "[montecarlo][slurm]")
{
    test::ScratchDir dir;
    slurm::Plan plan;
    plan.out = dir.path() / "study";
    plan.executable = "/usr/local/bin/nladc";
    plan.study_hash = std::string(64, 'a');
    plan.jobs.tasks = 3;
    plan.jobs.cpus_per_task = 4;
    plan.jobs.account = "lab";
    plan.jobs.extra_lines = {"--mem=1G", "#SBATCH --qos=low"};
    plan.jobs.merge_lines = {"--mem=9G"};
    plan.submissions.push_back({"41", {1, 2, 3}, "42", {"41"}, 1700000000});
    plan.submissions.push_back({"44", {2}, "45", {"44", "41_3"}, 1700000100});
    slurm::write_plan(plan);
    const slurm::Plan back = slurm::read_plan(plan.out);
    CHECK(back.executable == plan.executable);
    CHECK(back.jobs.tasks == 3);
    CHECK(back.jobs.cpus_per_task == 4);
    CHECK(back.jobs.account == "lab");
    CHECK(back.jobs.extra_lines == plan.jobs.extra_lines);
    CHECK(back.jobs.merge_lines == plan.jobs.merge_lines);
    REQUIRE(back.submissions.size() == 2);
    CHECK(back.submissions[0].shards == std::vector<int>{1, 2, 3});
    CHECK(back.submissions[1].merge_job == "45");
    CHECK(back.submissions[1].merge_after == std::vector<std::string>{"44", "41_3"});
    const std::string array = test::slurp(plan.array_script());
    CHECK(array.find("#SBATCH --mem=1G\n#SBATCH --qos=low\n") != std::string::npos);
    CHECK(array.find("#SBATCH --job-name=nladc-mc-aaaaaaaaaaaa\n") != std::string::npos);

    nlohmann::json edited = nlohmann::json::parse(test::slurp(plan.plan_file()));
    edited["tasks"] = 0;
    test::write_text(plan.plan_file(), edited.dump());
    try {
        slurm::read_plan(plan.out);
        FAIL("a plan with 0 tasks was accepted");
    } catch (const InputError& e) {
        CHECK(e.file() == plan.plan_file().string());
        CHECK(std::string(e.what()).find("tasks") != std::string::npos);
    }
}

TEST_CASE("run_command captures output and exit status, and names a program it cannot start", "[core]")
{
    const CommandResult ok = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
    CHECK(ok.exit_code == 3);
    CHECK(ok.out == "out\n");
    CHECK(ok.err == "err\n");
    // More than a pipe buffer on both streams at once must not deadlock.
    const CommandResult big = run_command({"sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"});
    CHECK(big.out.size() == 300000);
    CHECK(big.err.size() == 300000);
    CHECK(run_command({"sh", "-c", "kill -TERM $$"}).exit_code == 128 + 15);
    try {
        run_command({"nladc-no-such-program"});
        FAIL("a missing program was run");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("nladc-no-such-program") != std::string::npos);
    }
}
