#pragma once
// Counter-based random numbers (Random123 Philox2x64-10, Salmon et al., SC'11).
//
// A stream is keyed by (seed, stream id); draw i of a stream is a pure function of
// (seed, stream, i). Monte Carlo trial t uses stream t, so its numbers do not depend
// on which thread runs it or how the trials are split into shards.

#include <cstdint>

namespace nladc {

class RandomStream {
public:
    RandomStream(std::uint64_t seed, std::uint64_t stream) : seed_(seed), stream_(stream) {}

    /// 64 uniformly distributed bits.
    std::uint64_t next_u64();
    /// Uniform in [0, 1) with 53 random bits.
    double uniform();
    /// Uniform in the open interval (0, 1).
    double uniform_open();
    /// Standard normal (Box-Muller on two uniform_open draws; the second value is kept).
    double normal();
    /// Uniform integer in [0, n) without modulo bias; n > 0.
    std::uint64_t below(std::uint64_t n);

private:
    std::uint64_t seed_, stream_;
    std::uint64_t counter_ = 0;
    std::uint64_t pending_[2] = {0, 0};
    int pending_count_ = 0;
    double spare_normal_ = 0.0;
    bool has_spare_normal_ = false;
};

}  // namespace nladc
