#pragma once
// A Monte Carlo study as Slurm jobs: the job scripts, the plan file that remembers what
// was submitted, and the three Slurm commands nladc calls (sbatch, squeue, scancel).
// steps/slurm.hpp decides what to submit; docs/montecarlo.md ("On a Slurm cluster")
// shows a generated script line by line.
//
// Layout of a study directory DIR run through Slurm:
//   DIR/slurm/study.json      the study every task runs (paths absolute, overrides applied)
//   DIR/slurm/array.sh        the job array: task i runs shard i of N into DIR/shards/i
//   DIR/slurm/merge.sh        the merge job: `nladc mc merge DIR/shards/1 .. N --out DIR`
//   DIR/slurm/plan.json       the split, the job options and every submission's job ids
//   DIR/slurm/logs/           shard-<i>.log and merge.log (appended on resubmission)
//   DIR/shards/<i>/           shard i's blocks (and SPICE chips), resumable
//   DIR/trials.csv, ...       the merged results, as `nladc mc` writes them

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nladc::slurm {

/// How the jobs ask for resources. Units as sbatch takes them.
struct JobOptions {
    int tasks = 1;          ///< array tasks, one shard each
    int cpus_per_task = 1;  ///< passed on to each task as --threads and --spice-workers
    std::string partition;  ///< "" = the cluster's default partition
    std::string account;    ///< "" = the user's default account
    std::string time_limit; ///< per task, as sbatch --time takes it ("30", "2:00:00", "1-0"); "" = the partition's
    std::vector<std::string> extra_lines;  ///< further "#SBATCH ..." lines ("#SBATCH " is added when missing)
    /// "#SBATCH ..." lines for the merge job only, after the shared ones (a later line wins):
    /// the merge needs memory in proportion to the trials (docs/scale.md), a task does not.
    std::vector<std::string> merge_lines;
};

/// One sbatch round: the array (all shards, or the incomplete ones) and its merge job.
struct Submission {
    std::string array_job;    ///< "" when every shard was complete and only the merge ran
    std::vector<int> shards;  ///< the array's task ids = shard numbers
    std::string merge_job;
    std::vector<std::string> merge_after;  ///< the merge's afterok jobs: the array, earlier tasks still running
    std::int64_t submitted_unix = 0;
};

struct Plan {
    std::filesystem::path out;         ///< absolute study directory
    std::filesystem::path executable;  ///< absolute path of the nladc the scripts call
    std::string study_hash;
    JobOptions jobs;
    std::vector<Submission> submissions;

    std::filesystem::path slurm_dir() const { return out / "slurm"; }
    std::filesystem::path study_file() const { return slurm_dir() / "study.json"; }
    std::filesystem::path array_script() const { return slurm_dir() / "array.sh"; }
    std::filesystem::path merge_script() const { return slurm_dir() / "merge.sh"; }
    std::filesystem::path plan_file() const { return slurm_dir() / "plan.json"; }
    std::filesystem::path shard_dir(int shard) const { return out / "shards" / std::to_string(shard); }
    /// Job names carry the study hash, so squeue finds this study's jobs and no other's.
    std::string array_name() const { return "nladc-mc-" + study_hash.substr(0, 12); }
    std::string merge_name() const { return "nladc-merge-" + study_hash.substr(0, 12); }
};

/// The job array's script and the merge job's (documented in docs/montecarlo.md).
std::string array_script(const Plan& plan);
std::string merge_script(const Plan& plan);

/// plan.json (format "nladc-slurm-plan", version 1).
void write_plan(const Plan& plan);
/// Throws InputError naming the file and key; "... not found" when DIR holds no plan.
Plan read_plan(const std::filesystem::path& out);

/// Throws UsageError when a path cannot be written into a job script unquoted and into an
/// #SBATCH line (whitespace, quotes, $, `, \, %): Slurm's directive parser and its
/// filename patterns would misread it.
void check_script_path(const std::filesystem::path& path);

/// `sbatch --parsable [options] script`; returns the job id. Throws Error with sbatch's
/// own message when it refuses, or when sbatch is not installed.
std::string submit(const std::filesystem::path& script, const std::vector<std::string>& options);

/// A job or array task Slurm still holds pending or running.
struct QueuedJob {
    std::string id;     ///< "12" or, for an array task, "12_3"
    std::string name;
    std::string state;  ///< PENDING, RUNNING, ...
    int array_task = -1;  ///< the task id of an array task, else -1
};
/// squeue's jobs with any of these names (array tasks one by one).
std::vector<QueuedJob> queued_jobs(const std::vector<std::string>& names);

/// scancel; throws Error with its message when it fails.
void cancel(const std::string& job_id);

}  // namespace nladc::slurm
