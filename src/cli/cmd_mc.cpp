// Monte Carlo commands: mc, mc merge.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include "cli.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/montecarlo/engine.hpp"

namespace nladc::cli {

namespace {

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM: finish the current blocks and stop

extern "C" void request_stop(int) { g_stop = true; }

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
}

std::pair<int, int> parse_shard(const std::string& text)
{
    int i = 0, n = 0;
    char slash = 0;
    std::istringstream in(text);
    if (!(in >> i >> slash >> n) || slash != '/' || !in.eof() || n < 1 || i < 1 || i > n)
        throw UsageError(fmt::format("--shard {}: expected i/N with 1 <= i <= N", text));
    return {i, n};
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
                    std::vector<std::filesystem::path> sources(flags->merge_dirs.begin(), flags->merge_dirs.end());
                    merge_blocks(sources, out);
                    std::cout << fmt::format("merged {} directories into {}/trials.csv and summary.json\n",
                                             sources.size(), out);
                    return;
                }
                if (flags->example) {
                    std::cout << io::dump_json(io::study_to_json(StudySpec{}));
                    return;
                }
                if (flags->out.empty()) throw UsageError("mc: --out DIR is required");
                StudySpec spec = flags->study.empty() ? StudySpec{} : io::read_study(flags->study);
                if (flags->trials_option->count()) spec.trials = flags->trials;
                if (flags->seed_option->count()) spec.seed = flags->seed;
                if (flags->spice >= 0) spec.spice.trials = flags->spice;
                if (spec.spice.trials > spec.trials)
                    throw UsageError(fmt::format("--spice {} exceeds the {} trials", spec.spice.trials, spec.trials));
                const auto [shard, shards] = parse_shard(flags->shard);
                const int threads = flags->threads > 0 ? flags->threads
                                                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

                note("mc: preparing the study (design, activations)");
                const auto inputs = load_study_inputs(spec);
                const MonteCarlo engine(inputs);
                std::signal(SIGINT, request_stop);
                std::signal(SIGTERM, request_stop);
                RunOptions options;
                options.threads = threads;
                options.shard = shard;
                options.shards = shards;
                options.stop = &g_stop;
                options.progress = progress_bar;
                note(fmt::format("mc: {} trials (seed {}), shard {}/{}, {} threads, into {}", spec.trials, spec.seed, shard,
                                 shards, threads, flags->out));
                const RunOutcome outcome = run_blocks(engine, flags->out, options);
                std::cerr << "\n";
                {
                    char host[256] = {};
                    ::gethostname(host, sizeof host - 1);
                    io::OrderedJson run;
                    run["nladc_version"] = std::string(version());
                    run["host"] = host;
                    run["threads"] = threads;
                    run["shard"] = flags->shard;
                    run["seconds"] = outcome.seconds;
                    run["blocks_run"] = outcome.blocks_run;
                    run["blocks_present_before"] = outcome.blocks_done_before;
                    run["finished_at_unix"] = static_cast<long long>(std::time(nullptr));
                    io::write_file_atomic(std::filesystem::path(flags->out) / fmt::format("run_{}of{}.json", shard, shards),
                                          io::dump_json(run));
                }
                if (outcome.interrupted) {
                    std::cerr << fmt::format("nladc: mc interrupted: {} of {} blocks done; rerun the same command to resume\n",
                                             outcome.blocks_done_before + outcome.blocks_run, outcome.blocks_total);
                    std::exit(130);
                }
                if (!outcome.complete) {
                    std::cout << fmt::format("shard {}/{} done ({} blocks); run the other shards, then `nladc mc merge`\n",
                                             shard, shards, outcome.blocks_run);
                    return;
                }
                merge_blocks({flags->out}, flags->out);
                std::cout << fmt::format("{} trials in {:.1f} s ({} blocks run, {} reused); wrote {}/trials.csv, "
                                         "summary.json, threshold_histograms.png, yield.png\n",
                                         spec.trials, outcome.seconds, outcome.blocks_run, outcome.blocks_done_before,
                                         flags->out);
                const io::Json summary = io::read_json_file(std::filesystem::path(flags->out) / "summary.json");
                std::cout << fmt::format("yield (|INL| <= {:g} LSB, |DNL| <= {:g}, no missing code): {:.2f} % before trim, "
                                         "{:.2f} % after\n",
                                         spec.trim.inl_spec_lsb, spec.trim.dnl_spec,
                                         100 * summary["yield_before_trim"].get<double>(),
                                         100 * summary["yield_after_trim"].get<double>());
                if (spec.spice.trials > 0) {
                    note(fmt::format("mc: {} trials in SPICE", spec.spice.trials));
                    const SpiceMcResult s = run_spice_mc(
                        engine, spec.spice.trials, flags->out,
                        [](int done, int total) {
                            std::cerr << fmt::format("\r  SPICE trial {}/{}   ", done, total) << std::flush;
                        },
                        &g_stop);
                    std::cerr << "\n";
                    if (s.interrupted) {
                        std::cerr << "nladc: mc interrupted during the SPICE trials (the behavioral results are "
                                     "complete); rerun the same command to redo the SPICE trials\n";
                        std::exit(130);
                    }
                    std::cout << fmt::format("SPICE Monte Carlo: {} trials, max |T_behav - T_spice| = {:.4f} LSB; wrote "
                                             "spice_mc.csv, spice_mc.json, spice_mc.png\n",
                                             s.trials.size(), s.max_difference_lsb);
                    for (const auto& [trial, error] : s.failed)
                        std::cout << fmt::format("SPICE trial {} failed (left out): {}\n", trial, error);
                }
            }};
}

}  // namespace nladc::cli
