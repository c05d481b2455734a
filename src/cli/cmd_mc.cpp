// Monte Carlo commands: mc, mc merge.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <tuple>

#include "cli.hpp"
#include "nladc/core/error.hpp"
#include "nladc/steps/mc.hpp"
#include "nladc/steps/slurm.hpp"

namespace nladc::cli {

namespace {

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM: finish the current blocks and stop

extern "C" void request_stop(int) { g_stop = true; }

bool g_bar_open = false;  // a progress bar is on the current stderr line

/// "\r  4500/10000 trials [#####-----] 1234/s  ETA 4 s" on stderr; into a file (a Slurm
/// task's log) one plain line every 10 s instead of a bar redrawn five times a second.
void progress_bar(std::uint64_t done, std::uint64_t total, double seconds)
{
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    static const bool terminal = ::isatty(2) != 0;
    if (!terminal) {
        static double last = -1e9;
        if (done < total && seconds - last < 10.0) return;
        last = seconds;
        std::cerr << fmt::format("  {}/{} trials, {:.0f} s, {:.0f}/s, ETA {:.0f} s\n", done, total, seconds, rate, eta)
                  << std::flush;
        return;
    }
    const double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int width = 30, filled = static_cast<int>(fraction * width);
    std::cerr << fmt::format("\r  {}/{} trials [{}{}] {:.0f}/s  ETA {:.0f} s   ", done, total, std::string(filled, '#'),
                             std::string(width - filled, '-'), rate, eta)
              << std::flush;
    g_bar_open = true;
}

void print_spice(const SpiceMcResult& spice)
{
    std::cout << fmt::format("SPICE Monte Carlo: {} trials, max |T_behav - T_spice| = {:.4f} LSB; wrote "
                             "spice_mc.csv, spice_mc.json, spice_mc.png\n",
                             spice.trials.size(), spice.max_difference_lsb);
    for (const auto& [trial, error] : spice.failed)
        std::cout << fmt::format("SPICE trial {} failed (left out): {}\n", trial, error);
}

void print_submission(const slurm::Submission& submission, const slurm::Plan& plan)
{
    if (!submission.array_job.empty())
        std::cout << fmt::format("submitted array job {} (shards {} of {})\n", submission.array_job,
                                 fmt::join(submission.shards, ","), plan.jobs.tasks);
    std::cout << fmt::format("submitted merge job {}{}; results in {}, logs in {}\n", submission.merge_job,
                             submission.merge_after.empty() ? std::string()
                                                            : fmt::format(" (afterok:{})", fmt::join(submission.merge_after, ":")),
                             plan.out.string(), (plan.slurm_dir() / "logs").string());
}

}  // namespace

Command add_mc(CLI::App& parent)
{
    struct Flags {
        std::string study, out, shard = "1/1";
        int trials = 0, threads = 0, spice = -1, spice_workers = 0;
        bool slurm = false, submit = false;
        std::string resubmit;
        slurm::JobOptions jobs;
        std::uint64_t seed = 0;
        bool example = false;
        CLI::Option *trials_option = nullptr, *seed_option = nullptr;
        std::vector<std::string> merge_dirs;
        std::string merge_out;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("mc", "Monte Carlo variation study (docs/montecarlo.md)");
    app->add_option("--study", flags->study, "Study JSON (default: every default; see --example-study)");
    app->add_option("--out", flags->out, "Output directory (rerun to resume)");
    app->add_flag("--example-study", flags->example, "Print a complete example study (every key, its default) and exit");
    flags->trials_option = app->add_option("--trials", flags->trials, "Override the study's trial count")->check(int_range(1, 1000000000));
    flags->seed_option = app->add_option("--seed", flags->seed, "Override the study's seed");
    app->add_option("--threads", flags->threads, "Threads (default: all cores)")->check(int_range(1, 4096));
    app->add_option("--shard", flags->shard, "Run shard i of N (1 <= i <= N); merge with `nladc mc merge`");
    app->add_option("--spice", flags->spice, "Also run the first N trials in SPICE (overrides spice.trials)")
        ->check(int_range(0, 1000000));
    app->add_option("--spice-workers", flags->spice_workers, "ngspice worker processes (default: the study's spice.workers)")
        ->check(int_range(1, 256));
    // Slurm (docs/montecarlo.md, "On a Slurm cluster").
    app->add_flag("--slurm", flags->slurm, "Write Slurm job scripts into DIR/slurm (a job array of --tasks shards and a merge job)");
    app->add_option("--tasks", flags->jobs.tasks, "With --slurm: array tasks, one shard each")->check(int_range(1, 100000));
    app->add_flag("--submit", flags->submit, "With --slurm: submit the array and the merge job (sbatch)");
    app->add_option("--partition", flags->jobs.partition, "With --slurm: #SBATCH --partition");
    app->add_option("--account", flags->jobs.account, "With --slurm: #SBATCH --account");
    app->add_option("--time", flags->jobs.time_limit, "With --slurm: #SBATCH --time per task (e.g. 30, 2:00:00)");
    app->add_option("--cpus-per-task", flags->jobs.cpus_per_task,
                    "With --slurm: #SBATCH --cpus-per-task, passed on as --threads and --spice-workers")
        ->check(int_range(1, 4096));
    app->add_option("--sbatch", flags->jobs.extra_lines, "With --slurm: an extra #SBATCH line (repeatable), e.g. --sbatch=--mem=4G");
    app->add_option("--merge-sbatch", flags->jobs.merge_lines,
                    "With --slurm: an extra #SBATCH line for the merge job only (repeatable), e.g. --merge-sbatch=--mem=16G");
    app->add_option("--resubmit", flags->resubmit,
                    "Submit again the incomplete shards of a study run with --slurm --submit, and its merge job");
    CLI::App* merge = app->add_subcommand("merge", "Assemble trials.csv and summary.json from shard directories");
    merge->add_option("dirs", flags->merge_dirs, "Study directories holding the shards' blocks")->required();
    merge->add_option("--out", flags->merge_out, "Output directory (default: the first)");
    return {app, [flags, merge] {
                if (merge->parsed()) {
                    const std::string out = flags->merge_out.empty() ? flags->merge_dirs.front() : flags->merge_out;
                    const steps::MergeResult merged = steps::run_mc_merge({flags->merge_dirs.begin(), flags->merge_dirs.end()}, out);
                    std::cout << fmt::format("merged {} directories into {}/trials.csv and summary.json\n",
                                             flags->merge_dirs.size(), out);
                    if (merged.spice) print_spice(*merged.spice);
                    return;
                }
                if (flags->example) {
                    std::cout << io::dump_json(io::study_to_json(StudySpec{}));
                    return;
                }
                if (!flags->resubmit.empty()) {
                    const steps::ResubmitResult result = steps::resubmit_slurm(flags->resubmit, note);
                    for (const std::string& id : result.cancelled_merge_jobs) std::cout << "cancelled stale merge job " << id << "\n";
                    print_submission(result.submission, result.plan);
                    return;
                }
                if (flags->out.empty()) throw UsageError("mc: --out DIR is required");
                steps::McRequest request;
                request.spec = flags->study.empty() ? StudySpec{} : io::read_study(flags->study);
                StudySpec& spec = request.spec;
                if (flags->trials_option->count()) spec.trials = flags->trials;
                if (flags->seed_option->count()) spec.seed = flags->seed;
                if (flags->spice >= 0) spec.spice.trials = flags->spice;
                if (flags->slurm) {
                    if (flags->shard != "1/1") throw UsageError("mc: --slurm splits the study itself; drop --shard");
                    steps::SlurmRequest slurm_request;
                    slurm_request.spec = spec;
                    slurm_request.out = flags->out;
                    slurm_request.jobs = flags->jobs;
                    slurm_request.submit = flags->submit;
                    slurm_request.executable = std::filesystem::read_symlink("/proc/self/exe");
                    slurm_request.note = note;
                    const steps::SlurmResult result = steps::prepare_slurm(slurm_request);
                    std::cout << fmt::format("wrote {} and {} ({} tasks, study {})\n", result.plan.array_script().string(),
                                             result.plan.merge_script().string(), result.plan.jobs.tasks,
                                             result.plan.study_hash.substr(0, 12));
                    if (result.submission)
                        print_submission(*result.submission, result.plan);
                    else
                        std::cout << fmt::format("submit with: nladc mc --study {} --slurm --tasks {} --submit --out {} "
                                                 "(or sbatch the scripts yourself)\n",
                                                 result.plan.study_file().string(), result.plan.jobs.tasks,
                                                 result.plan.out.string());
                    return;
                }
                if (flags->submit) throw UsageError("mc: --submit needs --slurm");
                std::tie(request.shard, request.shards) = steps::parse_shard(flags->shard);
                request.spice_workers = flags->spice_workers;
                request.out = flags->out;
                request.threads = flags->threads;
                request.stop = &g_stop;
                request.progress = progress_bar;
                request.spice_progress = [](int done, int total) {
                    std::cerr << fmt::format("\r  SPICE trial {}/{}   ", done, total) << std::flush;
                    g_bar_open = true;
                };
                request.note = [](const std::string& message) {
                    if (g_bar_open) std::cerr << "\n";
                    g_bar_open = false;
                    note(message);
                };
                std::signal(SIGINT, request_stop);
                std::signal(SIGTERM, request_stop);
                const steps::McResult result = steps::run_mc(request);
                if (g_bar_open) std::cerr << "\n";
                const RunOutcome& outcome = result.outcome;
                if (outcome.interrupted) {
                    std::cerr << fmt::format("nladc: mc interrupted: {} of {} blocks{} done; rerun the same command to resume\n",
                                             outcome.blocks_done_before + outcome.blocks_run, outcome.blocks_in_shard,
                                             request.shards > 1 ? fmt::format(" of shard {}/{}", request.shard, request.shards)
                                                                : std::string());
                    std::exit(130);
                }
                if (result.spice_chips && result.spice_chips->interrupted) {
                    std::cerr << "nladc: mc interrupted during the SPICE trials (the behavioral blocks are complete, "
                                 "finished chips are kept); rerun the same command to resume\n";
                    std::exit(130);
                }
                if (!outcome.complete) {
                    std::cout << fmt::format("shard {}/{} done ({} blocks run{}); run the other shards, then `nladc mc merge`\n",
                                             request.shard, request.shards, outcome.blocks_run,
                                             result.spice_chips ? fmt::format(", {} SPICE chips", result.spice_chips->run) : "");
                    return;
                }
                std::cout << fmt::format("{} trials in {:.1f} s ({} blocks run, {} reused); wrote {}/trials.csv, "
                                         "summary.json, threshold_histograms.png, yield.png\n",
                                         spec.trials, outcome.seconds, outcome.blocks_run, outcome.blocks_done_before,
                                         flags->out);
                std::cout << fmt::format("yield (|INL| <= {:g} LSB, |DNL| <= {:g}, no missing code): {:.2f} % before trim, "
                                         "{:.2f} % after\n",
                                         spec.trim.inl_spec_lsb, spec.trim.dnl_spec, 100 * result.summary->yield_before_trim,
                                         100 * result.summary->yield_after_trim);
                if (result.spice) {
                    print_spice(*result.spice);
                }
            }};
}

}  // namespace nladc::cli
