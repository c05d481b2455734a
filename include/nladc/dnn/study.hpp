#pragma once
// `nladc dnn`: network-level accuracy of NL-ADC level sets on Fashion-MNIST
// (docs/dnn.md). Trains (or loads from the cache) the reference MLP, dumps the hidden
// activations of a calibration subset of the training images, fits a level set per
// hidden layer for every method and bit width, and measures test accuracy with the
// network on the hardware model (dnn/hardware.hpp):
//   ideal      nominal conductances and ideal circuits, every test image
//   nonideal   Monte Carlo chips (programming error, read noise, stuck cells, replica
//              programming, comparator offset and noise at the technology's values;
//              IR drop off), a fixed subset of the test images
//   finetuned  after quantization-aware fine-tuning with that level set, ideal circuits
// Outputs in DIR: accuracy.csv (method,bits,condition,mean,std,trials), accuracy.json,
// accuracy.png, summary.md, activations/ (.npz and .npy per layer), levels/.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "nladc/device/technology.hpp"
#include "nladc/dnn/dataset.hpp"
#include "nladc/dnn/mlp.hpp"
#include "nladc/documents/dnn_config.hpp"
#include "nladc/io/json.hpp"
#include "nladc/quant/levelset.hpp"

namespace nladc::dnn {

/// Hidden activations (ReLU, before any clipping) of a calibration subset, per hidden layer.
struct CalibrationActivations {
    std::vector<std::string> names;            ///< "fc1", "fc2", ...
    std::vector<std::vector<float>> values;    ///< per layer, images x units (row = image)
    std::vector<int> units;
    int images = 0;
    std::vector<double> hi;                    ///< per layer, the clip quantile (ADC range top)
};

/// The first `count` images of a seeded permutation of `train`, forward through `net`.
CalibrationActivations calibration_activations(const Mlp& net, const ImageSet& train, int count, double clip_quantile,
                                               std::uint64_t seed);

/// One level set per hidden layer, fit on that layer's activations clipped to [0, hi].
std::vector<LevelSet> fit_layer_levels(const CalibrationActivations& acts, const std::string& method, int bits);

struct AccuracyRow {
    std::string method;     ///< quantizer, or "float"
    int bits = 0;
    std::string condition;  ///< ideal | nonideal | finetuned | float
    double mean = 0, std = 0;
    int trials = 0;
};

struct DnnResult {
    std::vector<AccuracyRow> rows;  ///< float, then every method x bits ideal, then nonideal, then finetuned
    /// The ideal condition on the nonideal condition's images (for the Monte Carlo drop).
    std::vector<AccuracyRow> ideal_on_nonideal_images;
    bool trained = false;           ///< false: weights came from the cache
    std::filesystem::path model;    ///< the cached weights
    std::vector<std::string> layers;  ///< hidden layer names ("fc1", ...)
    std::vector<double> layer_hi;   ///< their ADC range tops
    int calibration_images = 0;
    int inputs = 0;           ///< pixels per image (784)
    int test_images = 0;      ///< images of the float, ideal and finetuned rows
    int nonideal_images = 0;  ///< images of the nonideal rows (a prefix of the test images)
    double seconds = 0;
};

/// The markdown summary; links get `link_prefix` (the output directory as seen from the
/// document), the title is a heading of `heading_level`.
std::string summary_markdown(const DnnConfig& config, const DnnResult& result, const std::string& link_prefix,
                             int heading_level);

struct DnnOptions {
    std::function<void(const std::string&)> progress;
};

/// The whole study into `out` (created). Throws InputError / Error with context.
DnnResult run_dnn(const DnnConfig& config, const std::filesystem::path& out, const DnnOptions& options = {});

}  // namespace nladc::dnn
