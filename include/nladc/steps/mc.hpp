#pragma once
// Steps `mc` (run or resume a Monte Carlo study, optionally one shard, optionally its
// first chips in SPICE) and `mc merge` (assemble shards). montecarlo/engine.hpp runs
// the chips; documents/study_file.hpp and documents/mc_summary.hpp are the files.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nladc/documents/mc_summary.hpp"
#include "nladc/documents/study_file.hpp"
#include "nladc/montecarlo/engine.hpp"
#include "nladc/montecarlo/spice_mc.hpp"
#include "nladc/steps/common.hpp"

namespace nladc::steps {

struct McRequest {
    StudySpec spec;  ///< read_study's, or built in memory (the flow's)
    std::filesystem::path out;
    int threads = 0;  ///< 0 = all cores (the results do not depend on it)
    int shard = 1, shards = 1;  ///< behavioral blocks and SPICE chips of shard i of N
    int spice_workers = 0;      ///< ngspice workers for the SPICE chips; 0 = the study's spice.workers
    std::atomic<bool>* stop = nullptr;  ///< set asynchronously: finish the current blocks (or chip) and return
    /// Behavioral trials: (done, total, seconds).
    std::function<void(std::uint64_t, std::uint64_t, double)> progress;
    std::function<void(int, int)> spice_progress;  ///< SPICE chips: (done, total)
    Progress note;                                 ///< stage messages
    bool run_record = true;  ///< write DIR/run_<i>of<N>.json (host, threads, time) for this shard
};

struct McResult {
    RunOutcome outcome;
    int threads = 1;
    double lsb = 0.0;  ///< the design's LSB (input units)
    std::optional<McSummary> summary;      ///< when the study is complete (this shard finished it)
    std::optional<SpiceChipsOutcome> spice_chips;  ///< this shard's SPICE chips, with spec.spice.trials > 0
    std::optional<SpiceMcResult> spice;    ///< when every SPICE chip of the study is recorded in the directory
    bool interrupted() const { return outcome.interrupted || (spice_chips && spice_chips->interrupted); }
};

/// Throws UsageError when spec.spice.trials exceeds spec.trials.
McResult run_mc(const McRequest& request);

/// The transition levels of a study's first chips, without writing anything: the very
/// trials `nladc mc` runs for the same study and seed (trial t is a pure function of
/// (seed, t)), so row t equals trials.csv's T1..TK (or T1_trim.. with `trimmed`).
struct ChipsRequest {
    StudySpec spec;                          ///< seed, variation, technology overrides; spec.trials is ignored
    std::optional<io::DesignRecord> design;  ///< in memory instead of spec.design
    std::uint64_t count = 1;                 ///< chips 0 .. count-1
    bool trimmed = false;
    int threads = 0;  ///< 0 = all cores (the results do not depend on it)
};
struct ChipsResult {
    std::size_t thresholds = 0;    ///< K per chip
    std::vector<double> levels;    ///< count x K, row-major, input units
    std::string study_hash;
};
ChipsResult sample_chips(const ChipsRequest& request);

/// "i/N" -> {i, N}; UsageError unless 1 <= i <= N.
std::pair<int, int> parse_shard(const std::string& text);

/// Concatenates the shard directories into `out` (trials.csv, summary.json and plots; with
/// SPICE chips in the study, spice_mc.csv, .json and .png too).
struct MergeResult {
    McSummary summary;
    std::optional<SpiceMcResult> spice;
};
MergeResult run_mc_merge(const std::vector<std::filesystem::path>& dirs, const std::filesystem::path& out);

}  // namespace nladc::steps
