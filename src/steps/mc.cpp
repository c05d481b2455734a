// Steps `mc` and `mc merge` (steps/mc.hpp).
#include "nladc/steps/mc.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <exception>
#include <sstream>
#include <thread>

#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::steps {

namespace {

void write_run_record(const McRequest& request, int threads, const RunOutcome& outcome)
{
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    io::OrderedJson run;
    run["nladc_version"] = std::string(version());
    run["host"] = host;
    run["threads"] = threads;
    run["shard"] = fmt::format("{}/{}", request.shard, request.shards);
    run["seconds"] = outcome.seconds;
    run["blocks_run"] = outcome.blocks_run;
    run["blocks_present_before"] = outcome.blocks_done_before;
    run["finished_at_unix"] = static_cast<long long>(std::time(nullptr));
    io::write_file_atomic(request.out / fmt::format("run_{}of{}.json", request.shard, request.shards), io::dump_json(run));
}

}  // namespace

ChipsResult sample_chips(const ChipsRequest& request)
{
    if (request.count == 0) throw UsageError("sample_chips: the number of chips must be at least 1");
    const MonteCarlo engine(load_study_inputs(request.spec, request.design ? &*request.design : nullptr));
    ChipsResult result;
    result.thresholds = engine.inputs().design.levels.thresholds.size();
    result.study_hash = engine.inputs().study_hash;
    result.levels.assign(request.count * result.thresholds, 0.0);
    std::size_t workers = request.threads > 0 ? static_cast<std::size_t>(request.threads)
                                              : std::max(1u, std::thread::hardware_concurrency());
    workers = std::min<std::size_t>(workers, request.count);
    std::atomic<std::uint64_t> next{0};
    std::vector<std::exception_ptr> errors(workers);
    auto work = [&](std::size_t w) {
        try {
            for (std::uint64_t t = next++; t < request.count; t = next++) {
                const TrialResult trial = engine.run_trial(t);
                const std::vector<double>& levels = request.trimmed ? trial.levels_trimmed : trial.levels;
                std::copy(levels.begin(), levels.end(), result.levels.begin() + static_cast<std::ptrdiff_t>(t * result.thresholds));
            }
        } catch (...) {
            errors[w] = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& thread : pool) thread.join();
    for (const auto& error : errors)
        if (error) std::rethrow_exception(error);
    return result;
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

McResult run_mc(const McRequest& request)
{
    const StudySpec& spec = request.spec;
    if (spec.spice.trials > spec.trials)
        throw UsageError(fmt::format("--spice {} exceeds the {} trials", spec.spice.trials, spec.trials));
    McResult result;
    result.threads = request.threads > 0 ? request.threads
                                         : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    if (request.note) request.note("mc: preparing the study (design, activations)");
    const MonteCarlo engine(load_study_inputs(spec));
    result.lsb = engine.inputs().design.levels.lsb();
    RunOptions options;
    options.threads = result.threads;
    options.shard = request.shard;
    options.shards = request.shards;
    options.stop = request.stop;
    options.progress = request.progress;
    if (request.note)
        request.note(fmt::format("mc: {} trials (seed {}), shard {}/{}, {} threads, into {}", spec.trials, spec.seed,
                                 request.shard, request.shards, result.threads, request.out.string()));
    result.outcome = run_blocks(engine, request.out, options);
    if (request.run_record) write_run_record(request, result.threads, result.outcome);
    if (result.outcome.interrupted) return result;
    if (result.outcome.complete) {
        merge_blocks({request.out}, request.out);
        result.summary = io::read_mc_summary(request.out / "summary.json");
    }
    if (spec.spice.trials == 0) return result;
    // The SPICE chips of this shard, once its behavioral blocks are all present.
    if (!missing_blocks(spec, request.out, request.shard, request.shards).empty()) return result;
    SpiceChipsOptions chips;
    chips.shard = request.shard;
    chips.shards = request.shards;
    chips.workers = request.spice_workers;
    chips.progress = request.spice_progress;
    chips.stop = request.stop;
    if (request.note)
        request.note(fmt::format("mc: SPICE chips of shard {}/{} among the first {} trials", request.shard,
                                 request.shards, spec.spice.trials));
    result.spice_chips = run_spice_chips(engine, request.out, chips);
    if (result.spice_chips->interrupted || !result.outcome.complete) return result;
    if (missing_spice_chips(spec, request.out, 1, 1).empty()) result.spice = summarize_spice_mc({request.out}, request.out);
    return result;
}

MergeResult run_mc_merge(const std::vector<std::filesystem::path>& dirs, const std::filesystem::path& out)
{
    merge_blocks(dirs, out);
    MergeResult result;
    result.summary = io::read_mc_summary(out / "summary.json");
    const StudySpec spec = study_of_run(out);
    if (spec.spice.trials > 0) result.spice = summarize_spice_mc(dirs, out);
    return result;
}

}  // namespace nladc::steps
