// The dnn module: the IDX reader against the real Fashion-MNIST files and broken copies,
// MLP training (learning, determinism, the weight cache), and the hardware path against
// independent references (float algebra, a brute-force read-noise simulation).
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "../support.hpp"
#include "nladc/core/error.hpp"
#include "nladc/device/rram.hpp"
#include "nladc/dnn/dataset.hpp"
#include "nladc/dnn/hardware.hpp"
#include "nladc/dnn/mlp.hpp"
#include "nladc/dnn/study.hpp"
#include "nladc/quant/quantizer.hpp"

using namespace nladc;
using namespace nladc::dnn;
namespace fs = std::filesystem;

namespace {

const fs::path kData = default_fashion_mnist_dir();

void write_gzip(const fs::path& file, const std::string& bytes)
{
    gzFile out = gzopen(file.c_str(), "wb");
    REQUIRE(out);
    REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    gzclose(out);
}

std::string be32(std::uint32_t v)
{
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

/// IDX image and label bytes of `count` 2x2 images.
std::pair<std::string, std::string> tiny_idx(std::uint32_t count, std::uint8_t label = 3)
{
    std::string images = be32(0x803) + be32(count) + be32(2) + be32(2);
    for (std::uint32_t i = 0; i < 4 * count; ++i) images.push_back(static_cast<char>(i * 17));
    std::string labels = be32(0x801) + be32(count);
    for (std::uint32_t i = 0; i < count; ++i) labels.push_back(static_cast<char>(label));
    return {images, labels};
}

std::string error_of(const std::function<void()>& work)
{
    try {
        work();
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

/// The training images 0..n-1 as a set.
ImageSet first(const ImageSet& set, int n)
{
    std::vector<int> indices(static_cast<std::size_t>(n));
    std::iota(indices.begin(), indices.end(), 0);
    return set.subset(indices);
}

/// A network small enough to train on a few thousand images in a second.
TrainParams narrow_network(int epochs)
{
    TrainParams params;
    params.hidden1 = 48;
    params.hidden2 = 24;
    params.epochs = epochs;
    return params;
}

const Dataset& fashion()
{
    static const Dataset data = load_fashion_mnist(kData);
    return data;
}

/// A 2-bit level set on [0, 4] with unequal steps.
LevelSet two_bit_set()
{
    LevelSet set;
    set.bits = 2;
    set.lo = 0;
    set.hi = 4;
    set.levels = {0, 1, 2, 3.5};
    set.thresholds = midpoint_thresholds(set.levels);
    set.method = "linear";
    return set;
}

/// `tech` without programming error, read noise, stuck cells or comparator offset.
Technology without_variation(Technology tech)
{
    tech.device.program_sigma_S = 0;
    tech.device.read_noise_sigma_S = 0;
    tech.device.stuck_off_probability = tech.device.stuck_on_probability = 0;
    tech.comparator.offset_sigma_V = 0;
    return tech;
}

}  // namespace

TEST_CASE("dnn: Fashion-MNIST reads as 60 000 + 10 000 balanced 28x28 images", "[dnn]")
{
    const Dataset& data = fashion();
    CHECK(data.train.size() == 60000);
    CHECK(data.test.size() == 10000);
    CHECK(data.train.height == 28);
    CHECK(data.train.width == 28);
    CHECK(data.train.images.rows() == 784);
    // The data set's documented property: 6000 training and 1000 test images per class.
    std::vector<int> train_counts(10), test_counts(10);
    for (auto l : data.train.labels) ++train_counts[l];
    for (auto l : data.test.labels) ++test_counts[l];
    CHECK(std::all_of(train_counts.begin(), train_counts.end(), [](int c) { return c == 6000; }));
    CHECK(std::all_of(test_counts.begin(), test_counts.end(), [](int c) { return c == 1000; }));
    CHECK(data.train.images.minCoeff() == 0.0f);
    CHECK(data.train.images.maxCoeff() == 1.0f);
    CHECK(data.sha256.size() == 64);
}

TEST_CASE("dnn: IDX files, gzip or plain, and broken ones named with the byte", "[dnn]")
{
    test::ScratchDir dir;
    const auto [images, labels] = tiny_idx(3);
    write_gzip(dir / "i.gz", images);
    test::write_text(dir / "l", labels);  // plain files pass through gzread
    const ImageSet set = read_idx(dir / "i.gz", dir / "l");
    REQUIRE(set.size() == 3);
    CHECK(set.images(1, 0) == Approx(17.0 / 255.0));
    CHECK(set.images(0, 2) == Approx((8 * 17 % 256) / 255.0));
    CHECK(set.labels[2] == 3);

    SECTION("wrong magic")
    {
        std::string bad = images;
        bad[3] = 0x01;
        write_gzip(dir / "bad.gz", bad);
        const std::string e = error_of([&] { read_idx(dir / "bad.gz", dir / "l"); });
        CHECK(e.find("bad.gz") != std::string::npos);
        CHECK(e.find("byte 0") != std::string::npos);
        CHECK(e.find("0x00000801") != std::string::npos);
    }
    SECTION("truncated data")
    {
        write_gzip(dir / "short.gz", images.substr(0, images.size() - 5));
        const std::string e = error_of([&] { read_idx(dir / "short.gz", dir / "l"); });
        CHECK(e.find("short.gz") != std::string::npos);
        CHECK(e.find("promises more data") != std::string::npos);
        // One byte too many is an error as well.
        write_gzip(dir / "long.gz", images + "x");
        CHECK(error_of([&] { read_idx(dir / "long.gz", dir / "l"); }).find("header promises 12") != std::string::npos);
    }
    SECTION("absurd dimensions do not overflow")
    {
        write_gzip(dir / "huge.gz", be32(0x803) + be32(0xffffffffu) + be32(0xffffffffu) + be32(2) + "abcd");
        const std::string e = error_of([&] { read_idx(dir / "huge.gz", dir / "l"); });
        CHECK(e.find("huge.gz: byte 4: dimension 0 = 4294967295") != std::string::npos);
    }
    SECTION("corrupt gzip stream")
    {
        std::string gz = test::slurp(dir / "i.gz");
        gz.resize(gz.size() / 2);
        test::write_text(dir / "cut.gz", gz);
        CHECK(error_of([&] { read_idx(dir / "cut.gz", dir / "l"); }).find("cut.gz") != std::string::npos);
    }
    SECTION("label out of range and differing counts")
    {
        test::write_text(dir / "l11", tiny_idx(3, 11).second);
        const std::string e = error_of([&] { read_idx(dir / "i.gz", dir / "l11"); });
        CHECK(e.find("l11: byte 8 (label 0): 11 is not a class") != std::string::npos);
        test::write_text(dir / "l2", tiny_idx(2).second);
        CHECK(error_of([&] { read_idx(dir / "i.gz", dir / "l2"); }).find("2 labels for 3 images") != std::string::npos);
    }
    SECTION("missing file")
    {
        CHECK(error_of([&] { read_idx(dir / "none.gz", dir / "l"); }).find("no such file") != std::string::npos);
    }
}

TEST_CASE("dnn: training learns, is deterministic, and the cache round-trips", "[dnn]")
{
    const ImageSet train = first(fashion().train, 3000);
    TrainParams params = narrow_network(3);
    std::vector<double> losses;
    const Mlp net = train_mlp(train, params, [&](int, int, double loss) { losses.push_back(loss); });
    REQUIRE(losses.size() == 3);
    CHECK(losses[2] < losses[0]);
    const ImageSet held_out = first(fashion().test, 2000);
    CHECK(accuracy(forward(net, held_out.images), held_out.labels) > 0.70);  // chance is 0.10

    const Mlp again = train_mlp(train, params);
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
        CHECK(net.layers[l].weights == again.layers[l].weights);
        CHECK(net.layers[l].bias == again.layers[l].bias);
    }
    params.seed = 2;
    CHECK(train_mlp(train, params).layers[0].weights != net.layers[0].weights);

    test::ScratchDir dir;
    const std::string key = training_key("data", params);
    save_mlp(dir / "net.bin", net, key);
    const std::optional<Mlp> loaded = load_mlp(dir / "net.bin", key);
    REQUIRE(loaded);
    CHECK(loaded->layers[1].weights == net.layers[1].weights);
    CHECK(loaded->layers[2].bias == net.layers[2].bias);
    CHECK_FALSE(load_mlp(dir / "net.bin", training_key("other data", params)));
    CHECK_FALSE(load_mlp(dir / "absent.bin", key));

    std::string bytes = test::slurp(dir / "net.bin");
    bytes[bytes.size() / 2] ^= 0x10;
    test::write_text(dir / "flipped.bin", bytes);
    CHECK(error_of([&] { load_mlp(dir / "flipped.bin", key); }).find("checksum") != std::string::npos);
    test::write_text(dir / "cut.bin", test::slurp(dir / "net.bin").substr(0, 5000));
    CHECK(error_of([&] { load_mlp(dir / "cut.bin", key); }).find("cut.bin") != std::string::npos);
}

TEST_CASE("dnn: quantized hidden layers output only levels, and fine-tuning lowers the quantized loss", "[dnn]")
{
    const ImageSet train = first(fashion().train, 3000);
    const TrainParams params = narrow_network(2);
    Mlp net = train_mlp(train, params);
    const CalibrationActivations acts = calibration_activations(net, train, 500, 0.999, 1);
    REQUIRE(acts.names == std::vector<std::string>{"fc1", "fc2"});
    REQUIRE(acts.values[0].size() == 500u * 48u);
    const std::vector<LevelSet> sets = fit_layer_levels(acts, "linear", 2);
    HiddenQuantizers quantizers = {&sets[0], &sets[1]};
    std::vector<Eigen::MatrixXf> hidden;
    forward(net, train.images, quantizers, &hidden);
    for (std::size_t l = 0; l < 2; ++l)
        for (Eigen::Index i = 0; i < hidden[l].size(); ++i) {
            const double v = hidden[l].data()[i];
            const bool is_level = std::any_of(sets[l].levels.begin(), sets[l].levels.end(),
                                              [&](double level) { return std::abs(level - v) < 1e-6 * sets[l].hi; });
            REQUIRE(is_level);
        }
    std::vector<double> losses;
    FinetuneParams tune;
    tune.epochs = 3;
    tune.learning_rate = 1e-3;
    finetune_mlp(net, train, quantizers, tune, 1, [&](int, int, double loss) { losses.push_back(loss); });
    REQUIRE(losses.size() == 3);
    CHECK(losses[2] < losses[0]);
}

TEST_CASE("dnn: a layer on differential conductance pairs computes W x + b", "[dnn]")
{
    DenseLayer layer;
    RandomStream random(7, 0);
    layer.weights.resize(5, 9);
    layer.bias.resize(5);
    for (Eigen::Index i = 0; i < layer.weights.size(); ++i) layer.weights.data()[i] = static_cast<float>(random.normal());
    for (Eigen::Index i = 0; i < layer.bias.size(); ++i) layer.bias(i) = static_cast<float>(random.normal());
    const DeviceParams device;
    const double input_scale = 2.5;
    const CrossbarLayer crossbar = map_layer(layer, input_scale, device);
    CHECK(crossbar.plus_S.minCoeff() >= device.g_min_S * (1 - 1e-6));
    CHECK(crossbar.plus_S.maxCoeff() <= device.g_max_S * (1 + 1e-6));
    CHECK(crossbar.minus_S.minCoeff() >= device.g_min_S * (1 - 1e-6));
    // One cell of each pair sits at g_min.
    CHECK((crossbar.plus_S.cwiseMin(crossbar.minus_S).array() - device.g_min_S).abs().maxCoeff() < 1e-9);

    Eigen::MatrixXf x(9, 4);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(random.below(256)) / 255.0f;
    const Eigen::MatrixXf driven = drive_inputs(x, 8);
    CHECK((driven.topRows(9) - x).cwiseAbs().maxCoeff() < 1e-6);  // already on the 8-bit grid
    const Eigen::MatrixXf mac = column_mac(crossbar, driven, 0.2);
    // Independent reference: the activation units of the inputs times the weights, plus the bias.
    const Eigen::MatrixXf reference = (layer.weights * (x * static_cast<float>(input_scale))).colwise() + layer.bias;
    CHECK((mac - reference).cwiseAbs().maxCoeff() < 1e-4 * reference.cwiseAbs().maxCoeff());
}

TEST_CASE("dnn: read noise drawn per column equals independent per-cell noise", "[dnn]")
{
    // Brute force: every cell of a 30-row pair gets its own N(0, sigma) per read.
    DenseLayer layer;
    layer.weights = Eigen::MatrixXf::Constant(1, 29, 0.3f);
    layer.bias = Eigen::VectorXf::Constant(1, -0.2f);
    const DeviceParams device;
    const CrossbarLayer crossbar = map_layer(layer, 1.0, device);
    Eigen::MatrixXf x(29, 1);
    for (int i = 0; i < 29; ++i) x(i, 0) = static_cast<float>(i % 7) / 6.0f;
    const Eigen::MatrixXf driven = drive_inputs(x, 8);
    const double sigma_S = 1e-6, v_read = 0.2;
    RandomStream random(3, 0);
    double sum = 0, sum2 = 0;
    const int trials = 20000;
    for (int t = 0; t < trials; ++t) {
        double current = 0;
        for (int r = 0; r < 30; ++r)
            current += v_read * driven(r, 0) * ((crossbar.plus_S(r, 0) + sigma_S * random.normal()) -
                                                (crossbar.minus_S(r, 0) + sigma_S * random.normal()));
        const double mac = current * crossbar.units_per_A(v_read);
        sum += mac;
        sum2 += mac * mac;
    }
    const double brute_sigma = std::sqrt(sum2 / trials - (sum / trials) * (sum / trials));
    const double model_sigma = read_noise_sigma(crossbar, driven, v_read, sigma_S)(0);
    CHECK(model_sigma == Approx(brute_sigma).epsilon(0.03));
}

TEST_CASE("dnn: the NL-ADC of a layer: ideal thresholds, ReLU, chip offsets", "[dnn]")
{
    const LevelSet set = two_bit_set();
    Technology tech;
    const LayerAdc ideal = ideal_adc(set, tech);
    REQUIRE(ideal.thresholds.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) CHECK(ideal.thresholds[k] == Approx(set.thresholds[k]).epsilon(1e-9));
    Eigen::MatrixXf mac(1, 6);
    mac << -3.0f, 0.2f, 0.6f, 1.4f, 2.8f, 100.0f;
    const Eigen::MatrixXf out = convert(ideal, mac, {}, nullptr);
    const std::vector<float> expected = {0, 0, 1, 1, 3.5f, 3.5f};  // a negative MAC gives code 0
    for (int i = 0; i < 6; ++i) CHECK(out(0, i) == expected[static_cast<std::size_t>(i)]);

    // A chip without variation reproduces the ideal thresholds.
    const Technology exact = without_variation(tech);
    RandomStream random(1, 0);
    const LayerAdc same = chip_adc(set, exact, 8, random);
    for (std::size_t k = 0; k < 3; ++k) CHECK(same.thresholds[k] == Approx(ideal.thresholds[k]).epsilon(1e-6));
    for (double offset : same.column_offset) CHECK(offset == 0.0);

    // With variation: per-column offsets with sigma = offset_sigma_V / (du/da).
    RandomStream draws(2, 0);
    const LayerAdc chip = chip_adc(set, tech, 4000, draws);
    double sum2 = 0;
    for (double offset : chip.column_offset) sum2 += offset * offset;
    const double offset_sigma = std::sqrt(sum2 / 4000);
    CHECK(offset_sigma == Approx(tech.comparator.offset_sigma_V / tech.comparator.noise_sigma_V * chip.comparator_noise).epsilon(0.06));
    CHECK(offset_sigma > 0);
    bool moved = false;
    for (std::size_t k = 0; k < 3; ++k) moved = moved || std::abs(chip.thresholds[k] - ideal.thresholds[k]) > 1e-6;
    CHECK(moved);  // the replica cells were programmed with error
}

TEST_CASE("dnn: a common drift of every cell cancels between the MAC columns and the replica", "[dnn]")
{
    // BRIEF §2: the ramp comes from cells of the same array, so a drift common to all
    // cells scales the MAC and the thresholds alike and no code changes.
    Technology tech = without_variation(Technology{});
    tech.device.drift_factor = 0.8;
    const LevelSet set = two_bit_set();
    RandomStream random(1, 0);
    const LayerAdc chip = chip_adc(set, tech, 3, random);
    const LayerAdc ideal = ideal_adc(set, tech);
    // The dnn crossbar's MAC values carry the drift (in nominal units), so the chip's
    // thresholds must carry it too.
    for (std::size_t k = 0; k < 3; ++k) CHECK(chip.thresholds[k] == Approx(0.8 * ideal.thresholds[k]).epsilon(1e-6));

    DenseLayer layer;
    layer.weights = Eigen::MatrixXf::Constant(1, 4, 0.5f);
    layer.bias = Eigen::VectorXf::Constant(1, 0.1f);
    const CrossbarLayer nominal = map_layer(layer, set.hi, tech.device);
    RandomStream cells(2, 0);
    const CrossbarLayer drifted = program_layer(nominal, tech.device, cells);
    Eigen::MatrixXf x(4, 64);  // MAC values 0.1 .. 4.1: every code, many near a threshold
    for (Eigen::Index i = 0; i < x.cols(); ++i) x.col(i).setConstant(static_cast<float>(i) / 63.0f);
    const Eigen::MatrixXf driven = drive_inputs(x, 8);
    const Eigen::MatrixXf nominal_mac = column_mac(nominal, driven, 0.2);
    const Eigen::MatrixXf drifted_mac = column_mac(drifted, driven, 0.2);
    CHECK((drifted_mac - 0.8f * nominal_mac).cwiseAbs().maxCoeff() < 1e-5 * nominal_mac.cwiseAbs().maxCoeff());
    CHECK(convert(chip, drifted_mac, {}, nullptr) == convert(ideal, nominal_mac, {}, nullptr));
}

TEST_CASE("dnn: an 8-bit linear ADC through the crossbar model stays within 0.5 pp of float", "[dnn][slow]")
{
    // Issue 8 acceptance: a trained network, ideal devices, every test image.
    TrainParams params;
    params.epochs = 3;
    const Mlp net = train_mlp(fashion().train, params);
    const ImageSet& test = fashion().test;
    const double float_accuracy = accuracy(forward(net, test.images), test.labels);
    REQUIRE(float_accuracy > 0.85);
    const CalibrationActivations acts = calibration_activations(net, fashion().train, 2000, 0.999, 1);
    const Technology tech;
    const auto hardware_accuracy = [&](const std::string& method, int bits) {
        std::vector<LayerAdc> adcs;
        for (const LevelSet& set : fit_layer_levels(acts, method, bits)) adcs.push_back(ideal_adc(set, tech));
        const HardwareNetwork hw = map_network(net, adcs, tech);
        return accuracy(hardware_logits(hw, test.images, nullptr), test.labels);
    };
    const double eight = hardware_accuracy("linear", 8);
    INFO("float " << float_accuracy << ", 8-bit linear on the crossbar " << eight);
    CHECK(std::abs(eight - float_accuracy) <= 0.005);
    // The same path does quantize: at 2 bits linear loses clearly more.
    CHECK(hardware_accuracy("linear", 2) < float_accuracy - 0.01);
}
