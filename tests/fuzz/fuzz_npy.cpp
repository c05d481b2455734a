// libFuzzer harness: the .npy reader (header dictionary, dtype, shape, byte and memory
// order, float16/32/64 conversion, size checks). Invariants: see check_array.
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto file = nladc::fuzz::write_input("input.npy", data, size);
    try {
        const auto arrays = nladc::io::list_arrays(file);
        NLADC_FUZZ_CHECK(arrays.size() == 1 && arrays[0].name.empty());
    } catch (const nladc::Error&) {
    }
    nladc::fuzz::check_array(file, "");
    return 0;
}
