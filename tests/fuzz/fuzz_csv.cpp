// libFuzzer harness: the CSV / text reader (tokens, separators, comments, empty fields,
// nan/inf words, BOM, CRLF, long tokens). The counting pass at open validates the whole
// file, so once open_array succeeded the data pass must neither fail nor disagree with
// the count (check_array with validated_at_open).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto file = nladc::fuzz::write_input("input.csv", data, size);
    nladc::fuzz::check_array(file, "", true);
    return 0;
}
