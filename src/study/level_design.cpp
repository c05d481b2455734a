#include "nladc/study/level_design.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <cmath>
#include <limits>

#include "nladc/core/error.hpp"
#include "nladc/core/sha256.hpp"

namespace nladc {

namespace {
constexpr std::size_t kChunk = 1 << 16;
}

ActivationLayer::ActivationLayer(std::filesystem::path file, std::string layer, io::NonFinitePolicy policy,
                                 std::uint64_t memory_limit)
    : file_(std::move(file)), layer_(std::move(layer)), policy_(policy)
{
    min_ = std::numeric_limits<double>::infinity();
    max_ = -std::numeric_limits<double>::infinity();
    io::SampleStream stream(io::open_array(file_, layer_), policy_);
    const bool keep = stream.reader().info().count <= memory_limit;
    if (keep) cached_.reserve(stream.reader().info().count);
    std::vector<double> chunk(kChunk);
    while (const std::size_t got = stream.read(chunk)) {
        const auto [low, high] = sample_range(std::span<const double>(chunk.data(), got));
        min_ = std::min(min_, low);
        max_ = std::max(max_, high);
        if (keep) cached_.insert(cached_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
        samples_ += got;
    }
    dropped_ = stream.dropped();
    if (samples_ == 0)
        throw InputError(label(), "", dropped_ > 0 ? fmt::format("all {} values are NaN or Inf", dropped_)
                                                   : std::string("holds no samples"));
}

ActivationLayer::ActivationLayer(std::vector<double> samples, std::string label, io::NonFinitePolicy policy)
    : file_(std::move(label)), policy_(policy), in_memory_(true)
{
    std::size_t kept = 0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const double v = samples[i];
        if (!std::isfinite(v)) {
            if (policy_ == io::NonFinitePolicy::error)
                throw InputError(file_.string(), fmt::format("element {}", i),
                                 std::isnan(v) ? "is NaN" : (v > 0 ? "is +Inf" : "is -Inf"));
            ++dropped_;
            continue;
        }
        samples[kept++] = v;
    }
    samples.resize(kept);
    samples_ = kept;
    if (samples_ == 0)
        throw InputError(file_.string(), "", dropped_ > 0 ? fmt::format("all {} values are NaN or Inf", dropped_)
                                                          : std::string("holds no samples"));
    std::tie(min_, max_) = sample_range(std::span<const double>(samples));
    cached_ = std::move(samples);
}

std::string ActivationLayer::label() const
{
    const std::string name = file_.string();
    return layer_.empty() ? name : name + "[" + layer_ + "]";
}

template <class Visit>
void ActivationLayer::for_each_chunk(Visit&& visit) const
{
    if (!cached_.empty()) {
        for (std::size_t begin = 0; begin < cached_.size(); begin += kChunk)
            visit(std::span<const double>(cached_.data() + begin, std::min(kChunk, cached_.size() - begin)));
        return;
    }
    io::SampleStream stream(io::open_array(file_, layer_), policy_);
    std::vector<double> chunk(kChunk);
    while (const std::size_t got = stream.read(chunk)) visit(std::span<const double>(chunk.data(), got));
}

std::pair<double, double> ActivationLayer::range(const SummaryOptions& options) const
{
    const double lo = options.lo.value_or(min_), hi = options.hi.value_or(max_);
    if (!(lo < hi)) {
        if (!options.lo && !options.hi)
            throw InputError(label(), "", fmt::format("all {} samples equal {}; give the range with --lo/--hi",
                                                      samples_, min_));
        throw InputError(label(), "range", fmt::format("lo = {} is not below hi = {}", lo, hi));
    }
    return {lo, hi};
}

const SampleSummary& ActivationLayer::summarize(int bits, const SummaryOptions& options)
{
    const auto [lo, hi] = range(options);
    const bool exact = samples_ <= options.exact_max_samples;
    const std::size_t bins = exact ? 0 : (options.histogram_bins ? options.histogram_bins : default_histogram_bins(bits));
    const auto key = std::make_tuple(lo, hi, bins, options.boundary_tolerance);
    if (auto found = summaries_.find(key); found != summaries_.end()) return found->second;

    if (exact) {
        const std::vector<double> samples = load();
        return summaries_
            .emplace(key, summarize_exact(std::span<const double>(samples), lo, hi, options.boundary_tolerance))
            .first->second;
    }
    // Samples are clamped to [lo, hi] (summary.hpp), so the bins span exactly the range.
    HistogramBuilder builder(lo, hi, lo, hi, bins, options.boundary_tolerance);
    for_each_chunk([&](std::span<const double> chunk) { builder.add(chunk); });
    return summaries_.emplace(key, builder.finish()).first->second;
}

namespace {

/// Fits to a histogram summary, then refines (see ActivationLayer::fit). `for_each_chunk`
/// feeds every sample to the BinRefiner it is given, one pass per call.
template <class ForEachChunk>
LevelSet fit_refined(const SampleSummary& base, const QuantizerOptions& options, double tolerance,
                     ForEachChunk&& for_each_chunk)
{
    LevelSet set = fit_levels(base, options);
    const HistogramGrid& grid = base.grid();
    if (base.exact() || grid.bins == 0) return set;

    set.parameters.emplace_back("histogram_bins", static_cast<double>(grid.bins));
    constexpr int kMaxRounds = 4;
    // Bins re-resolved on each side of a threshold's bin; a refit is settled when every
    // threshold's own bin and its direct neighbours are re-resolved.
    constexpr std::ptrdiff_t kFlagMargin = 2, kSettledMargin = 1;
    std::vector<bool> flagged(grid.bins, false);
    int rounds = 0;
    bool settled = false;
    while (rounds < kMaxRounds) {
        bool covered = true;
        for (double threshold : set.thresholds) {
            const auto center = static_cast<std::ptrdiff_t>(grid.bin_of(threshold));
            for (std::ptrdiff_t b = center - kFlagMargin; b <= center + kFlagMargin; ++b) {
                if (b < 0 || b >= static_cast<std::ptrdiff_t>(grid.bins) || flagged[static_cast<std::size_t>(b)])
                    continue;
                if (std::abs(b - center) <= kSettledMargin) covered = false;
                flagged[static_cast<std::size_t>(b)] = true;
            }
        }
        if (covered) {
            settled = true;
            break;
        }
        BinRefiner refiner(base, flagged, tolerance);
        for_each_chunk(refiner);
        set = fit_levels(refiner.finish(), options);
        set.parameters.emplace_back("histogram_bins", static_cast<double>(grid.bins));
        ++rounds;
    }
    set.parameters.emplace_back("refine_rounds", rounds);
    set.parameters.emplace_back("refine_settled", settled ? 1.0 : 0.0);
    return set;
}

}  // namespace

LevelSet ActivationLayer::fit(int bits, const QuantizerOptions& options, const SummaryOptions& summary_options)
{
    QuantizerOptions with_bits = options;
    with_bits.bits = bits;
    return fit_refined(summarize(bits, summary_options), with_bits, summary_options.boundary_tolerance,
                       [this](BinRefiner& refiner) {
                           for_each_chunk([&](std::span<const double> chunk) { refiner.add(chunk); });
                       });
}

LevelSet fit_in_memory(std::span<const float> samples, const QuantizerOptions& options,
                       const SummaryOptions& summary_options)
{
    if (samples.empty()) throw Error("no samples to fit");
    // The data's own range only where the options leave an end open (a pass over the samples).
    double lo = 0.0, hi = 0.0;
    if (summary_options.lo && summary_options.hi) {
        lo = *summary_options.lo;
        hi = *summary_options.hi;
    } else {
        const auto [data_min, data_max] = sample_range(samples);
        lo = summary_options.lo.value_or(data_min);
        hi = summary_options.hi.value_or(data_max);
    }
    if (!(lo < hi)) throw Error(fmt::format("the range [{}, {}] is empty", lo, hi));
    if (samples.size() <= summary_options.exact_max_samples)
        return fit_levels(summarize_exact(samples, lo, hi, summary_options.boundary_tolerance), options);
    const std::size_t bins =
        summary_options.histogram_bins ? summary_options.histogram_bins : default_histogram_bins(options.bits);
    HistogramBuilder builder(lo, hi, lo, hi, bins,
                             summary_options.boundary_tolerance);
    builder.add(samples);
    return fit_refined(builder.finish(), options, summary_options.boundary_tolerance,
                       [&](BinRefiner& refiner) { refiner.add(samples); });
}

std::vector<QuantizationMetrics> ActivationLayer::score(const std::vector<LevelSet>& sets) const
{
    std::vector<MetricsAccumulator> accumulators;
    accumulators.reserve(sets.size());
    for (const LevelSet& set : sets) accumulators.emplace_back(set);
    for_each_chunk([&](std::span<const double> chunk) {
        for (auto& accumulator : accumulators) accumulator.add(chunk);
    });
    std::vector<QuantizationMetrics> results;
    for (const auto& accumulator : accumulators) results.push_back(accumulator.result());
    return results;
}

DataProvenance ActivationLayer::provenance() const
{
    if (in_memory_) {
        const std::string_view bytes(reinterpret_cast<const char*>(cached_.data()), cached_.size() * sizeof(double));
        return {file_.string(), layer_, samples_, dropped_, sha256_hex(bytes)};
    }
    return {file_.filename().string(), layer_, samples_, dropped_, sha256_file(file_)};
}

std::vector<double> ActivationLayer::load() const
{
    if (!cached_.empty()) return cached_;
    std::vector<double> samples;
    samples.reserve(samples_);
    for_each_chunk([&](std::span<const double> chunk) { samples.insert(samples.end(), chunk.begin(), chunk.end()); });
    return samples;
}

std::vector<std::string> layer_names(const std::filesystem::path& file)
{
    std::vector<std::string> names;
    for (const auto& info : io::list_arrays(file)) names.push_back(info.name);
    return names;
}

}  // namespace nladc

namespace nladc {

DesignedLevels design_levels(ActivationLayer& data, const QuantizerOptions& options, const SummaryOptions& summary)
{
    // Hash the file on the other core while fitting.
    auto provenance = std::async(std::launch::async, [&data] { return data.provenance(); });
    DesignedLevels result;
    result.set = data.fit(options.bits, options, summary);
    result.metrics = data.score({result.set}).front();
    result.input = provenance.get();
    return result;
}

}  // namespace nladc
