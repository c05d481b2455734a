// libFuzzer harness: nladc-dnn configurations (io::dnn_config_from_json): the parameter
// tables, the method and bit lists, the train and finetune sections. An accepted config
// must satisfy the documented ranges and survive a write / read round trip unchanged.
#include "fuzz_common.hpp"

#include "nladc/dnn/study.hpp"
#include "nladc/quant/quantizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace nladc::io;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    nladc::dnn::DnnConfig config;
    try {
        config = dnn_config_from_json(parse_json(text, "input.json"), JsonPlace("input.json"));
    } catch (const nladc::Error&) {
        return 0;
    }
    NLADC_FUZZ_CHECK(!config.methods.empty() && !config.bits.empty());
    for (const int bits : config.bits) NLADC_FUZZ_CHECK(bits >= 1 && bits <= 8);
    for (const int bits : config.finetune_bits) NLADC_FUZZ_CHECK(bits >= 1 && bits <= 8);
    for (const auto* list : {&config.methods, &config.finetune_methods})
        for (const std::string& method : *list) nladc::find_quantizer(method);  // throws: a finding
    NLADC_FUZZ_CHECK(config.clip_quantile >= 0.5 && config.clip_quantile <= 1);
    NLADC_FUZZ_CHECK(config.calibration_images >= 1 && config.nonideal_images >= 1 && config.chips >= 0);
    NLADC_FUZZ_CHECK(config.train.epochs >= 1 && config.train.batch_size >= 1 && config.train.hidden1 >= 1 &&
                     config.train.hidden2 >= 1 && config.finetune.epochs >= 1);
    NLADC_FUZZ_CHECK(std::isfinite(config.train.learning_rate) && config.train.learning_rate > 0);

    const std::string written = dump_json(dnn_config_to_json(config));
    const nladc::dnn::DnnConfig back = dnn_config_from_json(parse_json(written, "round-trip.json"), JsonPlace("round-trip.json"));
    NLADC_FUZZ_CHECK(dump_json(dnn_config_to_json(back)) == written);
    return 0;
}
