#include "nladc/core/random.hpp"

#include <Random123/philox.h>

#include <cmath>
#include <numbers>

namespace nladc {

namespace {
__extension__ typedef unsigned __int128 uint128;  // GCC/Clang extension, exact 64x64 product
}

std::uint64_t RandomStream::next_u64()
{
    if (pending_count_ == 0) {
        r123::Philox2x64 generator;
        const r123::Philox2x64::ctr_type counter = {{stream_, counter_++}};
        const r123::Philox2x64::key_type key = {{seed_}};
        const auto block = generator(counter, key);
        pending_[0] = block.v[0];
        pending_[1] = block.v[1];
        pending_count_ = 2;
    }
    return pending_[--pending_count_];
}

double RandomStream::uniform()
{
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double RandomStream::uniform_open()
{
    return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53;
}

double RandomStream::normal()
{
    if (has_spare_normal_) {
        has_spare_normal_ = false;
        return spare_normal_;
    }
    const double radius = std::sqrt(-2.0 * std::log(uniform_open()));
    const double angle = 2.0 * std::numbers::pi * uniform();
    spare_normal_ = radius * std::sin(angle);
    has_spare_normal_ = true;
    return radius * std::cos(angle);
}

std::uint64_t RandomStream::below(std::uint64_t n)
{
    // Lemire's multiply-shift with rejection of the biased low band.
    while (true) {
        const uint128 product = static_cast<uint128>(next_u64()) * n;
        const auto low = static_cast<std::uint64_t>(product);
        if (low >= (-n) % n) return static_cast<std::uint64_t>(product >> 64);
    }
}

}  // namespace nladc
