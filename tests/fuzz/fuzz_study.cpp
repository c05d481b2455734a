// libFuzzer harness: Monte Carlo study files (nladc-study): top-level keys, variation,
// trim and spice sections, the cross-checks (stuck probabilities, spice.trials). An
// accepted study must satisfy those and survive a write / read round trip unchanged.
#include "fuzz_common.hpp"

#include "nladc/device/technology.hpp"
#include "nladc/core/error.hpp"
#include "nladc/documents/study_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace nladc::io;
    const auto file = nladc::fuzz::write_input("input.json", data, size);
    nladc::StudySpec spec;
    try {
        spec = read_study(file);
    } catch (const nladc::Error&) {
        return 0;
    }
    NLADC_FUZZ_CHECK(spec.trials >= 1 && spec.block_size >= 1);
    NLADC_FUZZ_CHECK(spec.spice.trials >= 0 && spec.spice.trials <= spec.trials && spec.spice.workers >= 1);
    const nladc::VariationParams& v = spec.variation;
    for (const double x : {v.v_read_sigma_rel, v.drift_factor_sigma, v.wire_resistance_sigma_rel})
        NLADC_FUZZ_CHECK(std::isfinite(x) && x >= 0 && x <= 1);
    // Every override is a variation key the technology accepts, in range.
    nladc::Technology overridden;
    for (const auto& [key, value] : spec.technology_overrides) {
        NLADC_FUZZ_CHECK(std::isfinite(value));
        nladc::set_technology_number(overridden, key, value);  // throws (a finding) when out of range
    }
    NLADC_FUZZ_CHECK(overridden.device.stuck_off_probability + overridden.device.stuck_on_probability <= 1);
    NLADC_FUZZ_CHECK(std::isfinite(spec.trim.inl_spec_lsb) && std::isfinite(spec.trim.dnl_spec));
    NLADC_FUZZ_CHECK(spec.trim.rounds >= 1);

    const std::string text = dump_json(study_to_json(spec));
    const nladc::StudySpec back = study_from_json(parse_json(text, "round-trip.json"), JsonPlace("round-trip.json"));
    NLADC_FUZZ_CHECK(dump_json(study_to_json(back)) == text);
    return 0;
}
