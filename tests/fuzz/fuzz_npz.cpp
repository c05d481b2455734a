// libFuzzer harness: the .npz reader (end-of-central-directory search, zip64 records
// and extra fields, local headers, stored and deflated members, CRC-32) and the .npy
// header of each member. Every listed member is opened and read (check_array), and
// the single-member shortcut (empty name) is tried too.
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto file = nladc::fuzz::write_input("input.npz", data, size);
    std::vector<nladc::io::ArrayInfo> arrays;
    try {
        arrays = nladc::io::list_arrays(file);
    } catch (const nladc::Error&) {
    }
    for (const auto& info : arrays) {
        NLADC_FUZZ_CHECK(!info.name.empty() || arrays.size() == 1);
        nladc::fuzz::check_array(file, info.name);
    }
    nladc::fuzz::check_array(file, "");
    return 0;
}
