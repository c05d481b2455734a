// libFuzzer harness: technology files (nladc-technology): the parameter tables, ranges,
// choices and the cross-checks of find_technology_violation. An accepted technology
// must pass those checks again and survive a write / read round trip unchanged.
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"
#include "nladc/documents/technology_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace nladc::io;
    const auto file = nladc::fuzz::write_input("input.json", data, size);
    nladc::Technology tech;
    try {
        tech = read_technology(file);
    } catch (const nladc::Error&) {
        return 0;
    }
    NLADC_FUZZ_CHECK(nladc::find_technology_violation(tech).first.empty());
    const std::string text = dump_json(technology_to_json(tech));
    const nladc::Technology back = technology_from_json(parse_json(text, "round-trip.json"), JsonPlace("round-trip.json"));
    NLADC_FUZZ_CHECK(dump_json(technology_to_json(back)) == text);
    return 0;
}
