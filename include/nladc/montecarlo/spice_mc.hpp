#pragma once
// SPICE Monte Carlo (`nladc mc --spice N`): the study's first N chips — the very samples
// the behavioral trials draw (draw_chip) — simulated in ngspice and compared with the
// (calibrated) behavioral model of the same chip.
//
// Each chip is a record of its own, DIR/spice/chip_NNNNNN.json (written atomically), so
// the chips can be split over processes and machines like the behavioral blocks (chip t
// belongs to shard t % N + 1), an interrupted run resumes, and summarize_spice_mc
// assembles DIR/spice_mc.csv, .json and .png from the records of any set of shard
// directories.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nladc/montecarlo/engine.hpp"

namespace nladc {

struct SpiceMcTrial {
    std::uint64_t trial = 0;
    std::vector<double> behavioral, spice;  ///< T[k] of the same chip, input units
    double max_difference_lsb = 0.0;
};

struct SpiceMcThreshold {
    double behavioral_mean = 0, behavioral_sigma = 0, spice_mean = 0, spice_sigma = 0;
    double ks_statistic = 0;  ///< two-sample Kolmogorov-Smirnov D
};

struct SpiceMcResult {
    std::vector<SpiceMcTrial> trials;              ///< the chips SPICE finished
    std::vector<std::pair<std::uint64_t, std::string>> failed;  ///< chips SPICE could not run, and why
    std::vector<SpiceMcThreshold> thresholds;
    double max_difference_lsb = 0.0;
    double wall_s = 0.0;  ///< SPICE time summed over the chips (their records' seconds)
    int simulations = 0;
    bool interrupted = false;  ///< stopped before the last chip; the finished chips are kept
};

struct SpiceChipsOptions {
    int shard = 1, shards = 1;  ///< run chips t with t % shards == shard - 1
    int workers = 0;            ///< ngspice worker processes; 0 = the study's spice.workers
    std::function<void(int done, int total)> progress;  ///< over this shard's chips
    const std::atomic<bool>* stop = nullptr;            ///< checked between chips
};

struct SpiceChipsOutcome {
    int total = 0;           ///< chips of this shard
    int present_before = 0;  ///< already recorded (successfully) in DIR/spice
    int run = 0, failed = 0;
    bool interrupted = false;
};

/// Runs this shard's chips among the study's first spec.spice.trials into DIR/spice,
/// skipping chips recorded successfully before (a failed chip is tried again). A chip whose
/// simulations fail (after the worker pool's one retry) is recorded with its error and
/// the run goes on.
SpiceChipsOutcome run_spice_chips(const MonteCarlo& engine, const std::filesystem::path& dir,
                                  const SpiceChipsOptions& options);

/// The chips of `shard` of `shards` that `dir` holds no record of. A chip recorded as
/// failed counts as done (summarize_spice_mc lists it as failed); run_spice_chips tries
/// it again when the shard is rerun.
std::vector<std::uint64_t> missing_spice_chips(const StudySpec& spec, const std::filesystem::path& dir, int shard,
                                               int shards);

/// Reads the records of the study's first spice.trials chips from `sources` (each a study
/// directory of the same study; the first record found wins) and writes
/// dir/spice_mc.csv, spice_mc.json and spice_mc.png. Throws Error naming the chip when
/// one is recorded nowhere, and when every chip failed.
SpiceMcResult summarize_spice_mc(const std::vector<std::filesystem::path>& sources, const std::filesystem::path& dir);

/// One process: run_spice_chips for every chip, then summarize_spice_mc into dir (unless
/// interrupted: then the finished chips are kept and nothing is summarized).
SpiceMcResult run_spice_mc(const MonteCarlo& engine, const std::filesystem::path& dir, const SpiceChipsOptions& options);

/// Two-sample Kolmogorov-Smirnov statistic D = sup |F_a - F_b|.
double ks_statistic(std::vector<double> a, std::vector<double> b);

}  // namespace nladc
