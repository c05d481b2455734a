#include "nladc/core/cpu.hpp"

namespace nladc {

bool cpu_has_avx2()
{
    static const bool available = __builtin_cpu_supports("avx2");
    return available;
}

}  // namespace nladc
