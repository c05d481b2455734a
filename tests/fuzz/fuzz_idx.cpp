// libFuzzer harness: the IDX reader of dnn/dataset.hpp (gzip or plain; magic, dimension
// count, sizes, labels). The first byte picks which file gets the fuzzer's other bytes,
// the image file or the label file; the other one is a valid file of 3 images.
// Invariants of an accepted pair: pixel count = height x width, one label per image,
// pixels in [0, 1], labels in [0, 10).
#include "fuzz_common.hpp"

#include "nladc/dnn/dataset.hpp"

namespace {

std::string be32(std::uint32_t v)
{
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    std::string images = be32(0x803) + be32(3) + be32(2) + be32(2) + std::string(12, '\x7f');
    std::string labels = be32(0x801) + be32(3) + std::string("\x01\x02\x03", 3);
    const std::string fuzzed(reinterpret_cast<const char*>(data + 1), size - 1);
    (data[0] & 1 ? labels : images) = fuzzed;
    const auto image_file = nladc::fuzz::write_input("images.idx", images);
    const auto label_file = nladc::fuzz::write_input("labels.idx", labels);
    try {
        const nladc::dnn::ImageSet set = nladc::dnn::read_idx(image_file, label_file);
        NLADC_FUZZ_CHECK(set.height > 0 && set.width > 0);
        NLADC_FUZZ_CHECK(set.images.rows() == static_cast<Eigen::Index>(set.height) * set.width);
        NLADC_FUZZ_CHECK(set.images.cols() == set.size() && set.size() > 0);
        NLADC_FUZZ_CHECK(set.images.minCoeff() >= 0.0f && set.images.maxCoeff() <= 1.0f);
        for (const auto label : set.labels) NLADC_FUZZ_CHECK(label < 10);
    } catch (const nladc::Error&) {
    }
    return 0;
}
