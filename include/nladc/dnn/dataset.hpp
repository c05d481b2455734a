#pragma once
// Image classification data in the IDX format of (Fashion-)MNIST, gzip-compressed
// (Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist/*.gz).
//
// IDX: big-endian magic 0x00000803 (uint8 images: count, rows, cols) or 0x00000801
// (uint8 labels: count), then the bytes. Pixels are scaled to [0, 1] by 1/255.

#include <Eigen/Dense>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nladc::dnn {

struct ImageSet {
    Eigen::MatrixXf images;             ///< pixels x images (one column per image), in [0, 1]
    std::vector<std::uint8_t> labels;   ///< one class per image
    int height = 0, width = 0;          ///< image size in pixels

    int size() const { return static_cast<int>(labels.size()); }
    /// The images and labels of `indices`, in that order.
    ImageSet subset(const std::vector<int>& indices) const;
};

/// Reads an image file and its label file (gzip or plain). Throws InputError naming the
/// file and byte offset for a wrong magic number, truncated data, a label outside
/// [0, classes) or differing counts.
ImageSet read_idx(const std::filesystem::path& images, const std::filesystem::path& labels, int classes = 10);

struct Dataset {
    ImageSet train, test;
    std::string sha256;  ///< over the four files' contents, in a fixed order (identifies the data)
};

/// The Debian package's directory.
std::filesystem::path default_fashion_mnist_dir();

/// train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-... in `dir`.
Dataset load_fashion_mnist(const std::filesystem::path& dir);

}  // namespace nladc::dnn
