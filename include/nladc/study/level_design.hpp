#pragma once
// Level design on activation files: the streaming passes that turn a file (or
// one layer of an .npz) into a SampleSummary, and score level sets on its raw
// samples. Memory stays bounded whatever the file size:
//   pass 1  count, min, max, NaN/Inf policy          (constructor)
//   pass 2  exact summary (<= exact_max_samples, sorted in memory) or histogram
//   pass 3  the shared scorer over every sample, for any number of level sets at once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "nladc/documents/levelset_file.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/quant/levelset.hpp"
#include "nladc/quant/metrics.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/quant/summary.hpp"

namespace nladc {

struct SummaryOptions {
    std::optional<double> lo, hi;  ///< level range; default: the data's min and max
    double boundary_tolerance = 0.0;  ///< |x - lo| <= tol counts as the boundary point mass
    /// Up to this many samples the summary is exact (one atom per distinct value).
    std::uint64_t exact_max_samples = 262144;
    std::size_t histogram_bins = 0;  ///< 0: default_histogram_bins(bits)
};

class ActivationLayer {
public:
    /// Runs pass 1, keeping the samples in memory when the array holds at most
    /// `memory_limit` values (later passes then skip the file). Throws InputError
    /// for unreadable data, NaN/Inf under the error policy, or no finite samples.
    ActivationLayer(std::filesystem::path file, std::string layer, io::NonFinitePolicy policy,
                    std::uint64_t memory_limit = std::uint64_t{1} << 22);
    /// Samples already in memory (the Python API's arrays), named `label` in messages and
    /// provenance. NaN/Inf follow `policy` ("array: element 17: is NaN").
    ActivationLayer(std::vector<double> samples, std::string label, io::NonFinitePolicy policy);

    /// "acts.npy" or "acts.npz[conv1]".
    std::string label() const;
    std::uint64_t samples() const { return samples_; }
    std::uint64_t dropped_nonfinite() const { return dropped_; }
    double data_min() const { return min_; }
    double data_max() const { return max_; }

    /// The level range: given bounds, else the data's. Throws InputError when lo >= hi.
    std::pair<double, double> range(const SummaryOptions& options) const;
    /// Pass 2. Exact for small data, else a histogram; cached per (range, bins).
    const SampleSummary& summarize(int bits, const SummaryOptions& options);
    /// Fits a level set to a histogram summary, then refines: the bins around every
    /// threshold are re-resolved from the raw samples (exact atoms, or 64 sub-bins
    /// when a bin is full; one pass) and the method refits, until every threshold
    /// sits in re-resolved data (at most 4 rounds). The histogram path then matches
    /// the raw-data optimum to ~1e-9 at a small, bounded memory cost. Exact
    /// summaries are fit directly.
    LevelSet fit(int bits, const QuantizerOptions& options, const SummaryOptions& summary);
    /// Pass 3: one streaming pass scoring every level set.
    std::vector<QuantizationMetrics> score(const std::vector<LevelSet>& sets) const;
    /// Provenance with the file's SHA-256 (reads the whole file; thread-safe).
    DataProvenance provenance() const;

    /// All finite samples in memory (for small data and tests).
    std::vector<double> load() const;

private:
    template <class Visit>
    void for_each_chunk(Visit&& visit) const;

    std::filesystem::path file_;
    std::string layer_;
    io::NonFinitePolicy policy_;
    std::uint64_t samples_ = 0, dropped_ = 0;
    std::vector<double> cached_;  ///< all finite samples when small enough, else empty
    bool in_memory_ = false;      ///< built from samples: file_ is only a label
    double min_ = 0.0, max_ = 0.0;
    std::map<std::tuple<double, double, std::size_t, double>, SampleSummary> summaries_;
};

/// Layer names of an activation file ("" for single-array files).
std::vector<std::string> layer_names(const std::filesystem::path& file);

}  // namespace nladc

namespace nladc {

/// A fitted level set with its score on the data it was fit on.
struct DesignedLevels {
    LevelSet set;
    QuantizationMetrics metrics;
    DataProvenance input;
};

/// The same fit as ActivationLayer::fit on float samples already in memory
/// (min/max pass, histogram or exact summary, refinement).
LevelSet fit_in_memory(std::span<const float> samples, const QuantizerOptions& options,
                       const SummaryOptions& summary);

/// Summarizes (pass 2), fits (options.bits, method, variant) and scores (pass 3).
DesignedLevels design_levels(ActivationLayer& data, const QuantizerOptions& options, const SummaryOptions& summary);

}  // namespace nladc
