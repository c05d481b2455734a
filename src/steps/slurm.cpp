// Steps `mc --slurm` and `mc --resubmit` (steps/slurm.hpp).
#include "nladc/steps/slurm.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iterator>
#include <thread>

#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/montecarlo/engine.hpp"
#include "nladc/montecarlo/spice_mc.hpp"

namespace nladc::steps {

namespace fs = std::filesystem;

namespace {

/// The array tasks among a study's queued jobs.
std::vector<slurm::QueuedJob> queued_tasks(const std::vector<slurm::QueuedJob>& jobs, const slurm::Plan& plan)
{
    std::vector<slurm::QueuedJob> tasks;
    for (const auto& job : jobs)
        if (job.name == plan.array_name() && job.array_task >= 1) tasks.push_back(job);
    return tasks;
}

/// Jobs as "12_3 (RUNNING)".
std::vector<std::string> describe(const std::vector<slurm::QueuedJob>& jobs)
{
    std::vector<std::string> out;
    for (const auto& job : jobs) out.push_back(fmt::format("{} ({})", job.id, job.state));
    return out;
}

/// Submits the array (the given shards; none = skip it) and the merge job after it and
/// after `running` (array tasks of an earlier submission still queued or running).
slurm::Submission submit_round(const slurm::Plan& plan, const std::vector<int>& shards,
                               const std::vector<std::string>& running = {})
{
    slurm::Submission submission;
    submission.shards = shards;
    std::vector<std::string> after = running;
    if (!shards.empty()) {
        submission.array_job = slurm::submit(plan.array_script(), {fmt::format("--array={}", fmt::join(shards, ","))});
        after.insert(after.begin(), submission.array_job);
    }
    submission.merge_after = after;
    std::vector<std::string> merge_options;
    if (!after.empty())
        merge_options = {fmt::format("--dependency=afterok:{}", fmt::join(after, ":")), "--kill-on-invalid-dep=yes"};
    submission.merge_job = slurm::submit(plan.merge_script(), merge_options);
    submission.submitted_unix = static_cast<std::int64_t>(std::time(nullptr));
    return submission;
}

bool shard_complete(const slurm::Plan& plan, const StudySpec& spec, int shard)
{
    const fs::path dir = plan.shard_dir(shard);
    std::error_code ec;
    if (!fs::exists(dir / "study.json", ec)) return false;
    if (!missing_blocks(spec, dir, shard, plan.jobs.tasks).empty()) return false;
    return spec.spice.trials == 0 || missing_spice_chips(spec, dir, shard, plan.jobs.tasks).empty();
}

}  // namespace

SlurmResult prepare_slurm(const SlurmRequest& request)
{
    StudySpec spec = request.spec;
    slurm::Plan plan;
    plan.out = fs::absolute(request.out).lexically_normal();
    plan.executable = fs::absolute(request.executable).lexically_normal();
    plan.jobs = request.jobs;
    slurm::check_script_path(plan.out);
    slurm::check_script_path(plan.executable);
    if (plan.jobs.tasks < 1) throw UsageError(fmt::format("--tasks {}: expected at least 1", plan.jobs.tasks));
    if (plan.jobs.cpus_per_task < 1)
        throw UsageError(fmt::format("--cpus-per-task {}: expected at least 1", plan.jobs.cpus_per_task));
    if (static_cast<std::uint64_t>(plan.jobs.tasks) > block_count(spec))
        throw UsageError(fmt::format("--tasks {} exceeds the study's {} blocks of {} trials; use fewer tasks or a "
                                     "smaller block_size in the study",
                                     plan.jobs.tasks, block_count(spec), spec.block_size));
    if (spec.spice.trials > spec.trials)
        throw UsageError(fmt::format("--spice {} exceeds the {} trials", spec.spice.trials, spec.trials));
    // The tasks run elsewhere, in another working directory: every input by absolute path.
    for (std::string* path : {&spec.design, &spec.technology, &spec.calibration, &spec.activations})
        if (!path->empty()) *path = fs::absolute(*path).lexically_normal().string();
    if (request.note) request.note("mc --slurm: checking the study (design, activations)");
    plan.study_hash = load_study_inputs(spec)->study_hash;

    std::error_code ec;
    if (fs::exists(plan.plan_file(), ec)) {
        const slurm::Plan previous = slurm::read_plan(plan.out);
        if (previous.study_hash != plan.study_hash)
            throw Error(fmt::format("{} holds the Slurm plan of another study (study_hash {} vs {}); use a new directory",
                                    plan.out.string(), previous.study_hash.substr(0, 12), plan.study_hash.substr(0, 12)));
        plan.submissions = previous.submissions;
        if (request.submit) {
            const auto queued = slurm::queued_jobs({plan.array_name(), plan.merge_name()});
            if (!queued.empty())
                throw Error(fmt::format("{}: this study already has jobs in the queue: {}; wait for them, or use "
                                        "`nladc mc --resubmit {}`",
                                        plan.out.string(), fmt::join(describe(queued), ", "), plan.out.string()));
        }
    }
    fs::create_directories(plan.out / "shards", ec);
    if (ec) throw OutputError((plan.out / "shards").string(), ec.message());
    fs::create_directories(plan.slurm_dir(), ec);
    if (ec) throw OutputError(plan.slurm_dir().string(), ec.message());
    io::write_file_atomic(plan.study_file(), io::dump_json(io::study_to_json(spec)));
    slurm::write_plan(plan);

    SlurmResult result;
    if (request.submit) {
        std::vector<int> shards;
        for (int shard = 1; shard <= plan.jobs.tasks; ++shard) shards.push_back(shard);
        result.submission = submit_round(plan, shards);
        plan.submissions.push_back(*result.submission);
        slurm::write_plan(plan);
    }
    result.plan = plan;
    return result;
}

ResubmitResult resubmit_slurm(const fs::path& out, const Progress& note)
{
    ResubmitResult result;
    result.plan = slurm::read_plan(out);
    slurm::Plan& plan = result.plan;
    const StudySpec spec = io::read_study(plan.study_file());
    // The tasks already run call this executable; a resubmitted task must run the same one.
    std::error_code ec;
    if (!fs::exists(plan.executable, ec))
        throw Error(fmt::format("{}: the nladc its job scripts call, {}, no longer exists; restore it, or start the "
                                "study again with `nladc mc --slurm` in a new directory",
                                plan.plan_file().string(), plan.executable.string()));

    // A task that is COMPLETING (just cancelled, or finishing) may still end either way:
    // wait until Slurm has settled it, so that its shard is judged by its files.
    std::vector<slurm::QueuedJob> queued;
    for (int attempt = 0;; ++attempt) {
        queued = slurm::queued_jobs({plan.array_name(), plan.merge_name()});
        const bool settling = std::any_of(queued.begin(), queued.end(),
                                          [](const slurm::QueuedJob& job) { return job.state == "COMPLETING"; });
        if (!settling) break;
        if (attempt == 240)
            throw Error(fmt::format("{}: jobs of this study have been COMPLETING for 2 minutes: {}; try again later",
                                    plan.out.string(), fmt::join(describe(queued), ", ")));
        if (attempt == 0 && note) note("mc --resubmit: waiting for COMPLETING tasks to end");
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    const std::vector<slurm::QueuedJob> running = queued_tasks(queued, plan);
    std::vector<int> running_shards;  // the task id is the shard
    for (const auto& task : running) {
        running_shards.push_back(task.array_task);
        result.running_tasks.push_back(task.id);
    }
    std::vector<slurm::QueuedJob> merges;
    std::copy_if(queued.begin(), queued.end(), std::back_inserter(merges),
                 [&plan](const slurm::QueuedJob& job) { return job.name == plan.merge_name(); });
    // The merge jobs waiting in the queue depend on the old array, which can no longer
    // succeed as a whole (a task was cancelled or failed): they are stale. The new merge
    // job waits for the resubmitted shards and for the old tasks still running.
    for (const auto& job : merges) {
        if (note) note(fmt::format("mc --resubmit: cancelling the stale merge job {} ({})", job.id, job.state));
        slurm::cancel(job.id);
        result.cancelled_merge_jobs.push_back(job.id);
    }
    for (int shard = 1; shard <= plan.jobs.tasks; ++shard) {
        const bool running = std::find(running_shards.begin(), running_shards.end(), shard) != running_shards.end();
        if (!running && !shard_complete(plan, spec, shard)) result.incomplete_shards.push_back(shard);
    }
    if (note && !running.empty())
        note(fmt::format("mc --resubmit: still queued or running, not resubmitted: {}", fmt::join(describe(running), ", ")));
    if (note)
        note(result.incomplete_shards.empty()
                 ? std::string("mc --resubmit: no incomplete shard to resubmit; submitting the merge job")
                 : fmt::format("mc --resubmit: shards {} of {} are incomplete", fmt::join(result.incomplete_shards, ","),
                               plan.jobs.tasks));
    result.submission = submit_round(plan, result.incomplete_shards, result.running_tasks);
    plan.submissions.push_back(result.submission);
    slurm::write_plan(plan);
    return result;
}

}  // namespace nladc::steps
