#include "nladc/quant/metrics.hpp"

#include <cmath>
#include <limits>

namespace nladc {

MetricsAccumulator::MetricsAccumulator(const LevelSet& set) : set_(&set), occupancy_(set.levels.size(), 0) {}

template <class T>
void MetricsAccumulator::add(std::span<const T> samples)
{
    const double* thresholds = set_->thresholds.data();
    const std::size_t count = set_->thresholds.size();
    const double* levels = set_->levels.data();
    const double lo = set_->lo, hi = set_->hi;
    // Chunk-local double sums keep the long double work out of the inner loop.
    double squared_error = 0.0, interior_squared_error = 0.0, square = 0.0, max_abs = max_abs_error_;
    std::uint64_t interior = 0;
    for (const T sample : samples) {
        const double x = static_cast<double>(sample);
        const std::size_t code = count_below(thresholds, count, x);
        const double error = x - levels[code];
        const double error_sq = error * error;
        ++occupancy_[code];
        squared_error += error_sq;
        square += x * x;
        max_abs = std::max(max_abs, std::abs(error));
        if (x > lo && x < hi) {
            interior_squared_error += error_sq;
            ++interior;
        }
    }
    samples_ += samples.size();
    interior_ += interior;
    squared_error_ += squared_error;
    interior_squared_error_ += interior_squared_error;
    square_ += square;
    max_abs_error_ = max_abs;
}

template void MetricsAccumulator::add<float>(std::span<const float>);
template void MetricsAccumulator::add<double>(std::span<const double>);

QuantizationMetrics MetricsAccumulator::result() const
{
    QuantizationMetrics metrics;
    metrics.samples = samples_;
    metrics.interior_samples = interior_;
    metrics.occupancy = occupancy_;
    metrics.max_abs_error = max_abs_error_;
    if (samples_ > 0) {
        const auto n = static_cast<long double>(samples_);
        metrics.mse = static_cast<double>(squared_error_ / n);
        metrics.mean_square = static_cast<double>(square_ / n);
    }
    if (interior_ > 0) metrics.mse_interior = static_cast<double>(interior_squared_error_ / interior_);
    metrics.relative_mse = metrics.mean_square > 0 ? metrics.mse / metrics.mean_square : 0.0;
    metrics.sqnr_db = metrics.mse > 0 ? 10.0 * std::log10(metrics.mean_square / metrics.mse)
                                      : std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < occupancy_.size(); ++k)
        if (occupancy_[k] == 0) metrics.unoccupied_codes.push_back(static_cast<int>(k));
    return metrics;
}

}  // namespace nladc
