// libFuzzer harness: calibration files (nladc-calibration): format, the parameters object
// (names, numbers, gbw_scale > 0). An accepted file must give finite parameters that a
// file holding just them reads back unchanged.
#include "fuzz_common.hpp"

#include "nladc/adc/calibration_params.hpp"
#include "nladc/core/error.hpp"
#include "nladc/documents/calibration_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace nladc::io;
    const auto file = nladc::fuzz::write_input("input.json", data, size);
    nladc::CalibrationParams params;
    try {
        params = read_calibration(file);
    } catch (const nladc::Error&) {
        return 0;
    }
    for (const auto& name : nladc::calibration_parameter_names())
        NLADC_FUZZ_CHECK(std::isfinite(nladc::get_calibration_parameter(params, name)));
    NLADC_FUZZ_CHECK(params.gbw_scale > 0);

    OrderedJson document;
    document["format"] = "nladc-calibration";
    document["version"] = 1;
    document["parameters"] = calibration_params_to_json(params);
    const auto again = nladc::fuzz::write_input("round-trip.json", dump_json(document));
    const nladc::CalibrationParams back = read_calibration(again);
    for (const auto& name : nladc::calibration_parameter_names())
        NLADC_FUZZ_CHECK(nladc::get_calibration_parameter(back, name) == nladc::get_calibration_parameter(params, name));
    return 0;
}
