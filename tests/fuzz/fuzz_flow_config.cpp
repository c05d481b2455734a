// libFuzzer harness: flow configurations (nladc-flow, io::flow_config_from_json): the
// parameter table, the lists, the range, the spice section and the embedded study. An
// accepted config must satisfy the documented ranges and survive a write / read round
// trip unchanged. (read_flow_config adds file-existence checks on the named paths.)
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"
#include "nladc/flow/flow.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace nladc::io;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    nladc::FlowConfig config;
    try {
        config = flow_config_from_json(parse_json(text, "input.json"), JsonPlace("input.json"));
    } catch (const nladc::Error&) {
        return 0;
    }
    NLADC_FUZZ_CHECK(config.bits >= 1 && config.bits <= 8);
    NLADC_FUZZ_CHECK(!config.compare_bits.empty() && !config.area_bits.empty());
    for (const auto* list : {&config.compare_bits, &config.area_bits})
        for (const int bits : *list) NLADC_FUZZ_CHECK(bits >= 1 && bits <= 16);
    for (const auto& format : config.exports)
        NLADC_FUZZ_CHECK(format == "json" || format == "csv" || format == "spice" || format == "veriloga");
    if (config.range_given) NLADC_FUZZ_CHECK(std::isfinite(config.lo) && std::isfinite(config.hi) && config.lo < config.hi);
    NLADC_FUZZ_CHECK(std::isfinite(config.spice.temperature_C));
    NLADC_FUZZ_CHECK(config.monte_carlo.trials >= 1 && config.monte_carlo.spice.trials >= 0 &&
                     config.monte_carlo.spice.trials <= config.monte_carlo.trials);
    if (!config.spice.enabled) NLADC_FUZZ_CHECK(config.monte_carlo.spice.trials == 0);
    NLADC_FUZZ_CHECK(config.monte_carlo.design.empty() && config.monte_carlo.technology.empty() &&
                     config.monte_carlo.calibration.empty() && config.monte_carlo.activations.empty());

    const std::string written = dump_json(flow_config_to_json(config));
    const nladc::FlowConfig back = flow_config_from_json(parse_json(written, "round-trip.json"), JsonPlace("round-trip.json"));
    NLADC_FUZZ_CHECK(dump_json(flow_config_to_json(back)) == written);
    return 0;
}
