#pragma once
// The `nladc dnn` config file ("format": "nladc-dnn", version 1; docs/dnn.md): the
// study's choices, the training and fine-tuning parameters, read and written here.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nladc/core/params.hpp"
#include "nladc/io/json.hpp"

namespace nladc::dnn {

struct TrainParams {
    int hidden1 = 256;              ///< units of the first hidden layer
    int hidden2 = 128;              ///< units of the second hidden layer
    int epochs = 10;                ///< passes over the training set
    int batch_size = 128;
    double learning_rate = 1e-3;    ///< Adam step size
    double learning_rate_decay = 0.8;  ///< step size multiplied by this after every epoch
    std::uint64_t seed = 1;         ///< initialization and shuffling
};
const ParamTable<TrainParams>& train_table();

struct FinetuneParams {
    int epochs = 3;
    double learning_rate = 3e-5;  ///< Adam step size: a quarter of the float run's last one
    int batch_size = 128;
};
const ParamTable<FinetuneParams>& finetune_table();

struct DnnConfig {
    std::string dataset_dir;      ///< IDX .gz files; "" = /usr/share/datasets/fashion-mnist
    std::string cache_dir;        ///< trained weights; "" = $XDG_CACHE_HOME/nladc or ~/.cache/nladc
    std::string technology;       ///< technology JSON; "" = the defaults
    TrainParams train;
    FinetuneParams finetune;
    std::vector<std::string> methods = {"linear", "lloyd-max", "cdf", "kmeans", "bs-kmq"};
    std::vector<int> bits = {2, 3, 4, 5, 6};
    std::vector<std::string> finetune_methods = {"bs-kmq", "linear"};
    std::vector<int> finetune_bits = {2, 3, 4};
    int calibration_images = 2000;  ///< training images whose activations fit the level sets
    double clip_quantile = 0.999;   ///< ADC range top hi: this quantile of a layer's activations
    int test_images = 0;            ///< ideal condition: first N test images; 0 = all
    int chips = 20;                 ///< Monte Carlo chips of the nonideal condition
    int nonideal_images = 2000;     ///< fixed test subset (the first N) of the nonideal condition
    std::uint64_t seed = 1;         ///< Monte Carlo seed (chip c uses streams keyed by (seed, c))
    int threads = 0;                ///< 0 = all cores; results do not depend on it
};

}  // namespace nladc::dnn

namespace nladc::io {
/// Reads and validates a config ("format": "nladc-dnn", version 1); relative paths
/// against the file's directory. Throws InputError naming the key and value.
dnn::DnnConfig read_dnn_config(const std::filesystem::path& file);
dnn::DnnConfig dnn_config_from_json(const Json& object, const JsonPlace& place);
OrderedJson dnn_config_to_json(const dnn::DnnConfig& config);
/// Makes relative paths absolute against `base` and checks the named files exist.
void resolve_dnn_paths(dnn::DnnConfig& config, const std::filesystem::path& base, const JsonPlace& place);
/// Markdown reference of every key (a table with its header).
std::string describe_dnn_config();
/// The table's rows with every key under `section` ("" = top level).
std::string describe_dnn_config_rows(const std::string& section);
}  // namespace nladc::io
