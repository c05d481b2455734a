// libFuzzer harness: raw little-endian float32 (.f32): the size check and the binary
// reader without a header (check_array).
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto file = nladc::fuzz::write_input("input.f32", data, size);
    try {
        const auto arrays = nladc::io::list_arrays(file);
        NLADC_FUZZ_CHECK(arrays.size() == 1 && arrays[0].count == size / 4);
    } catch (const nladc::Error&) {
    }
    nladc::fuzz::check_array(file, "");
    return 0;
}
