// Slurm job scripts, plan file and commands (cluster/slurm.hpp).
#include "nladc/cluster/slurm.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <sstream>

#include "nladc/core/error.hpp"
#include "nladc/core/process.hpp"
#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/json.hpp"

namespace nladc::slurm {

namespace fs = std::filesystem;

namespace {

std::string directives(const std::vector<std::string>& lines)
{
    std::string text;
    for (const std::string& line : lines) text += (line.rfind("#SBATCH", 0) == 0 ? line : "#SBATCH " + line) + "\n";
    return text;
}

std::string sbatch_lines(const Plan& plan, int cpus)
{
    const JobOptions& jobs = plan.jobs;
    std::string text = fmt::format("#SBATCH --cpus-per-task={}\n", cpus);
    if (!jobs.partition.empty()) text += fmt::format("#SBATCH --partition={}\n", jobs.partition);
    if (!jobs.account.empty()) text += fmt::format("#SBATCH --account={}\n", jobs.account);
    if (!jobs.time_limit.empty()) text += fmt::format("#SBATCH --time={}\n", jobs.time_limit);
    return text + directives(jobs.extra_lines);
}

void write_script(const fs::path& file, const std::string& text)
{
    io::write_file_atomic(file, text);
    if (::chmod(file.c_str(), 0755) != 0) throw OutputError(file.string(), "cannot make it executable");
}

/// The first line of what a Slurm command printed, for a one-line error.
std::string first_line(const std::string& text)
{
    const std::string line = text.substr(0, text.find('\n'));
    return line.empty() ? "(no message)" : line;
}

}  // namespace

void check_script_path(const fs::path& path)
{
    const std::string text = path.string();
    const auto bad = text.find_first_of(" \t\n\"'$`\\%;&|<>*?");
    if (bad != std::string::npos)
        throw UsageError(fmt::format("{}: the character '{}' cannot go into a Slurm job script's #SBATCH lines; "
                                     "choose a path without it",
                                     text, text[bad]));
}

std::string array_script(const Plan& plan)
{
    const int tasks = plan.jobs.tasks;
    std::string text = "#!/bin/bash\n";
    text += fmt::format(
        "# nladc Monte Carlo study {} as a Slurm job array, written by {} (nladc {}).\n"
        "# Array task i runs shard i of {}: the behavioral blocks b with b % {} == i - 1 (and the\n"
        "# SPICE chips t with t % {} == i - 1) into {}/shards/i, resumable. A task stopped by\n"
        "# scancel, its time limit or pre-emption keeps the blocks it finished;\n"
        "# `nladc mc --resubmit {}` submits the incomplete shards again. docs/montecarlo.md.\n",
        plan.study_hash.substr(0, 12), plan.executable.string(), version(), tasks, tasks, tasks, plan.out.string(),
        plan.out.string());
    text += fmt::format("#SBATCH --job-name={}\n", plan.array_name());
    text += fmt::format("#SBATCH --array=1-{}\n", tasks);
    text += fmt::format("#SBATCH --output={}/logs/shard-%a.log\n", plan.slurm_dir().string());
    text += "#SBATCH --open-mode=append\n";
    text += sbatch_lines(plan, plan.jobs.cpus_per_task);
    text += "set -euo pipefail\n";
    text += fmt::format("threads=\"${{SLURM_CPUS_PER_TASK:-{}}}\"\n", plan.jobs.cpus_per_task);
    // exec: scancel's and pre-emption's SIGTERM reach nladc, which finishes nothing half-way.
    text += fmt::format(
        "exec {} mc --study {} --shard \"${{SLURM_ARRAY_TASK_ID}}/{}\" --threads \"$threads\" \\\n"
        "    --spice-workers \"$threads\" --out \"{}/${{SLURM_ARRAY_TASK_ID}}\"\n",
        plan.executable.string(), plan.study_file().string(), tasks, (plan.out / "shards").string());
    return text;
}

std::string merge_script(const Plan& plan)
{
    std::string text = "#!/bin/bash\n";
    text += fmt::format(
        "# Merge job of nladc Monte Carlo study {}: submitted with --dependency=afterok:<array job>\n"
        "# --kill-on-invalid-dep=yes, so it runs once every array task succeeded and is cancelled\n"
        "# when one failed. It writes {}/trials.csv, summary.json and the plots.\n",
        plan.study_hash.substr(0, 12), plan.out.string());
    text += fmt::format("#SBATCH --job-name={}\n", plan.merge_name());
    text += fmt::format("#SBATCH --output={}/logs/merge.log\n", plan.slurm_dir().string());
    text += "#SBATCH --open-mode=append\n";
    text += sbatch_lines(plan, 1);
    text += directives(plan.jobs.merge_lines);
    text += "set -euo pipefail\n";
    text += fmt::format("exec {} mc merge", plan.executable.string());
    for (int shard = 1; shard <= plan.jobs.tasks; ++shard) text += " \\\n    " + plan.shard_dir(shard).string();
    text += fmt::format(" \\\n    --out {}\n", plan.out.string());
    return text;
}

void write_plan(const Plan& plan)
{
    io::OrderedJson j;
    j["format"] = "nladc-slurm-plan";
    j["version"] = 1;
    j["study_hash"] = plan.study_hash;
    j["executable"] = plan.executable.string();
    j["tasks"] = plan.jobs.tasks;
    j["cpus_per_task"] = plan.jobs.cpus_per_task;
    j["partition"] = plan.jobs.partition;
    j["account"] = plan.jobs.account;
    j["time"] = plan.jobs.time_limit;
    j["extra_sbatch"] = plan.jobs.extra_lines;
    j["merge_sbatch"] = plan.jobs.merge_lines;
    j["submissions"] = io::OrderedJson::array();
    for (const Submission& s : plan.submissions)
        j["submissions"].push_back(
            {{"array_job", s.array_job}, {"shards", s.shards}, {"merge_job", s.merge_job}, {"merge_after", s.merge_after},
             {"submitted_unix", s.submitted_unix}});
    std::error_code ec;
    fs::create_directories(plan.slurm_dir() / "logs", ec);
    if (ec) throw OutputError((plan.slurm_dir() / "logs").string(), ec.message());
    write_script(plan.array_script(), array_script(plan));
    write_script(plan.merge_script(), merge_script(plan));
    io::write_file_atomic(plan.plan_file(), io::dump_json(j));
}

Plan read_plan(const fs::path& out)
{
    Plan plan;
    plan.out = fs::absolute(out).lexically_normal();
    const fs::path file = plan.plan_file();
    std::error_code ec;
    if (!fs::exists(file, ec))
        throw InputError(file.string(), "", "not found: the directory was not prepared by `nladc mc --slurm`");
    const io::Json j = io::read_json_file(file);
    const io::JsonPlace place(file.string());
    io::check_format_version(j, place, "nladc-slurm-plan");
    plan.study_hash = io::as_string(io::require(j, place, "study_hash"), place.key("study_hash"));
    plan.executable = io::as_string(io::require(j, place, "executable"), place.key("executable"));
    plan.jobs.tasks = io::as_int(io::require(j, place, "tasks"), place.key("tasks"), 1);
    plan.jobs.cpus_per_task = io::as_int(io::require(j, place, "cpus_per_task"), place.key("cpus_per_task"), 1);
    plan.jobs.partition = io::as_string(io::require(j, place, "partition"), place.key("partition"));
    plan.jobs.account = io::as_string(io::require(j, place, "account"), place.key("account"));
    plan.jobs.time_limit = io::as_string(io::require(j, place, "time"), place.key("time"));
    plan.jobs.extra_lines = io::list_of<std::string>(io::require(j, place, "extra_sbatch"), place.key("extra_sbatch"),
                                                     io::as_string);
    plan.jobs.merge_lines = io::list_of<std::string>(io::require(j, place, "merge_sbatch"), place.key("merge_sbatch"),
                                                     io::as_string);
    const io::Json& submissions = io::require(j, place, "submissions");
    plan.submissions = io::list_of<Submission>(submissions, place.key("submissions"), [](const io::Json& s,
                                                                                          const io::JsonPlace& at) {
        Submission submission;
        submission.array_job = io::as_string(io::require(s, at, "array_job"), at.key("array_job"));
        submission.shards = io::list_of<int>(io::require(s, at, "shards"), at.key("shards"),
                                             [](const io::Json& v, const io::JsonPlace& p) { return io::as_int(v, p, 1); });
        submission.merge_job = io::as_string(io::require(s, at, "merge_job"), at.key("merge_job"));
        submission.merge_after =
            io::list_of<std::string>(io::require(s, at, "merge_after"), at.key("merge_after"), io::as_string);
        submission.submitted_unix = io::as_integer(io::require(s, at, "submitted_unix"), at.key("submitted_unix"));
        return submission;
    });
    return plan;
}

std::string submit(const fs::path& script, const std::vector<std::string>& options)
{
    std::vector<std::string> argv = {"sbatch", "--parsable"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(script.string());
    const CommandResult result = run_command(argv);
    if (result.exit_code != 0)
        throw Error(fmt::format("sbatch {} failed (exit {}): {}", script.string(), result.exit_code,
                                first_line(result.err.empty() ? result.out : result.err)));
    // --parsable prints "<job id>" or "<job id>;<cluster>".
    std::string id = result.out.substr(0, result.out.find_first_of(";\n"));
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
        throw Error(fmt::format("sbatch {}: unexpected output '{}' (expected a job id)", script.string(),
                                first_line(result.out)));
    return id;
}

std::vector<QueuedJob> queued_jobs(const std::vector<std::string>& names)
{
    // -r: one line per array task; %i = job id (12_3 for a task), %j = name, %T = state.
    const CommandResult result =
        run_command({"squeue", "-h", "-r", "-o", "%i|%j|%T", fmt::format("--name={}", fmt::join(names, ","))});
    if (result.exit_code != 0)
        throw Error(fmt::format("squeue failed (exit {}): {}", result.exit_code, first_line(result.err)));
    std::vector<QueuedJob> jobs;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) {
        const auto a = line.find('|'), b = line.rfind('|');
        if (a == std::string::npos || a == b) continue;
        QueuedJob job;
        job.id = line.substr(0, a);
        job.name = line.substr(a + 1, b - a - 1);
        job.state = line.substr(b + 1);
        const auto underscore = job.id.find('_');
        if (underscore != std::string::npos) {
            const std::string task = job.id.substr(underscore + 1);
            if (!task.empty() && task.find_first_not_of("0123456789") == std::string::npos) job.array_task = std::stoi(task);
        }
        jobs.push_back(job);
    }
    return jobs;
}

void cancel(const std::string& job_id)
{
    const CommandResult result = run_command({"scancel", job_id});
    if (result.exit_code != 0)
        throw Error(fmt::format("scancel {} failed (exit {}): {}", job_id, result.exit_code, first_line(result.err)));
}

}  // namespace nladc::slurm
