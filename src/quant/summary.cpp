#include "nladc/quant/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "nladc/core/cpu.hpp"
#include "nladc/core/error.hpp"
#include "histogram_lanes.hpp"

namespace nladc {

HistogramGrid::HistogramGrid(double range_min_, double range_max_, std::size_t bins_)
    : range_min(range_min_), range_max(range_max_), bins(bins_)
{
    scale = range_max > range_min && bins > 0 ? static_cast<double>(bins) / (range_max - range_min) : 0.0;
    top = bins > 0 ? static_cast<double>(bins - 1) : 0.0;
}

double HistogramGrid::edge(std::size_t bin) const
{
    if (bin >= bins) return range_max;
    return scale > 0 ? range_min + static_cast<double>(bin) / scale : range_min;
}

SampleSummary::SampleSummary(std::vector<Atom> atoms, double reference, double lo, double hi, bool exact,
                             HistogramGrid grid)
    : atoms_(std::move(atoms)), reference_(reference), lo_(lo), hi_(hi), exact_(exact), grid_(grid)
{
    const std::size_t n = atoms_.size();
    values_.resize(n);
    w_.assign(n + 1, 0.0);
    s_.assign(n + 1, 0.0);
    q_.assign(n + 1, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const Atom& atom = atoms_[i];
        values_[i] = reference_ + atom.sum / atom.weight;
        w_[i + 1] = w_[i] + atom.weight;
        s_[i + 1] = s_[i] + atom.sum;
        q_[i + 1] = q_[i] + atom.sum_sq;
    }
}

double SampleSummary::sse_about(std::size_t i, std::size_t j, double c) const
{
    const double w = w_[j] - w_[i];
    if (w <= 0) return 0.0;
    const double s = s_[j] - s_[i];
    const double d = c - reference_;
    const double value = (q_[j] - q_[i]) - 2 * d * s + d * d * w;
    return value > 0 ? value : 0.0;
}

std::size_t SampleSummary::count_below(double x) const
{
    return static_cast<std::size_t>(std::lower_bound(values_.begin(), values_.end(), x) - values_.begin());
}

double SampleSummary::mean_square() const
{
    // E[x^2] = E[(x - r)^2] + 2 r E[x - r] + r^2
    const double w = w_.back(), r = reference_;
    return (q_.back() + 2 * r * s_.back()) / w + r * r;
}

SampleSummary SampleSummary::reweighted(const std::vector<double>& factors) const
{
    std::vector<Atom> scaled;
    scaled.reserve(atoms_.size());
    for (std::size_t i = 0; i < atoms_.size(); ++i) {
        if (factors[i] <= 0) continue;
        Atom atom = atoms_[i];
        atom.weight *= factors[i];
        atom.sum *= factors[i];
        atom.sum_sq *= factors[i];
        scaled.push_back(atom);
    }
    return SampleSummary(std::move(scaled), reference_, lo_, hi_, exact_, grid_);
}

SampleSummary SampleSummary::interior() const
{
    std::vector<Atom> kept;
    for (const Atom& atom : atoms_)
        if (atom.boundary == Boundary::none) kept.push_back(atom);
    return SampleSummary(std::move(kept), reference_, lo_, hi_, exact_, grid_);
}

namespace {

Boundary classify(double x, double lo, double hi, double tolerance)
{
    if (std::abs(x - lo) <= tolerance) return Boundary::lo;
    if (std::abs(x - hi) <= tolerance) return Boundary::hi;
    return Boundary::none;
}

}  // namespace

template <class T>
SampleSummary summarize_exact(std::span<const T> samples, double lo, double hi, double boundary_tolerance)
{
    if (samples.empty()) throw Error("no samples to summarize");
    std::vector<double> sorted(samples.begin(), samples.end());
    for (double& x : sorted) x = std::clamp(x, lo, hi);  // the range saturates (a clamp)
    std::sort(sorted.begin(), sorted.end());
    const double reference = 0.5 * (lo + hi);
    std::vector<Atom> atoms;
    Atom lo_atom{0, 0, 0, lo, lo, Boundary::lo}, hi_atom{0, 0, 0, hi, hi, Boundary::hi};
    std::size_t i = 0;
    while (i < sorted.size()) {
        std::size_t j = i;
        while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
        const double x = sorted[i], d = x - reference, count = static_cast<double>(j - i);
        const Boundary boundary = classify(x, lo, hi, boundary_tolerance);
        if (boundary == Boundary::none) {
            atoms.push_back({count, count * d, count * d * d, x, x, Boundary::none});
        } else {
            Atom& target = boundary == Boundary::lo ? lo_atom : hi_atom;
            if (target.weight == 0) target.min = target.max = x;
            target.weight += count;
            target.sum += count * d;
            target.sum_sq += count * d * d;
            target.min = std::min(target.min, x);
            target.max = std::max(target.max, x);
        }
        i = j;
    }
    // Boundary atoms go where their values sort; interior atoms never lie inside them.
    for (const Atom* boundary_atom : {&lo_atom, &hi_atom}) {
        if (boundary_atom->weight == 0) continue;
        const double value = boundary_atom->min;
        const auto position = std::lower_bound(atoms.begin(), atoms.end(), value,
                                               [](const Atom& a, double v) { return a.max < v; });
        atoms.insert(position, *boundary_atom);
    }
    return SampleSummary(std::move(atoms), reference, lo, hi, boundary_tolerance == 0.0);
}

template SampleSummary summarize_exact<float>(std::span<const float>, double, double, double);
template SampleSummary summarize_exact<double>(std::span<const double>, double, double, double);

HistogramBuilder::HistogramBuilder(double range_min, double range_max, double lo, double hi, std::size_t bins,
                                   double boundary_tolerance)
    : grid_(range_min, range_max, std::max<std::size_t>(bins, 1)),
      lo_(lo),
      hi_(hi),
      tolerance_(boundary_tolerance),
      reference_(0.5 * (lo + hi)),
      cells_(grid_.bins + 2 * kReplicas)
{
}

template <class T>
void HistogramBuilder::add(std::span<const T> samples)
{
    // Two loops per block: the cell indices are computed branch-free (vectorizable;
    // boundary samples are picked by a select, so the random mix of pile-up and
    // interior samples costs no mispredictions), then the moments are accumulated.
    constexpr std::size_t kBlock = 256;
    std::uint32_t cell_of[kBlock];
    double value[kBlock];
    Cell* cells = cells_.data();
    const auto bins = static_cast<std::uint32_t>(grid_.bins);
    const double lo = lo_, hi = hi_, tolerance = tolerance_, reference = reference_;
    // float samples: the binning four at a time in AVX2 lanes, the same cells (test).
    const bool lanes = std::is_same_v<T, float> && cpu_has_avx2();
    const histogram_lanes::Binning binning{lo, hi, tolerance, grid_.range_min, grid_.scale, grid_.top, bins,
                                           static_cast<std::uint32_t>(kReplicas)};
    for (std::size_t begin = 0; begin < samples.size(); begin += kBlock) {
        const std::size_t count = std::min(kBlock, samples.size() - begin);
        const T* block = samples.data() + begin;
        std::size_t done = 0;
        if constexpr (std::is_same_v<T, float>)
            if (lanes) done = histogram_lanes::cells_avx2(block, count, counter_, binning, value, cell_of);
        for (std::size_t i = done; i < count; ++i) {
            const double x = std::clamp(static_cast<double>(block[i]), lo, hi);  // the range saturates (a clamp)
            value[i] = x;
            const auto at_lo = static_cast<std::uint32_t>(std::abs(x - lo) <= tolerance);
            const auto at_hi = static_cast<std::uint32_t>(std::abs(x - hi) <= tolerance);
            const auto replica = static_cast<std::uint32_t>((counter_ + i) % kReplicas);
            const std::uint32_t boundary_cell = bins + 2 * replica + at_hi;
            const auto bin = static_cast<std::uint32_t>(grid_.bin_of(x));
            const std::uint32_t take_boundary = 0u - (at_lo | at_hi);  // all ones or zero: a mask, not a jump
            cell_of[i] = (boundary_cell & take_boundary) | (bin & ~take_boundary);
        }
        // A NaN sample has no bin (its int32 conversion is out of range): refuse it before
        // any of the block is counted.
        const std::uint32_t cell_count = static_cast<std::uint32_t>(cells_.size());
        std::uint32_t largest = 0;
        for (std::size_t i = 0; i < count; ++i) largest = std::max(largest, cell_of[i]);
        if (largest >= cell_count) {
            std::size_t i = 0;
            while (cell_of[i] < cell_count) ++i;
            throw Error(fmt::format("sample {} is {}: cannot bin it", counter_ + i, static_cast<double>(block[i])));
        }
        counter_ += count;
        for (std::size_t i = 0; i < count; ++i) {
            const double d = value[i] - reference;
            Cell& cell = cells[cell_of[i]];
            cell.count += 1.0;
            cell.sum += d;
            cell.sum_sq += d * d;
        }
    }
}

template void HistogramBuilder::add<float>(std::span<const float>);
template void HistogramBuilder::add<double>(std::span<const double>);

SampleSummary HistogramBuilder::finish() const
{
    const std::size_t bins = grid_.bins;
    Cell boundary[2];
    for (std::size_t r = 0; r < kReplicas; ++r)
        for (int b = 0; b < 2; ++b) {
            const Cell& c = cells_[bins + 2 * r + static_cast<std::size_t>(b)];
            boundary[b].count += c.count;
            boundary[b].sum += c.sum;
            boundary[b].sum_sq += c.sum_sq;
        }
    std::vector<Atom> atoms;
    auto push_boundary = [&](int b, Boundary which, double value) {
        if (boundary[b].count == 0) return;
        atoms.push_back({boundary[b].count, boundary[b].sum, boundary[b].sum_sq, value - tolerance_,
                         value + tolerance_, which});
    };
    bool lo_placed = false, hi_placed = false;
    for (std::size_t bin = 0; bin < bins; ++bin) {
        const Cell& c = cells_[bin];
        if (c.count == 0) continue;
        const double mean = reference_ + c.sum / c.count;
        // Emit a boundary atom just before the first bin whose mean passes it.
        if (!lo_placed && mean > lo_) {
            push_boundary(0, Boundary::lo, lo_);
            lo_placed = true;
        }
        if (!hi_placed && mean > hi_) {
            push_boundary(1, Boundary::hi, hi_);
            hi_placed = true;
        }
        atoms.push_back({c.count, c.sum, c.sum_sq, grid_.edge(bin), grid_.edge(bin + 1), Boundary::none,
                         static_cast<std::int64_t>(bin)});
    }
    if (!lo_placed) push_boundary(0, Boundary::lo, lo_);
    if (!hi_placed) push_boundary(1, Boundary::hi, hi_);
    if (atoms.empty()) throw Error("no samples to summarize");
    return SampleSummary(std::move(atoms), reference_, lo_, hi_, false, grid_);
}

BinRefiner::BinRefiner(const SampleSummary& base, std::vector<bool> flagged, double boundary_tolerance,
                       std::size_t max_exact, std::size_t sub_bins)
    : base_(base), flagged_(std::move(flagged)), tolerance_(boundary_tolerance), sub_bins_(sub_bins)
{
    slot_of_bin_.assign(base.grid().bins, -1);
    for (const Atom& atom : base.atoms()) {
        if (atom.bin < 0) continue;
        const auto bin = static_cast<std::size_t>(atom.bin);
        if (bin >= flagged_.size() || !flagged_[bin]) continue;
        slot_of_bin_[bin] = static_cast<std::int32_t>(moment_offset_.size());
        if (atom.weight <= static_cast<double>(max_exact)) {
            moment_offset_.push_back(-1);
            exact_.emplace_back();
            exact_.back().reserve(static_cast<std::size_t>(atom.weight));
        } else {
            moment_offset_.push_back(static_cast<std::int64_t>(moments_.size()));
            moments_.resize(moments_.size() + 3 * sub_bins_, 0.0);
            exact_.emplace_back();
        }
    }
}

template <class T>
void BinRefiner::refine_sample(double x)
{
    const HistogramGrid& grid = base_.grid();
    const std::size_t bin = grid.bin_of(x);
    const auto slot = static_cast<std::size_t>(slot_of_bin_[bin]);
    const std::int64_t offset = moment_offset_[slot];
    if (offset < 0) {
        exact_[slot].push_back(x);
        return;
    }
    const auto sub_bins = static_cast<double>(sub_bins_);
    const double fraction = std::clamp((grid.position(x) - static_cast<double>(bin)) * sub_bins, 0.0, sub_bins - 1);
    double* moment = moments_.data() + offset + 3 * static_cast<std::ptrdiff_t>(fraction);
    const double d = x - base_.reference();
    moment[0] += 1.0;
    moment[1] += d;
    moment[2] += d * d;
}

template <class T>
void BinRefiner::add(std::span<const T> samples)
{
    const HistogramGrid& grid = base_.grid();
    const double lo = base_.lo(), hi = base_.hi(), tolerance = tolerance_;
    const std::int32_t* slot_of_bin = slot_of_bin_.data();
    // Most samples fall in unflagged bins: find the flagged ones in a branch-free
    // first loop, then handle only those.
    constexpr std::size_t kBlock = 256;
    std::uint32_t hits[kBlock];
    for (std::size_t begin = 0; begin < samples.size(); begin += kBlock) {
        const std::size_t count = std::min(kBlock, samples.size() - begin);
        const T* block = samples.data() + begin;
        std::size_t found = 0;
        for (std::size_t i = 0; i < count; ++i) {
            hits[found] = static_cast<std::uint32_t>(i);
            found += slot_of_bin[grid.bin_of(std::clamp(static_cast<double>(block[i]), lo, hi))] >= 0;
        }
        for (std::size_t h = 0; h < found; ++h) {
            const double x = std::clamp(static_cast<double>(block[hits[h]]), lo, hi);
            if (std::abs(x - lo) <= tolerance || std::abs(x - hi) <= tolerance) continue;
            refine_sample<T>(x);
        }
    }
}

template void BinRefiner::add<float>(std::span<const float>);
template void BinRefiner::add<double>(std::span<const double>);


SampleSummary BinRefiner::finish() const
{
    const HistogramGrid& grid = base_.grid();
    const double reference = base_.reference();
    std::vector<Atom> atoms;
    for (const Atom& atom : base_.atoms()) {
        const std::int32_t slot = atom.bin >= 0 ? slot_of_bin_[static_cast<std::size_t>(atom.bin)] : -1;
        if (slot < 0) {
            atoms.push_back(atom);
            continue;
        }
        const auto s = static_cast<std::size_t>(slot);
        if (moment_offset_[s] < 0) {
            std::vector<double> values = exact_[s];
            std::sort(values.begin(), values.end());
            for (std::size_t i = 0; i < values.size();) {
                std::size_t j = i;
                while (j < values.size() && values[j] == values[i]) ++j;
                const double d = values[i] - reference, count = static_cast<double>(j - i);
                atoms.push_back({count, count * d, count * d * d, values[i], values[i], Boundary::none, -1});
                i = j;
            }
            continue;
        }
        const double* moment = moments_.data() + moment_offset_[s];
        const double width = (atom.max - atom.min) / static_cast<double>(sub_bins_);
        for (std::size_t k = 0; k < sub_bins_; ++k) {
            const double* m = moment + 3 * k;
            if (m[0] == 0) continue;
            const double edge = grid.edge(static_cast<std::size_t>(atom.bin)) + static_cast<double>(k) * width;
            atoms.push_back({m[0], m[1], m[2], edge, edge + width, Boundary::none, -1});
        }
    }
    return SampleSummary(std::move(atoms), reference, base_.lo(), base_.hi(), false, grid);
}

std::size_t default_histogram_bins(int bits)
{
    const std::size_t levels = std::size_t{1} << bits;
    return std::clamp<std::size_t>(256 * levels, 4096, std::size_t{1} << 18);
}

}  // namespace nladc
