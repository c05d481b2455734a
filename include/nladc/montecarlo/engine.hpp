#pragma once
// Monte Carlo engine (`nladc mc`).
//
// Trial t draws its chip from Philox keyed by (seed, t) — every replica cell through
// program-and-verify with stuck faults and drift, the comparator offset, V_read, the
// wire resistance — so a trial's numbers do not depend on the thread that runs it or
// on how the trials are split into shards. Per trial: transition levels by bisection
// on the behavioral model, INL/DNL and code errors (characterize/linearity.hpp), the
// effective MSE of the activation data through those thresholds (prefix sums over the
// sorted data, O(L log n)), then trim and the same again.
//
// Results are written in blocks of `block_size` trials (DIR/blocks/block_NNNNNN.csv,
// each ending with a "# sha256 <hex>" line over its content), atomically; a rerun skips
// valid blocks, so an interrupted study resumes; a corrupt block is an error. When every
// block is present they are concatenated into DIR/trials.csv (documented in docs/montecarlo.md)
// and summarized in DIR/summary.json; timing and host details go to DIR/run.json only,
// so the trial files of equal runs are byte-identical.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/characterize/linearity.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/documents/study_file.hpp"

namespace nladc {

/// Sorted activation samples with prefix sums: the MSE of any threshold set in O(L log n).
class SortedSamples {
public:
    explicit SortedSamples(std::vector<double> samples);
    /// MSE of quantizing with `thresholds` (code = #thresholds < x) to `levels`.
    double mse(const std::vector<double>& thresholds, const std::vector<double>& levels) const;
    /// E[x^2], the signal power of the SQNR.
    double mean_square() const;
    std::size_t size() const { return values_.size(); }

private:
    std::vector<double> values_;
    std::vector<long double> sum_, sum_sq_;
};

/// Everything a trial needs, resolved once.
struct StudyInputs {
    StudySpec spec;
    ReplicaDesign design;
    Technology tech;
    AdcOptions options;  ///< calibration included
    std::shared_ptr<const SortedSamples> activations;
    std::string design_hash, activations_sha256;
    /// Identity of the study: everything that changes a trial's numbers.
    std::string study_hash;
};

struct TrialResult {
    std::uint64_t trial = 0;
    std::uint64_t seed = 0;
    int stuck_off = 0, stuck_on = 0;
    double comparator_offset_V = 0.0, v_read_V = 0.0, wire_resistance_ohm = 0.0;
    std::vector<double> levels;  ///< T[k] before trim, input units
    Linearity linearity;
    double effective_mse = 0.0;
    bool pass = false;
    bool trimmed = false;        ///< the trim changed the chip
    std::vector<double> levels_trimmed;
    Linearity linearity_trimmed;
    double effective_mse_trimmed = 0.0;
    bool pass_trimmed = false;
};

/// The chip of a trial (also used to write the same sample into SPICE netlists).
ChipInstance draw_chip(const StudyInputs& inputs, std::uint64_t trial, int* stuck_off = nullptr,
                       int* stuck_on = nullptr);

class MonteCarlo {
public:
    explicit MonteCarlo(std::shared_ptr<const StudyInputs> inputs);
    /// Pure function of (seed, trial).
    TrialResult run_trial(std::uint64_t trial) const;
    const StudyInputs& inputs() const { return *inputs_; }
    const BehavioralAdc& nominal() const { return nominal_; }

private:
    std::shared_ptr<const StudyInputs> inputs_;
    BehavioralAdc nominal_;
};

/// One CSV line per trial (fixed column order, shortest round-trip numbers), and its header.
std::string trial_csv_header(int thresholds);
std::string trial_csv_line(const TrialResult& result);

struct RunOptions {
    int threads = 1;
    int shard = 1, shards = 1;           ///< run blocks b with b % shards == shard - 1
    std::atomic<bool>* stop = nullptr;   ///< set asynchronously to stop after the current blocks
    std::function<void(std::uint64_t done, std::uint64_t total, double seconds)> progress;
};

struct RunOutcome {
    std::uint64_t blocks_total = 0, blocks_done_before = 0, blocks_run = 0;
    std::uint64_t blocks_in_shard = 0;  ///< blocks b with b % shards == shard - 1
    bool complete = false;   ///< every block of the study is present in DIR
    bool interrupted = false;
    double seconds = 0.0;
};

/// Runs (or resumes) the study's blocks of this shard into dir. Writes DIR/study.json on
/// first use and refuses a DIR that holds another study. Throws Error for corrupt blocks.
RunOutcome run_blocks(const MonteCarlo& engine, const std::filesystem::path& dir, const RunOptions& options);

/// ceil(trials / block_size): the study's blocks, the upper bound on its shards.
std::uint64_t block_count(const StudySpec& spec);

/// The study a study directory holds (its study.json, written by run_blocks).
StudySpec study_of_run(const std::filesystem::path& dir);

/// The blocks of shard `shard` of `shards` that `dir` does not hold (yet); throws Error
/// for a corrupt block, as run_blocks does.
std::vector<std::uint64_t> missing_blocks(const StudySpec& spec, const std::filesystem::path& dir, int shard, int shards);

/// Concatenates the blocks of `sources` (each a study directory of the same study) into
/// dir/trials.csv and writes dir/summary.json. Throws Error when blocks are missing or
/// corrupt, or when a source holds another study (one line naming both directories); a
/// missing block's message names its shard when the sources' run_<i>of<N>.json records
/// say how the study was split.
void merge_blocks(const std::vector<std::filesystem::path>& sources, const std::filesystem::path& dir);

/// The shard count N of the run_<i>of<N>.json records in `dirs` (the first found), or 0
/// when none holds one: how merge names the shard of a missing block or chip.
int recorded_shard_count(const std::vector<std::filesystem::path>& dirs);

/// Reads DIR/trials.csv back.
std::vector<TrialResult> read_trials(const std::filesystem::path& dir);

}  // namespace nladc

namespace nladc {

/// Resolves a study: the design (or the embedded default), the technology, the
/// calibration, the activation data (sorted, for the effective MSE) and the hashes
/// that identify it. Throws InputError for unreadable files.
/// `design` (optional) replaces spec.design with a design in memory (the Python API).
std::shared_ptr<const StudyInputs> load_study_inputs(const StudySpec& spec, const io::DesignRecord* design = nullptr);

}  // namespace nladc
