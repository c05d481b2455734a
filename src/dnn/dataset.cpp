#include "nladc/dnn/dataset.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <array>

#include "nladc/core/error.hpp"
#include "nladc/core/sha256.hpp"

namespace nladc::dnn {
namespace {

/// The whole (decompressed) content of a gzip or plain file. gzread passes plain files
/// through unchanged, so both work.
std::vector<std::uint8_t> read_gzip(const std::filesystem::path& file)
{
    if (!std::filesystem::is_regular_file(file)) throw InputError(file.string(), "", "no such file");
    gzFile in = gzopen(file.c_str(), "rb");
    if (!in) throw InputError(file.string(), "", "cannot be opened");
    std::vector<std::uint8_t> data;
    std::array<std::uint8_t, 1 << 16> buffer;
    for (;;) {
        const int n = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()));
        if (n < 0) {
            int code = 0;
            const std::string message = gzerror(in, &code);
            gzclose(in);
            throw InputError(file.string(), fmt::format("byte {}", data.size()), "corrupt gzip data: " + message);
        }
        if (n == 0) break;
        data.insert(data.end(), buffer.begin(), buffer.begin() + n);
    }
    gzclose(in);
    return data;
}

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& data, std::size_t offset)
{
    return (std::uint32_t{data[offset]} << 24) | (std::uint32_t{data[offset + 1]} << 16) |
           (std::uint32_t{data[offset + 2]} << 8) | std::uint32_t{data[offset + 3]};
}

/// Checks the IDX header (magic, dimension count) and returns the dimensions.
std::vector<std::uint32_t> idx_header(const std::vector<std::uint8_t>& data, const std::filesystem::path& file,
                                      std::uint32_t magic, int dimensions)
{
    const std::size_t header = 4 + 4 * static_cast<std::size_t>(dimensions);
    if (data.size() < header)
        throw InputError(file.string(), "byte 0", fmt::format("{} bytes is shorter than the {}-byte IDX header", data.size(), header));
    const std::uint32_t found = big_endian_u32(data, 0);
    if (found != magic)
        throw InputError(file.string(), "byte 0", fmt::format("magic number 0x{:08x} is not 0x{:08x}", found, magic));
    std::vector<std::uint32_t> dims;
    std::uint64_t total = 1;
    for (int d = 0; d < dimensions; ++d) {
        dims.push_back(big_endian_u32(data, 4 + 4 * static_cast<std::size_t>(d)));
        // Checked as it grows, so absurd dimensions cannot overflow the product.
        if (dims.back() != 0 && total > (data.size() - header) / dims.back())
            throw InputError(file.string(), fmt::format("byte {}", 4 + 4 * d),
                             fmt::format("dimension {} = {} promises more data than the {} bytes present", d,
                                         dims.back(), data.size() - header));
        total *= dims.back();
    }
    if (data.size() != header + total)
        throw InputError(file.string(), fmt::format("byte {}", std::min<std::uint64_t>(data.size(), header + total)),
                         fmt::format("{} data bytes where the header promises {}", data.size() - header, total));
    return dims;
}

}  // namespace

ImageSet ImageSet::subset(const std::vector<int>& indices) const
{
    ImageSet out;
    out.height = height;
    out.width = width;
    out.images.resize(images.rows(), static_cast<Eigen::Index>(indices.size()));
    out.labels.reserve(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) {
        out.images.col(static_cast<Eigen::Index>(i)) = images.col(indices[i]);
        out.labels.push_back(labels[static_cast<std::size_t>(indices[i])]);
    }
    return out;
}

ImageSet read_idx(const std::filesystem::path& images, const std::filesystem::path& labels, int classes)
{
    const std::vector<std::uint8_t> pixels = read_gzip(images);
    const std::vector<std::uint32_t> image_dims = idx_header(pixels, images, 0x00000803u, 3);
    const std::vector<std::uint8_t> label_bytes = read_gzip(labels);
    const std::vector<std::uint32_t> label_dims = idx_header(label_bytes, labels, 0x00000801u, 1);
    if (image_dims[0] != label_dims[0])
        throw InputError(labels.string(), "byte 4",
                         fmt::format("{} labels for {} images in {}", label_dims[0], image_dims[0], images.string()));
    if (image_dims[0] == 0 || image_dims[1] == 0 || image_dims[2] == 0)
        throw InputError(images.string(), "byte 4", "the image set is empty");

    ImageSet set;
    set.height = static_cast<int>(image_dims[1]);
    set.width = static_cast<int>(image_dims[2]);
    const Eigen::Index pixel_count = static_cast<Eigen::Index>(image_dims[1]) * image_dims[2];
    const Eigen::Index count = image_dims[0];
    set.images.resize(pixel_count, count);
    const std::uint8_t* p = pixels.data() + 16;
    for (Eigen::Index i = 0; i < count; ++i)
        for (Eigen::Index k = 0; k < pixel_count; ++k) set.images(k, i) = static_cast<float>(*p++) / 255.0f;
    set.labels.assign(label_bytes.begin() + 8, label_bytes.end());
    for (std::size_t i = 0; i < set.labels.size(); ++i)
        if (set.labels[i] >= classes)
            throw InputError(labels.string(), fmt::format("byte {} (label {})", 8 + i, i),
                             fmt::format("{} is not a class in [0, {})", int{set.labels[i]}, classes));
    return set;
}

std::filesystem::path default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

Dataset load_fashion_mnist(const std::filesystem::path& dir)
{
    const std::array<std::string, 4> names = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    Dataset data;
    data.train = read_idx(dir / names[0], dir / names[1]);
    data.test = read_idx(dir / names[2], dir / names[3]);
    if (data.train.images.rows() != data.test.images.rows())
        throw InputError((dir / names[2]).string(), "byte 8",
                         fmt::format("{}x{} test images differ from {}x{} training images", data.test.height,
                                     data.test.width, data.train.height, data.train.width));
    Sha256 hash;
    for (const std::string& name : names) hash.update(sha256_file(dir / name));
    data.sha256 = hash.hex_digest();
    return data;
}

}  // namespace nladc::dnn
