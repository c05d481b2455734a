// libFuzzer harness: level-set files (nladc-levelset and nladc-levelsets). Every layer
// the file lists is read; an accepted level set must satisfy check_levelset (finite,
// sorted, sizes, LSB) and must survive a write / read round trip unchanged.
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"
#include "nladc/documents/levelset_file.hpp"

namespace {

void round_trip(const nladc::io::LevelSetRecord& record)
{
    using namespace nladc::io;
    const std::string text = dump_json(levelset_to_json(record));
    // Outside any try: what the writer wrote must read back (an Error here is a finding).
    const LevelSetRecord back = levelset_from_json(parse_json(text, "round-trip.json"), JsonPlace("round-trip.json"));
    const nladc::LevelSet &a = record.set, &b = back.set;
    NLADC_FUZZ_CHECK(a.bits == b.bits && a.lo == b.lo && a.hi == b.hi);
    NLADC_FUZZ_CHECK(nladc::fuzz::same_bits(a.levels, b.levels));
    NLADC_FUZZ_CHECK(nladc::fuzz::same_bits(a.thresholds, b.thresholds));
    NLADC_FUZZ_CHECK(a.empty_codes == b.empty_codes && a.method == b.method && a.variant == b.variant);
    NLADC_FUZZ_CHECK(a.parameters == b.parameters);
    NLADC_FUZZ_CHECK(record.input.has_value() == back.input.has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto file = nladc::fuzz::write_input("input.json", data, size);
    std::vector<std::string> layers;
    try {
        layers = nladc::io::levelset_layers(file);
    } catch (const nladc::Error&) {
    }
    if (layers.empty() || !layers.front().empty()) layers.push_back("");
    for (const std::string& layer : layers) {
        nladc::io::LevelSetRecord record;
        try {
            record = nladc::io::read_levelset(file, layer);
        } catch (const nladc::Error&) {
            continue;
        }
        nladc::fuzz::check_levelset(record.set);
        round_trip(record);
    }
    return 0;
}
