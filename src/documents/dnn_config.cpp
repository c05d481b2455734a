// The nladc-dnn config file (docs/dnn.md).
#include <fmt/format.h>

#include <algorithm>

#include "nladc/core/error.hpp"
#include "nladc/documents/dnn_config.hpp"
#include "nladc/io/params_json.hpp"
#include "nladc/quant/quantizer.hpp"

namespace nladc {

namespace dnn {

const ParamTable<TrainParams>& train_table()
{
    using T = TrainParams;
    static const ParamTable<T> table = {
        {"hidden1", &T::hidden1, "", "units of the first hidden layer", "issue 8 (784-256-128-10)", 1, 4096},
        {"hidden2", &T::hidden2, "", "units of the second hidden layer", "issue 8 (784-256-128-10)", 1, 4096},
        {"epochs", &T::epochs, "", "training epochs", "choice (test accuracy >= 0.88)", 1, 1000},
        {"batch_size", &T::batch_size, "", "minibatch size", "choice", 1, 60000},
        {"learning_rate", &T::learning_rate, "", "Adam step size", "Kingma & Ba 2015", 1e-7, 1},
        {"learning_rate_decay", &T::learning_rate_decay, "", "step size factor per epoch", "choice", 0.01, 1},
        {"seed", &T::seed, "", "initialization and shuffling seed", "choice"},
    };
    return table;
}

const ParamTable<FinetuneParams>& finetune_table()
{
    using F = FinetuneParams;
    static const ParamTable<F> table = {
        {"epochs", &F::epochs, "", "quantization-aware fine-tuning epochs", "choice", 1, 100},
        {"learning_rate", &F::learning_rate, "", "Adam step size of the fine-tuning", "choice", 1e-8, 1},
        {"batch_size", &F::batch_size, "", "minibatch size of the fine-tuning", "choice", 1, 60000},
    };
    return table;
}

}  // namespace dnn

namespace {

using dnn::DnnConfig;

const ParamTable<DnnConfig>& dnn_table()
{
    using D = DnnConfig;
    static const ParamTable<D> table = {
        {"dataset_dir", &D::dataset_dir, "", "directory of the IDX .gz files; \"\" = /usr/share/datasets/fashion-mnist",
         "Debian dataset-fashion-mnist"},
        {"cache_dir", &D::cache_dir, "", "trained-weight cache; \"\" = $XDG_CACHE_HOME/nladc or ~/.cache/nladc", "choice"},
        {"technology", &D::technology, "", "technology JSON; \"\" = the defaults (wires are made ideal: IR drop off)",
         "choice"},
        {"calibration_images", &D::calibration_images, "", "training images whose activations fit the level sets",
         "choice", 1, 60000},
        {"clip_quantile", &D::clip_quantile, "", "ADC range top: this quantile of each layer's activations", "choice",
         0.5, 1},
        {"test_images", &D::test_images, "", "ideal condition: the first N test images; 0 = all 10 000", "choice", 0,
         10000},
        {"chips", &D::chips, "", "Monte Carlo chips of the nonideal condition", "issue 8 (>= 20)", 0, 100000},
        {"nonideal_images", &D::nonideal_images, "", "nonideal condition: the first N test images", "issue 8 (2000)", 1,
         10000},
        {"seed", &D::seed, "", "Monte Carlo seed", "choice"},
        {"threads", &D::threads, "", "worker threads; 0 = all cores (results do not depend on it)", "choice", 0, 256},
    };
    return table;
}

std::string method_name(const io::Json& value, const io::JsonPlace& at)
{
    const std::string name = io::as_string(value, at);
    try {
        find_quantizer(name);
    } catch (const Error& e) {
        at.fail(e.what());
    }
    return name;
}

std::string describe_list(const std::string& key, const std::string& value, const std::string& meaning)
{
    return fmt::format("| `{}` | – | {} | - | - | {} |\n", key, value, meaning);
}

}  // namespace

namespace io {

dnn::DnnConfig dnn_config_from_json(const Json& object, const JsonPlace& place)
{
    if (!object.is_object()) place.fail("expected an object");
    const std::vector<std::string_view> special = {"format", "version", "train", "finetune", "methods", "bits"};
    std::vector<std::string_view> keys = special;
    for (const auto& field : dnn_table()) keys.push_back(field.key);
    reject_unknown_keys(object, place, keys);
    check_format_version(object, place, "nladc-dnn");

    DnnConfig config;
    Json top = Json::object();
    for (const auto& item : object.items())
        if (std::find(special.begin(), special.end(), item.key()) == special.end()) top[item.key()] = item.value();
    load_params(top, place, dnn_table(), config);
    if (object.contains("train")) load_params(object["train"], place.key("train"), dnn::train_table(), config.train);
    if (object.contains("methods"))
        config.methods = list_of<std::string>(object["methods"], place.key("methods"), method_name);
    if (object.contains("bits")) config.bits = list_of<int>(object["bits"], place.key("bits"), as_bit_width);
    if (object.contains("finetune")) {
        const JsonPlace at = place.key("finetune");
        Json section = object["finetune"];
        if (!section.is_object()) at.fail("expected an object");
        if (section.contains("methods")) {
            config.finetune_methods = list_of<std::string>(section["methods"], at.key("methods"), method_name);
            section.erase("methods");
        }
        if (section.contains("bits")) {
            config.finetune_bits = list_of<int>(section["bits"], at.key("bits"), as_bit_width);
            section.erase("bits");
        }
        load_params(section, at, dnn::finetune_table(), config.finetune);
    }
    if (config.methods.empty()) place.key("methods").fail("is empty");
    if (config.bits.empty()) place.key("bits").fail("is empty");
    for (std::size_t i = 0; i < config.bits.size(); ++i)
        if (config.bits[i] > 8) place.key("bits").index(i).fail(fmt::format("{} is outside [1, 8]", config.bits[i]));
    for (std::size_t i = 0; i < config.finetune_bits.size(); ++i)
        if (config.finetune_bits[i] > 8)
            place.key("finetune").key("bits").index(i).fail(fmt::format("{} is outside [1, 8]", config.finetune_bits[i]));
    return config;
}

void resolve_dnn_paths(dnn::DnnConfig& config, const std::filesystem::path& base, const JsonPlace& place)
{
    for (std::string* path : {&config.dataset_dir, &config.cache_dir, &config.technology})
        if (!path->empty() && std::filesystem::path(*path).is_relative()) *path = (base / *path).lexically_normal().string();
    std::error_code error;  // non-throwing overloads: a bad path is an input error
    if (!config.technology.empty() && !std::filesystem::is_regular_file(config.technology, error))
        place.key("technology").fail(fmt::format("\"{}\": no such file", config.technology));
    if (!config.dataset_dir.empty() && !std::filesystem::is_directory(config.dataset_dir, error))
        place.key("dataset_dir").fail(fmt::format("\"{}\": no such directory", config.dataset_dir));
}

dnn::DnnConfig read_dnn_config(const std::filesystem::path& file)
{
    dnn::DnnConfig config = dnn_config_from_json(read_json_file(file), JsonPlace(file.string()));
    resolve_dnn_paths(config, file.parent_path(), JsonPlace(file.string()));
    return config;
}

OrderedJson dnn_config_to_json(const dnn::DnnConfig& config)
{
    OrderedJson j;
    j["format"] = "nladc-dnn";
    j["version"] = 1;
    const OrderedJson top = dump_params(config, dnn_table());
    for (const auto& item : top.items()) j[item.key()] = item.value();
    j["methods"] = config.methods;
    j["bits"] = config.bits;
    j["train"] = dump_params(config.train, dnn::train_table());
    OrderedJson finetune = dump_params(config.finetune, dnn::finetune_table());
    finetune["methods"] = config.finetune_methods;
    finetune["bits"] = config.finetune_bits;
    j["finetune"] = finetune;
    return j;
}

std::string describe_dnn_config_rows(const std::string& section)
{
    const dnn::DnnConfig defaults;
    const std::string prefix = section.empty() ? "" : section + ".";
    std::string out = describe_params(section, defaults, dnn_table());
    if (section.empty())  // top-level keys have no section prefix
        for (std::size_t at = out.find("`."); at != std::string::npos; at = out.find("`.", at)) out.erase(at + 1, 1);
    out += describe_list(prefix + "methods", "[\"linear\", \"lloyd-max\", \"cdf\", \"kmeans\", \"bs-kmq\"]",
                         "level-design methods (each with its default variant)");
    out += describe_list(prefix + "bits", "[2, 3, 4, 5, 6]", "ADC resolutions, 1..8 each");
    out += describe_params(prefix + "train", defaults.train, dnn::train_table());
    out += describe_params(prefix + "finetune", defaults.finetune, dnn::finetune_table());
    out += describe_list(prefix + "finetune.methods", "[\"bs-kmq\", \"linear\"]", "methods fine-tuned (empty: none)");
    out += describe_list(prefix + "finetune.bits", "[2, 3, 4]", "resolutions fine-tuned");
    return out;
}

std::string describe_dnn_config()
{
    return "| key | unit | default | range | provenance | meaning |\n|---|---|---|---|---|---|\n" +
           describe_dnn_config_rows("");
}

}  // namespace io
}  // namespace nladc
