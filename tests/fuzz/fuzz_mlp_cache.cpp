// libFuzzer harness: the trained-weight cache file (dnn::load_mlp): header, layer shapes,
// payload length, checksum. An accepted file has layers that chain (each layer's inputs =
// the previous layer's outputs) and one bias per output; the key must match exactly.
#include "fuzz_common.hpp"

#include "nladc/dnn/mlp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto file = nladc::fuzz::write_input("net.bin", data, size);
    try {
        const std::optional<nladc::dnn::Mlp> net = nladc::dnn::load_mlp(file, "k");
        if (!net) return 0;
        NLADC_FUZZ_CHECK(!net->layers.empty());
        for (std::size_t l = 0; l < net->layers.size(); ++l) {
            NLADC_FUZZ_CHECK(net->layers[l].bias.size() == net->layers[l].weights.rows());
            if (l > 0) NLADC_FUZZ_CHECK(net->layers[l].weights.cols() == net->layers[l - 1].weights.rows());
        }
    } catch (const nladc::Error&) {
    }
    return 0;
}
