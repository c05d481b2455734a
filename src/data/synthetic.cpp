#include "nladc/data/synthetic.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"

namespace nladc {

void validate(const SyntheticSpec& spec)
{
    auto fail = [](const char* field, auto value, const char* why) {
        throw UsageError(fmt::format("{} = {}: {}", field, value, why));
    };
    if (spec.samples == 0) fail("n", spec.samples, "need at least one sample");
    if (spec.samples > (std::uint64_t{1} << 31)) fail("n", spec.samples, "at most 2^31 samples");
    if (!(spec.zeros_fraction >= 0 && spec.zeros_fraction <= 1)) fail("zeros", spec.zeros_fraction, "not in [0, 1]");
    if (!(spec.clamp_fraction >= 0 && spec.clamp_fraction <= 1))
        fail("clamp-frac", spec.clamp_fraction, "not in [0, 1]");
    if (spec.zeros_fraction + spec.clamp_fraction > 1)
        fail("zeros + clamp-frac", spec.zeros_fraction + spec.clamp_fraction, "exceeds 1");
    if (!(std::isfinite(spec.lo) && std::isfinite(spec.hi) && spec.lo < spec.hi))
        fail("clamp", spec.hi, "must be a finite value above lo");
    if (spec.distribution != "halfnormal" && spec.distribution != "lognormal" && spec.distribution != "uniform")
        fail("dist", spec.distribution, "expected halfnormal, lognormal or uniform");
    if (!(spec.sigma > 0 && std::isfinite(spec.sigma))) fail("sigma", spec.sigma, "must be positive");
    if (!std::isfinite(spec.mu)) fail("mu", spec.mu, "must be finite");
    // Interior draws are rejected outside (lo, hi); refuse specs where that would never end.
    const double lo_f = static_cast<float>(spec.lo), hi_f = static_cast<float>(spec.hi);
    if (std::nextafter(static_cast<float>(lo_f), static_cast<float>(hi_f)) >= hi_f)
        fail("clamp", spec.hi, "leaves no float32 value strictly between lo and hi");
    if (spec.distribution == "lognormal" && spec.hi <= 0) fail("clamp", spec.hi, "lognormal needs hi > 0");
}

std::vector<float> generate_synthetic(const SyntheticSpec& spec)
{
    validate(spec);
    const std::uint64_t n = spec.samples;
    const auto zeros = static_cast<std::uint64_t>(std::llround(spec.zeros_fraction * static_cast<double>(n)));
    const auto clamped = std::min<std::uint64_t>(
        n - zeros, static_cast<std::uint64_t>(std::llround(spec.clamp_fraction * static_cast<double>(n))));
    const float lo = static_cast<float>(spec.lo), hi = static_cast<float>(spec.hi);

    std::vector<float> samples(n);
    std::uint64_t i = 0;
    for (; i < zeros; ++i) samples[i] = lo;
    for (; i < zeros + clamped; ++i) samples[i] = hi;

    RandomStream interior_draws(spec.seed, 0);
    auto draw = [&]() -> double {
        if (spec.distribution == "uniform") return spec.lo + (spec.hi - spec.lo) * interior_draws.uniform_open();
        if (spec.distribution == "lognormal") return std::exp(spec.mu + spec.sigma * interior_draws.normal());
        return spec.lo + std::abs(spec.sigma * interior_draws.normal());
    };
    constexpr int kMaxRejections = 1000000;
    for (; i < n; ++i) {
        int attempts = 0;
        while (true) {
            const float x = static_cast<float>(draw());
            if (x > lo && x < hi) {
                samples[i] = x;
                break;
            }
            if (++attempts == kMaxRejections)
                throw UsageError(fmt::format("the {} distribution almost never falls inside ({}, {}); "
                                             "check sigma/mu against the clamp",
                                             spec.distribution, spec.lo, spec.hi));
        }
    }
    // Fisher-Yates with its own stream, so mixing does not disturb the interior draws.
    RandomStream shuffle(spec.seed, 1);
    for (std::uint64_t k = n; k > 1; --k) std::swap(samples[k - 1], samples[shuffle.below(k)]);
    return samples;
}

}  // namespace nladc
