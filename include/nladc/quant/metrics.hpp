#pragma once
// The one shared scorer (BRIEF §3): quantization error of a level set over samples,
// accumulated in a streaming pass so every method is judged by the same code on
// the same raw data. MSE is over all samples; "interior" means lo < x < hi.

#include <cstdint>
#include <span>
#include <vector>

#include "nladc/quant/levelset.hpp"

namespace nladc {

struct QuantizationMetrics {
    std::uint64_t samples = 0;
    std::uint64_t interior_samples = 0;
    double mse = 0.0;           ///< mean of (x - q(x))^2 over all samples
    double mse_interior = 0.0;  ///< the same over lo < x < hi (0 when none)
    double mean_square = 0.0;   ///< E[x^2]
    double relative_mse = 0.0;  ///< mse / E[x^2]
    double sqnr_db = 0.0;       ///< 10 log10(E[x^2] / mse); +inf when mse = 0
    double max_abs_error = 0.0;
    std::vector<std::uint64_t> occupancy;  ///< samples per code
    std::vector<int> unoccupied_codes;     ///< codes no sample landed in
};

class MetricsAccumulator {
public:
    explicit MetricsAccumulator(const LevelSet& set);
    template <class T>
    void add(std::span<const T> samples);
    QuantizationMetrics result() const;

private:
    const LevelSet* set_;
    std::uint64_t samples_ = 0, interior_ = 0;
    long double squared_error_ = 0, interior_squared_error_ = 0, square_ = 0;
    double max_abs_error_ = 0;
    std::vector<std::uint64_t> occupancy_;
};

/// Scores `set` on in-memory samples.
template <class T>
QuantizationMetrics score(const LevelSet& set, std::span<const T> samples)
{
    MetricsAccumulator accumulator(set);
    accumulator.add(samples);
    return accumulator.result();
}

}  // namespace nladc
