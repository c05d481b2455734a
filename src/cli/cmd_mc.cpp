// Monte Carlo commands: mc, mc merge.
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <tuple>

#include "cli.hpp"
#include "nladc/core/error.hpp"
#include "nladc/steps/mc.hpp"

namespace nladc::cli {

namespace {

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM: finish the current blocks and stop

extern "C" void request_stop(int) { g_stop = true; }

bool g_bar_open = false;  // a progress bar is on the current stderr line

/// "\r  4500/10000 trials [#####-----] 1234/s  ETA 4 s" on stderr.
void progress_bar(std::uint64_t done, std::uint64_t total, double seconds)
{
    const double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int width = 30, filled = static_cast<int>(fraction * width);
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    std::cerr << fmt::format("\r  {}/{} trials [{}{}] {:.0f}/s  ETA {:.0f} s   ", done, total, std::string(filled, '#'),
                             std::string(width - filled, '-'), rate, eta)
              << std::flush;
    g_bar_open = true;
}

}  // namespace

Command add_mc(CLI::App& parent)
{
    struct Flags {
        std::string study, out, shard = "1/1";
        int trials = 0, threads = 0, spice = -1;
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
    CLI::App* merge = app->add_subcommand("merge", "Assemble trials.csv and summary.json from shard directories");
    merge->add_option("dirs", flags->merge_dirs, "Study directories holding the shards' blocks")->required();
    merge->add_option("--out", flags->merge_out, "Output directory (default: the first)");
    return {app, [flags, merge] {
                if (merge->parsed()) {
                    const std::string out = flags->merge_out.empty() ? flags->merge_dirs.front() : flags->merge_out;
                    steps::run_mc_merge({flags->merge_dirs.begin(), flags->merge_dirs.end()}, out);
                    std::cout << fmt::format("merged {} directories into {}/trials.csv and summary.json\n",
                                             flags->merge_dirs.size(), out);
                    return;
                }
                if (flags->example) {
                    std::cout << io::dump_json(io::study_to_json(StudySpec{}));
                    return;
                }
                if (flags->out.empty()) throw UsageError("mc: --out DIR is required");
                steps::McRequest request;
                request.spec = flags->study.empty() ? StudySpec{} : io::read_study(flags->study);
                StudySpec& spec = request.spec;
                if (flags->trials_option->count()) spec.trials = flags->trials;
                if (flags->seed_option->count()) spec.seed = flags->seed;
                if (flags->spice >= 0) spec.spice.trials = flags->spice;
                std::tie(request.shard, request.shards) = steps::parse_shard(flags->shard);
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
                    std::cerr << fmt::format("nladc: mc interrupted: {} of {} blocks done; rerun the same command to resume\n",
                                             outcome.blocks_done_before + outcome.blocks_run, outcome.blocks_total);
                    std::exit(130);
                }
                if (!outcome.complete) {
                    std::cout << fmt::format("shard {}/{} done ({} blocks); run the other shards, then `nladc mc merge`\n",
                                             request.shard, request.shards, outcome.blocks_run);
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
                    if (result.spice->interrupted) {
                        std::cerr << "nladc: mc interrupted during the SPICE trials (the behavioral results are "
                                     "complete); rerun the same command to redo the SPICE trials\n";
                        std::exit(130);
                    }
                    std::cout << fmt::format("SPICE Monte Carlo: {} trials, max |T_behav - T_spice| = {:.4f} LSB; wrote "
                                             "spice_mc.csv, spice_mc.json, spice_mc.png\n",
                                             result.spice->trials.size(), result.spice->max_difference_lsb);
                    for (const auto& [trial, error] : result.spice->failed)
                        std::cout << fmt::format("SPICE trial {} failed (left out): {}\n", trial, error);
                }
            }};
}

}  // namespace nladc::cli
