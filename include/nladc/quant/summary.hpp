#pragma once
// SampleSummary: the data as a sorted list of atoms, each with exact moments
// (weight, sum, sum of squares), which is all a 1-D quantizer needs (BRIEF §3).
//
//  * exact summary: one atom per distinct sample value (sort + unique);
//  * histogram summary: the boundary point masses (samples equal to lo or hi)
//    as atoms of their own, the rest in equal-width bins. Built in one streaming
//    pass, so files larger than memory are summarized in constant memory.
//
// The squared error of a cluster of atoms [i, j) around its mean is
//   SSE(i, j) = Q(i, j) - S(i, j)^2 / W(i, j)
// with W, S, Q the sums of weight, sum and sum of squares over the atoms; prefix
// sums make it O(1). Values are shifted by a reference point (the middle of the
// range) before squaring, which keeps the subtraction well conditioned.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace nladc {

/// Which boundary an atom is the point mass of.
enum class Boundary : std::int8_t { none = 0, lo = 1, hi = 2 };

struct Atom {
    double weight = 0.0;  ///< number of samples (may be fractional after reweighting)
    double sum = 0.0;     ///< sum of (x - reference)
    double sum_sq = 0.0;  ///< sum of (x - reference)^2
    double min = 0.0;     ///< smallest value the atom may hold (bin edge or the value)
    double max = 0.0;     ///< largest value the atom may hold
    Boundary boundary = Boundary::none;
    std::int64_t bin = -1;  ///< histogram bin of a binned atom, -1 for exact atoms
};

/// The equal-width grid of a histogram summary.
struct HistogramGrid {
    HistogramGrid() = default;
    HistogramGrid(double range_min, double range_max, std::size_t bins);
    double range_min = 0.0, range_max = 0.0;
    std::size_t bins = 0;  ///< 0: no grid (exact summary)
    double scale = 0.0;    ///< bins per unit of x (0 for a single-valued range)
    double top = 0.0;      ///< bins - 1 as a double (the last bin's position)
    /// Position of x in bin units, clamped to [0, bins - 1] (its integer part is the bin).
    double position(double x) const
    {
        const double p = (x - range_min) * scale;
        return p < 0.0 ? 0.0 : (p > top ? top : p);
    }
    /// Bin of x, clamped to the grid. Written as selects and an int32 conversion so
    /// that the compiler vectorizes the loops that call it (maxpd/minpd/cvttpd2dq).
    std::size_t bin_of(double x) const
    {
        // Compare against the out-of-range side: a jump, if the compiler emits one, is
        // then never taken (x == range_min is common: ReLU zeros).
        double p = (x - range_min) * scale;
        p = p < 0.0 ? 0.0 : p;
        p = p > top ? top : p;
        return static_cast<std::size_t>(static_cast<std::int32_t>(p));
    }
    double edge(std::size_t bin) const;  ///< lower edge of `bin`; edge(bins) = range_max
};

class SampleSummary {
public:
    /// Atoms must be sorted by value, non-overlapping and of positive weight.
    SampleSummary(std::vector<Atom> atoms, double reference, double lo, double hi, bool exact,
                  HistogramGrid grid = {});

    std::size_t size() const { return atoms_.size(); }
    const std::vector<Atom>& atoms() const { return atoms_; }
    double lo() const { return lo_; }
    double hi() const { return hi_; }
    double reference() const { return reference_; }
    /// True when every atom is a single distinct value (no binning error).
    bool exact() const { return exact_; }
    /// The histogram grid the binned atoms come from (bins == 0 for exact summaries).
    const HistogramGrid& grid() const { return grid_; }

    double weight(std::size_t i, std::size_t j) const { return w_[j] - w_[i]; }
    double total_weight() const { return w_.back(); }
    /// Mean value of atoms [i, j) (in data units); j > i.
    double mean(std::size_t i, std::size_t j) const { return reference_ + (s_[j] - s_[i]) / (w_[j] - w_[i]); }
    /// Squared error of atoms [i, j) around their mean (inline: the DP's inner loop).
    double sse(std::size_t i, std::size_t j) const
    {
        const double w = w_[j] - w_[i];
        if (w <= 0) return 0.0;
        const double s = s_[j] - s_[i];
        const double value = (q_[j] - q_[i]) - s * s / w;
        return value > 0 ? value : 0.0;  // rounding can go a hair below zero
    }
    /// Squared error of atoms [i, j) around the value c (data units).
    double sse_about(std::size_t i, std::size_t j, double c) const;
    /// Representative value of atom i (its mean).
    double value(std::size_t i) const { return reference_ + atoms_[i].sum / atoms_[i].weight; }
    /// Number of atoms whose value is < x: atoms [0, result) fall below x.
    std::size_t count_below(double x) const;
    /// Mean of x^2 over all atoms, about zero (for relative MSE).
    double mean_square() const;

    /// A copy with atom i's moments scaled by factors[i]; atoms scaled to zero are removed.
    SampleSummary reweighted(const std::vector<double>& factors) const;
    /// The atoms whose boundary flag is none, as a summary of their own.
    SampleSummary interior() const;

private:
    std::vector<Atom> atoms_;
    std::vector<double> values_;   ///< atom representative values, ascending
    std::vector<double> w_, s_, q_;  ///< prefix sums of the shifted moments
    double reference_, lo_, hi_;
    bool exact_;
    HistogramGrid grid_;
};

/// Re-resolves chosen bins of a histogram summary from the raw samples: a flagged
/// bin holding at most `max_exact` samples becomes exact atoms (one per distinct
/// value), a fuller one `sub_bins` equal sub-bins with exact moments. Feed every
/// sample (in any number of chunks); unflagged and boundary samples are skipped.
/// Memory is bounded by flagged bins * max(max_exact, sub_bins).
class BinRefiner {
public:
    BinRefiner(const SampleSummary& base, std::vector<bool> flagged, double boundary_tolerance,
               std::size_t max_exact = 64, std::size_t sub_bins = 64);
    template <class T>
    void add(std::span<const T> samples);
    /// The base summary with the flagged bins replaced.
    SampleSummary finish() const;

private:
    const SampleSummary& base_;
    std::vector<bool> flagged_;
    double tolerance_;
    std::size_t sub_bins_;
    template <class T>
    void refine_sample(double x);
    std::vector<std::int32_t> slot_of_bin_;     ///< -1 or index into exact_/moment_offset_
    std::vector<std::vector<double>> exact_;     ///< per exact slot: its samples
    std::vector<std::int64_t> moment_offset_;    ///< per slot: offset into moments_, or -1 when exact
    std::vector<double> moments_;                ///< count, sum, sum_sq per sub-bin
};

/// Smallest and largest of non-empty samples (vectorizable: 8 independent lanes).
template <class T>
std::pair<double, double> sample_range(std::span<const T> samples)
{
    T low[8], high[8];
    for (int lane = 0; lane < 8; ++lane) low[lane] = high[lane] = samples[0];
    std::size_t i = 0;
    for (; i + 8 <= samples.size(); i += 8)
        for (int lane = 0; lane < 8; ++lane) {
            const T v = samples[i + static_cast<std::size_t>(lane)];
            low[lane] = v < low[lane] ? v : low[lane];
            high[lane] = v > high[lane] ? v : high[lane];
        }
    for (; i < samples.size(); ++i) {
        low[0] = samples[i] < low[0] ? samples[i] : low[0];
        high[0] = samples[i] > high[0] ? samples[i] : high[0];
    }
    for (int lane = 1; lane < 8; ++lane) {
        low[0] = std::min(low[0], low[lane]);
        high[0] = std::max(high[0], high[lane]);
    }
    return {static_cast<double>(low[0]), static_cast<double>(high[0])};
}

/// Exact summary of in-memory samples: one atom per distinct value. Samples outside
/// [lo, hi] are clamped to it (the ADC saturates: they join the boundary point masses);
/// samples within `boundary_tolerance` of lo or hi are merged into that boundary's atom.
/// Throws Error when there are no samples.
template <class T>
SampleSummary summarize_exact(std::span<const T> samples, double lo, double hi, double boundary_tolerance = 0.0);

/// Streaming histogram: boundary atoms plus `bins` equal-width bins over
/// [range_min, range_max]. Samples are clamped to [lo, hi] first, as in summarize_exact.
class HistogramBuilder {
public:
    HistogramBuilder(double range_min, double range_max, double lo, double hi, std::size_t bins,
                     double boundary_tolerance = 0.0);
    /// Counts the samples; throws Error naming the first NaN sample (by its index among
    /// all samples added), its block of up to 256 samples left uncounted.
    template <class T>
    void add(std::span<const T> samples);
    /// The summary (empty bins dropped). Throws Error when no sample was added.
    SampleSummary finish() const;
    std::size_t bins() const { return grid_.bins; }

private:
    struct Cell {
        double count = 0, sum = 0, sum_sq = 0;  ///< moments of (x - reference)
    };
    // The boundary point masses are hit by a large share of the samples; spreading
    // their updates over kReplicas cells breaks the store-to-load dependency chain.
    static constexpr std::size_t kReplicas = 4;
    HistogramGrid grid_;
    double lo_, hi_, tolerance_, reference_;
    std::vector<Cell> cells_;  ///< bins, then kReplicas pairs of (lo, hi) boundary cells
    std::size_t counter_ = 0;
};

/// Histogram bins used for 2^bits levels: 256 * 2^bits, at least 4096 and at most
/// 2^18. BRIEF §3: the exact DP on >= 256*L bins leaves <= 1.3e-5 excess MSE on real
/// activations; the refinement around the thresholds (study/level_design.hpp) then
/// removes most of the rest.
std::size_t default_histogram_bins(int bits);

}  // namespace nladc
