#pragma once
// A multilayer perceptron trained in C++ with Eigen: the reference network of the
// network-level accuracy study (docs/dnn.md).
//
// Layers z = W a + b; hidden activations ReLU, or an NL-ADC level set (ReLU and
// quantization in one: a(z) = levels[code(z)], code(z) = #{thresholds < z}, so a
// negative MAC gives code 0). Loss: softmax cross-entropy; optimizer: Adam (Kingma &
// Ba 2015); initialization: He normal. Quantization-aware fine-tuning passes the
// gradient straight through the quantizer inside its range (clipped straight-through
// estimator, Bengio et al. 2013): da/dz = 1 for lo < z < hi, else 0.
//
// Training is single-threaded Eigen and every draw comes from RandomStream(seed, ...),
// so the same data and parameters give bit-identical weights.

#include <Eigen/Dense>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nladc/dnn/dataset.hpp"
#include "nladc/documents/dnn_config.hpp"
#include "nladc/quant/levelset.hpp"

namespace nladc::dnn {

struct DenseLayer {
    Eigen::MatrixXf weights;  ///< outputs x inputs
    Eigen::VectorXf bias;     ///< one per output
};

struct Mlp {
    std::vector<DenseLayer> layers;  ///< hidden layers, then the output layer
    int inputs() const { return layers.empty() ? 0 : static_cast<int>(layers.front().weights.cols()); }
    int hidden_layers() const { return static_cast<int>(layers.size()) - 1; }
};

/// Per hidden layer: the NL-ADC level set its activation goes through (quantized
/// training and inference), or none for ReLU.
using HiddenQuantizers = std::vector<const LevelSet*>;

/// Called after every epoch with (epoch, epochs, mean training loss).
using EpochProgress = std::function<void(int, int, double)>;

/// A freshly initialized 784-h1-h2-10 network, trained on `train`.
Mlp train_mlp(const ImageSet& train, const TrainParams& params, const EpochProgress& progress = {});

/// Quantization-aware fine-tuning of `net` in place with the hidden quantizers
/// (straight-through estimator), shuffled with `seed`.
void finetune_mlp(Mlp& net, const ImageSet& train, const HiddenQuantizers& quantizers, const FinetuneParams& params,
                  std::uint64_t seed, const EpochProgress& progress = {});

/// Float forward pass; returns the hidden activations of every layer when `hidden` is
/// given (each hidden units x images). `quantizers` empty: ReLU everywhere.
Eigen::MatrixXf forward(const Mlp& net, const Eigen::MatrixXf& inputs, const HiddenQuantizers& quantizers = {},
                        std::vector<Eigen::MatrixXf>* hidden = nullptr);

/// Fraction of images whose largest logit is the label.
double accuracy(const Eigen::MatrixXf& logits, const std::vector<std::uint8_t>& labels);

/// Identity of a training run: SHA-256 over the data's hash, the parameters and the
/// training code's revision (a change of any of them retrains).
std::string training_key(const std::string& data_sha256, const TrainParams& params);

/// Writes `net` with its key (binary float32, trailing SHA-256 of the payload), atomically.
void save_mlp(const std::filesystem::path& file, const Mlp& net, const std::string& key);
/// Reads a network written by save_mlp; nullopt when the file is absent or holds another
/// key. Throws InputError naming the file for a corrupt or truncated file.
std::optional<Mlp> load_mlp(const std::filesystem::path& file, const std::string& key);

}  // namespace nladc::dnn
