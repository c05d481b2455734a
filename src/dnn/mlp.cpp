#include "nladc/dnn/mlp.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>

#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"
#include "nladc/core/sha256.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::dnn {

namespace {

/// Revision of the training code; part of the cache key, bump when training changes.
constexpr const char* kTrainingRevision = "mlp-adam-v1";

/// a = activation(z) in place: ReLU, or the level set `q` (null: ReLU); `mask`
/// (optional) receives da/dz, the straight-through estimate inside the range.
void activate(Eigen::MatrixXf& z, const LevelSet* q, Eigen::MatrixXf* mask)
{
    if (mask) mask->resize(z.rows(), z.cols());
    float* values = z.data();
    const Eigen::Index n = z.size();
    if (!q) {
        for (Eigen::Index i = 0; i < n; ++i) {
            if (mask) mask->data()[i] = values[i] > 0.0f ? 1.0f : 0.0f;
            values[i] = std::max(values[i], 0.0f);
        }
        return;
    }
    const double* t = q->thresholds.data();
    const std::size_t count = q->thresholds.size();
    for (Eigen::Index i = 0; i < n; ++i) {
        const double x = values[i];
        if (mask) mask->data()[i] = (x > q->lo && x < q->hi) ? 1.0f : 0.0f;
        values[i] = static_cast<float>(q->levels[count_below(t, count, x)]);
    }
}

/// The quantizer of hidden layer l (null: ReLU).
const LevelSet* quantizer_of(const HiddenQuantizers& quantizers, std::size_t l)
{
    return l < quantizers.size() ? quantizers[l] : nullptr;
}

/// Adam moments of one parameter array.
struct AdamState {
    Eigen::MatrixXf m, v;
};

struct Optimizer {
    double learning_rate;
    long long step = 0;
    std::vector<AdamState> weights, biases;

    void update(Eigen::MatrixXf& parameter, const Eigen::MatrixXf& gradient, AdamState& state) const
    {
        constexpr float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;
        if (state.m.size() == 0) {
            state.m = Eigen::MatrixXf::Zero(parameter.rows(), parameter.cols());
            state.v = state.m;
        }
        state.m = beta1 * state.m + (1 - beta1) * gradient;
        state.v = beta2 * state.v + (1 - beta2) * gradient.cwiseProduct(gradient);
        const double correction1 = 1 - std::pow(beta1, static_cast<double>(step));
        const double correction2 = 1 - std::pow(beta2, static_cast<double>(step));
        const float rate = static_cast<float>(learning_rate * std::sqrt(correction2) / correction1);
        parameter.array() -= rate * state.m.array() / (state.v.array().sqrt() + epsilon);
    }
};

/// One epoch of minibatch training; returns the mean cross-entropy.
double run_epoch(Mlp& net, const ImageSet& train, const HiddenQuantizers& quantizers,
                 int batch_size, Optimizer& optimizer, RandomStream& shuffle)
{
    const int n = train.size();
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    for (int i = n - 1; i > 0; --i)  // Fisher-Yates
        std::swap(order[static_cast<std::size_t>(i)], order[shuffle.below(static_cast<std::uint64_t>(i) + 1)]);

    const std::size_t layers = net.layers.size();
    if (optimizer.weights.empty()) {
        optimizer.weights.resize(layers);
        optimizer.biases.resize(layers);
    }
    std::vector<Eigen::MatrixXf> activations(layers), masks(layers);
    Eigen::MatrixXf batch(train.images.rows(), batch_size);
    double loss_sum = 0.0;
    for (int start = 0; start < n; start += batch_size) {
        const int size = std::min(batch_size, n - start);
        batch.resize(train.images.rows(), size);
        for (int i = 0; i < size; ++i) batch.col(i) = train.images.col(order[static_cast<std::size_t>(start + i)]);

        // Forward: activations[l] is the input of layer l + 1.
        const Eigen::MatrixXf* input = &batch;
        Eigen::MatrixXf logits;
        for (std::size_t l = 0; l < layers; ++l) {
            Eigen::MatrixXf z = net.layers[l].weights * *input;
            z.colwise() += net.layers[l].bias;
            if (l + 1 == layers) {
                logits = std::move(z);
                break;
            }
            activate(z, quantizer_of(quantizers, l), &masks[l]);
            activations[l] = std::move(z);
            input = &activations[l];
        }
        // Softmax cross-entropy; gradient (p - y) / size.
        Eigen::MatrixXf gradient(logits.rows(), size);
        for (int i = 0; i < size; ++i) {
            const float top = logits.col(i).maxCoeff();
            Eigen::VectorXf p = (logits.col(i).array() - top).exp();
            const float total = p.sum();
            p /= total;
            const int label = train.labels[static_cast<std::size_t>(order[static_cast<std::size_t>(start + i)])];
            loss_sum -= std::log(std::max(p(label), 1e-30f));
            p(label) -= 1.0f;
            gradient.col(i) = p / static_cast<float>(size);
        }
        // Backward and update.
        ++optimizer.step;
        for (std::size_t l = layers; l-- > 0;) {
            const Eigen::MatrixXf& layer_input = l == 0 ? batch : activations[l - 1];
            const Eigen::MatrixXf weight_gradient = gradient * layer_input.transpose();
            const Eigen::MatrixXf bias_gradient = gradient.rowwise().sum();
            if (l > 0) gradient = (net.layers[l].weights.transpose() * gradient).cwiseProduct(masks[l - 1]);
            optimizer.update(net.layers[l].weights, weight_gradient, optimizer.weights[l]);
            Eigen::MatrixXf bias = net.layers[l].bias;
            optimizer.update(bias, bias_gradient, optimizer.biases[l]);
            net.layers[l].bias = bias;
        }
    }
    return loss_sum / n;
}

void check_training_set(const ImageSet& train)
{
    if (train.size() == 0) throw Error("training set is empty");
}

}  // namespace

Mlp train_mlp(const ImageSet& train, const TrainParams& params, const EpochProgress& progress)
{
    check_training_set(train);
    const std::vector<int> sizes = {static_cast<int>(train.images.rows()), params.hidden1, params.hidden2, 10};
    Mlp net;
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
        RandomStream init(params.seed, l);
        DenseLayer layer;
        layer.weights.resize(sizes[l + 1], sizes[l]);
        const double scale = std::sqrt(2.0 / sizes[l]);  // He et al. 2015
        for (Eigen::Index c = 0; c < layer.weights.cols(); ++c)
            for (Eigen::Index r = 0; r < layer.weights.rows(); ++r)
                layer.weights(r, c) = static_cast<float>(scale * init.normal());
        layer.bias = Eigen::VectorXf::Zero(sizes[l + 1]);
        net.layers.push_back(std::move(layer));
    }
    Optimizer optimizer{params.learning_rate, 0, {}, {}};
    for (int epoch = 0; epoch < params.epochs; ++epoch) {
        RandomStream shuffle(params.seed, 1000 + static_cast<std::uint64_t>(epoch));
        const double loss = run_epoch(net, train, {}, params.batch_size, optimizer, shuffle);
        optimizer.learning_rate *= params.learning_rate_decay;
        if (progress) progress(epoch + 1, params.epochs, loss);
    }
    return net;
}

void finetune_mlp(Mlp& net, const ImageSet& train, const HiddenQuantizers& quantizers, const FinetuneParams& params,
                  std::uint64_t seed, const EpochProgress& progress)
{
    check_training_set(train);
    Optimizer optimizer{params.learning_rate, 0, {}, {}};
    for (int epoch = 0; epoch < params.epochs; ++epoch) {
        RandomStream shuffle(seed, 2000 + static_cast<std::uint64_t>(epoch));
        const double loss = run_epoch(net, train, quantizers, params.batch_size, optimizer, shuffle);
        if (progress) progress(epoch + 1, params.epochs, loss);
    }
}

Eigen::MatrixXf forward(const Mlp& net, const Eigen::MatrixXf& inputs, const HiddenQuantizers& quantizers,
                        std::vector<Eigen::MatrixXf>* hidden)
{
    if (hidden) hidden->clear();
    Eigen::MatrixXf a = inputs;
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        Eigen::MatrixXf z = net.layers[l].weights * a;
        z.colwise() += net.layers[l].bias;
        if (l + 1 < net.layers.size()) {
            activate(z, quantizer_of(quantizers, l), nullptr);
            if (hidden) hidden->push_back(z);
        }
        a = std::move(z);
    }
    return a;
}

double accuracy(const Eigen::MatrixXf& logits, const std::vector<std::uint8_t>& labels)
{
    if (labels.empty()) return 0.0;
    std::size_t correct = 0;
    for (Eigen::Index i = 0; i < logits.cols(); ++i) {
        Eigen::Index best = 0;
        logits.col(i).maxCoeff(&best);
        if (best == labels[static_cast<std::size_t>(i)]) ++correct;
    }
    return static_cast<double>(correct) / static_cast<double>(labels.size());
}

std::string training_key(const std::string& data_sha256, const TrainParams& params)
{
    const std::string text = fmt::format("{}|{}|{} {} {} {} {:.17g} {:.17g} {}", kTrainingRevision, data_sha256,
                                         params.hidden1, params.hidden2, params.epochs, params.batch_size,
                                         params.learning_rate, params.learning_rate_decay, params.seed);
    return sha256_hex(text);
}

// File layout: "nladc-mlp 1 <key> <layers>\n", per layer "<rows> <cols>\n", then the
// float32 (little-endian) weights (column-major) and biases of every layer, then
// "\nsha256 <hex of the payload>\n".
void save_mlp(const std::filesystem::path& file, const Mlp& net, const std::string& key)
{
    std::string payload;
    for (const DenseLayer& layer : net.layers) {
        payload.append(reinterpret_cast<const char*>(layer.weights.data()), sizeof(float) * layer.weights.size());
        payload.append(reinterpret_cast<const char*>(layer.bias.data()), sizeof(float) * layer.bias.size());
    }
    std::string content = fmt::format("nladc-mlp 1 {} {}\n", key, net.layers.size());
    for (const DenseLayer& layer : net.layers) content += fmt::format("{} {}\n", layer.weights.rows(), layer.weights.cols());
    content += payload;
    content += fmt::format("\nsha256 {}\n", sha256_hex(payload));
    std::error_code error;
    std::filesystem::create_directories(file.parent_path().empty() ? "." : file.parent_path(), error);
    if (error) throw OutputError(file.parent_path().string(), error.message());
    io::write_file_atomic(file, content);
}

std::optional<Mlp> load_mlp(const std::filesystem::path& file, const std::string& key)
{
    std::error_code error;  // e.g. EACCES: an unusable cache file, reported by the caller
    if (!std::filesystem::exists(file, error)) {
        if (error) throw InputError(file.string(), "", error.message());
        return std::nullopt;
    }
    const std::string content = io::read_file(file);
    const auto fail = [&](const std::string& place, const std::string& detail) -> void {
        throw InputError(file.string(), place, detail);
    };
    std::size_t line_end = content.find('\n');
    if (line_end == std::string::npos) fail("line 1", "no header line");
    std::istringstream header(content.substr(0, line_end));
    std::string magic, stored_key;
    int version = 0;
    std::size_t layer_count = 0;
    header >> magic >> version >> stored_key >> layer_count;
    if (!header || magic != "nladc-mlp" || version != 1)
        fail("line 1", fmt::format("\"{}\" is not an nladc-mlp version 1 header", content.substr(0, std::min<std::size_t>(line_end, 60))));
    if (stored_key != key) return std::nullopt;
    if (layer_count == 0 || layer_count > 16) fail("line 1", fmt::format("{} layers", layer_count));
    std::vector<std::pair<long, long>> shapes;
    std::size_t position = line_end + 1;
    std::uint64_t floats = 0;
    for (std::size_t l = 0; l < layer_count; ++l) {
        line_end = content.find('\n', position);
        if (line_end == std::string::npos) fail(fmt::format("line {}", l + 2), "truncated");
        std::istringstream shape(content.substr(position, line_end - position));
        long rows = 0, cols = 0;
        shape >> rows >> cols;
        if (!shape || rows <= 0 || cols <= 0 || rows > 65536 || cols > 65536)
            fail(fmt::format("line {}", l + 2), fmt::format("\"{}\" is not a layer shape", content.substr(position, line_end - position)));
        shapes.emplace_back(rows, cols);
        floats += static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols + 1);
        position = line_end + 1;
    }
    const std::uint64_t payload_bytes = floats * sizeof(float);
    if (content.size() < position + payload_bytes)
        fail(fmt::format("byte {}", content.size()), fmt::format("truncated: {} payload bytes expected", payload_bytes));
    const std::string_view payload(content.data() + position, payload_bytes);
    const std::string trailer = content.substr(position + payload_bytes);
    const std::string expected = fmt::format("\nsha256 {}\n", sha256_hex(payload));
    if (trailer != expected)
        fail(fmt::format("byte {}", position + payload_bytes), "checksum missing or wrong (corrupt file)");
    Mlp net;
    const char* p = payload.data();
    for (const auto& [rows, cols] : shapes) {
        DenseLayer layer;
        layer.weights.resize(rows, cols);
        layer.bias.resize(rows);
        std::memcpy(layer.weights.data(), p, sizeof(float) * layer.weights.size());
        p += sizeof(float) * layer.weights.size();
        std::memcpy(layer.bias.data(), p, sizeof(float) * layer.bias.size());
        p += sizeof(float) * layer.bias.size();
        net.layers.push_back(std::move(layer));
    }
    for (std::size_t l = 1; l < net.layers.size(); ++l)
        if (net.layers[l].weights.cols() != net.layers[l - 1].weights.rows())
            fail(fmt::format("line {}", l + 2), "layer shapes do not chain");
    return net;
}

}  // namespace nladc::dnn
