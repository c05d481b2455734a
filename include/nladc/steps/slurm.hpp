#pragma once
// Steps `mc --slurm` (write a study's Slurm job scripts, optionally submit them) and
// `mc --resubmit` (submit again only what did not finish). cluster/slurm.hpp holds the
// scripts and the Slurm commands; the tasks and the merge job run the ordinary steps
// (steps/mc.hpp), so a study run through Slurm gives the files a one-process run gives.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nladc/cluster/slurm.hpp"
#include "nladc/documents/study_file.hpp"
#include "nladc/steps/common.hpp"

namespace nladc::steps {

struct SlurmRequest {
    StudySpec spec;  ///< as `nladc mc` would run it (command-line overrides applied)
    std::filesystem::path out;
    slurm::JobOptions jobs;
    bool submit = false;
    std::filesystem::path executable;  ///< the nladc the scripts call (made absolute)
    Progress note;
};

struct SlurmResult {
    slurm::Plan plan;
    std::optional<slurm::Submission> submission;  ///< with `submit`
};

/// Checks the study (loads its design and activations), writes DIR/slurm/{study.json,
/// array.sh, merge.sh, plan.json} and, with `submit`, submits the array and its merge job.
/// Throws UsageError for more tasks than the study has blocks, and Error when DIR holds
/// another study's plan or this study still has jobs in the queue.
SlurmResult prepare_slurm(const SlurmRequest& request);

struct ResubmitResult {
    slurm::Plan plan;
    std::vector<int> incomplete_shards;           ///< resubmitted (empty: only the merge job)
    std::vector<std::string> running_tasks;       ///< earlier array tasks still queued or running ("12_3")
    std::vector<std::string> cancelled_merge_jobs;  ///< stale merge jobs of the study
    slurm::Submission submission;
};

/// Cancels the study's merge jobs still waiting (stale: their array can no longer succeed
/// as a whole), submits the shards whose blocks or SPICE chips are incomplete and that no
/// queued or running task of the study is working on, and a merge job that depends on the
/// new array and on those earlier tasks (afterok:<new>:<old>_<i>...), or on nothing when
/// no task is left.
ResubmitResult resubmit_slurm(const std::filesystem::path& out, const Progress& note = {});

}  // namespace nladc::steps
