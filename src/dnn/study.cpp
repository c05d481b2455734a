#include "nladc/dnn/study.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"
#include "nladc/core/version.hpp"
#include "nladc/dnn/hardware.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/levelset_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/io/technology_file.hpp"
#include "nladc/quant/metrics.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc::dnn {
namespace {

// Keys that separate the random streams of the study's draws (RandomStream(seed ^ key, id)).
constexpr std::uint64_t kCalibrationSubsetStream = 3000;
constexpr std::uint64_t kAdcKey = 0xA5C0DE5A5C0DE5A5ull;
constexpr std::uint64_t kNoiseKey = 0x6E6F697365000001ull;

using Clock = std::chrono::steady_clock;

/// Stream id of a chip's draws for one level set: keyed by the method's place in the
/// method table and the bits, so a row's numbers do not depend on which other methods
/// or widths the config lists.
std::uint64_t combo_stream(int chip, const std::string& method, int bits)
{
    std::uint64_t method_id = 0;
    const auto& all = quantizers();
    while (method_id < all.size() && all[method_id]->method() != method) ++method_id;
    return (static_cast<std::uint64_t>(chip) << 16) | (method_id << 8) | static_cast<std::uint64_t>(bits);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::filesystem::path cache_directory(const std::string& configured)
{
    if (!configured.empty()) return configured;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "nladc";
    if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "nladc";
    return std::filesystem::temp_directory_path() / "nladc-cache";
}

/// The trained network for the data and parameters: from the cache when its key matches
/// (a corrupt cache file is reported and replaced), else trained and cached.
Mlp trained_network(const Dataset& data, const DnnConfig& config, DnnResult& result,
                    const std::function<void(const std::string&)>& progress)
{
    const std::string key = training_key(data.sha256, config.train);
    result.model = cache_directory(config.cache_dir) / fmt::format("mlp-{}.bin", key.substr(0, 16));
    try {
        if (std::optional<Mlp> cached = load_mlp(result.model, key)) {
            progress(fmt::format("dnn: weights from the cache {}", result.model.string()));
            return *cached;
        }
    } catch (const InputError& e) {
        progress(fmt::format("dnn: ignoring the unusable cache file ({}); retraining", e.what()));
    }
    const auto start = Clock::now();
    Mlp net = train_mlp(data.train, config.train, [&](int epoch, int epochs, double loss) {
        progress(fmt::format("dnn: training epoch {}/{}: loss {:.4f} ({:.1f} s)", epoch, epochs, loss, seconds_since(start)));
    });
    save_mlp(result.model, net, key);
    result.trained = true;
    progress(fmt::format("dnn: trained in {:.1f} s; weights cached in {}", seconds_since(start), result.model.string()));
    return net;
}

ImageSet first_images(const ImageSet& set, int count)
{
    if (count <= 0 || count >= set.size()) return set;
    std::vector<int> indices(static_cast<std::size_t>(count));
    std::iota(indices.begin(), indices.end(), 0);
    return set.subset(indices);
}

AccuracyRow float_row(const DnnResult& result)
{
    for (const AccuracyRow& row : result.rows)
        if (row.condition == "float") return row;
    return {};
}

std::string row_csv(const AccuracyRow& row)
{
    return fmt::format("{},{},{},{:.6f},{:.6f},{}\n", row.method, row.bits, row.condition, row.mean, row.std, row.trials);
}

void write_outputs(const DnnConfig& config, const DnnResult& result, const std::filesystem::path& out)
{
    std::string csv = "method,bits,condition,mean,std,trials\n";
    io::OrderedJson rows = io::OrderedJson::array();
    for (const AccuracyRow& row : result.rows) {
        csv += row_csv(row);
        rows.push_back({{"method", row.method}, {"bits", row.bits}, {"condition", row.condition}, {"mean", row.mean},
                        {"std", row.std}, {"trials", row.trials}});
    }
    io::write_file_atomic(out / "accuracy.csv", csv);

    io::OrderedJson j;
    j["format"] = "nladc-dnn-result";
    j["version"] = 1;
    j["nladc_version"] = std::string(version());
    j["config"] = io::dnn_config_to_json(config);
    j["model"] = result.model.filename().string();
    j["trained"] = result.trained;
    io::OrderedJson layers = io::OrderedJson::object();
    for (std::size_t l = 0; l < result.layers.size(); ++l) layers[result.layers[l]] = {{"hi", result.layer_hi[l]}};
    j["layers"] = layers;
    j["rows"] = rows;
    io::OrderedJson subset = io::OrderedJson::array();
    for (const AccuracyRow& row : result.ideal_on_nonideal_images)
        subset.push_back({{"method", row.method}, {"bits", row.bits}, {"mean", row.mean}});
    j["ideal_on_nonideal_images"] = subset;
    j["seconds"] = result.seconds;
    io::write_file_atomic(out / "accuracy.json", io::dump_json(j));

    // Accuracy against bits: one line per method and condition, float as a reference.
    io::PlotSpec plot;
    plot.title = "Fashion-MNIST MLP test accuracy with NL-ADC hidden activations";
    plot.x_label = "ADC bits";
    plot.y_label = "test accuracy";
    double float_accuracy = float_row(result).mean;
    int min_bits = 99, max_bits = 0;
    for (const AccuracyRow& row : result.rows) {
        if (row.condition == "float") continue;
        min_bits = std::min(min_bits, row.bits);
        max_bits = std::max(max_bits, row.bits);
        const std::string title = row.method + " " + row.condition;
        auto series = std::find_if(plot.series.begin(), plot.series.end(), [&](const io::PlotSeries& s) { return s.title == title; });
        if (series == plot.series.end()) {
            plot.series.push_back({title, {}, {}, row.condition == "ideal" ? "linespoints" : "points"});
            series = plot.series.end() - 1;
        }
        series->x.push_back(row.bits);
        series->y.push_back(row.mean);
    }
    if (max_bits >= min_bits)
        plot.series.push_back({"float", {min_bits - 0.2, max_bits + 0.2}, {float_accuracy, float_accuracy}, "lines"});
    plot.extra = "set key bottom right font ',9'";
    io::plot_png(plot, out / "accuracy.png");

    io::write_file_atomic(out / "summary.md", summary_markdown(config, result, "", 1));
}

}  // namespace

std::string summary_markdown(const DnnConfig& config, const DnnResult& result, const std::string& link_prefix,
                             int heading_level)
{
    std::string md = std::string(static_cast<std::size_t>(heading_level), '#') + " Network-level accuracy: Fashion-MNIST MLP with NL-ADC hidden layers\n\n";
    md += fmt::format("Float network (no quantization, no hardware): test accuracy **{:.4f}**.\n\n", float_row(result).mean);
    md += fmt::format("MLP {}-{}-{}-10, ReLU, {} epochs Adam; level sets fit per hidden layer on the activations of {} "
                      "training images (range [0, hi], hi = the {} quantile: ",
                      784, config.train.hidden1, config.train.hidden2, config.train.epochs, result.calibration_images,
                      config.clip_quantile);
    for (std::size_t l = 0; l < result.layers.size(); ++l)
        md += fmt::format("{}{} {:.4g}", l ? ", " : "", result.layers[l], result.layer_hi[l]);
    md += ").\n\n";
    md += "Cells: `ideal` (all test images, nominal conductances, ideal circuits) / `nonideal` mean ± std over the "
          "Monte Carlo chips (programming error, read noise, stuck cells, replica programming, comparator offset and "
          "noise; IR drop off).\n\n";
    std::vector<int> bits = config.bits;
    md += "| method |";
    for (int b : bits) md += fmt::format(" {} b |", b);
    md += "\n|---|";
    for (std::size_t i = 0; i < bits.size(); ++i) md += "---|";
    md += "\n";
    const auto find = [&](const std::string& method, int b, const std::string& condition) -> const AccuracyRow* {
        for (const AccuracyRow& row : result.rows)
            if (row.method == method && row.bits == b && row.condition == condition) return &row;
        return nullptr;
    };
    for (const std::string& method : config.methods) {
        md += "| " + method + " |";
        for (int b : bits) {
            const AccuracyRow* ideal = find(method, b, "ideal");
            const AccuracyRow* nonideal = find(method, b, "nonideal");
            md += fmt::format(" {:.4f}", ideal ? ideal->mean : NAN);
            if (nonideal) md += fmt::format(" / {:.4f} ± {:.4f}", nonideal->mean, nonideal->std);
            md += " |";
        }
        md += "\n";
    }
    if (!result.ideal_on_nonideal_images.empty() && find(config.methods.front(), bits.front(), "nonideal")) {
        md += fmt::format("\nMonte Carlo accuracy change, nonideal minus ideal on the same {} test images (mean ± std "
                          "over chips):\n\n| method |",
                          config.nonideal_images);
        for (int b : bits) md += fmt::format(" {} b |", b);
        md += "\n|---|";
        for (std::size_t i = 0; i < bits.size(); ++i) md += "---|";
        md += "\n";
        for (const std::string& method : config.methods) {
            md += "| " + method + " |";
            for (int b : bits) {
                const AccuracyRow* nonideal = find(method, b, "nonideal");
                double ideal = NAN;
                for (const AccuracyRow& row : result.ideal_on_nonideal_images)
                    if (row.method == method && row.bits == b) ideal = row.mean;
                md += nonideal ? fmt::format(" {:+.4f} ± {:.4f} |", nonideal->mean - ideal, nonideal->std) : " – |";
            }
            md += "\n";
        }
    }
    bool any_finetuned = false;
    for (const AccuracyRow& row : result.rows)
        if (row.condition == "finetuned") {
            if (!any_finetuned) {
                md += fmt::format("\nQuantization-aware fine-tuning ({} epochs, straight-through estimator, ideal "
                                  "circuits, all test images):\n\n| method | bits | PTQ ideal | finetuned | change |\n"
                                  "|---|---|---|---|---|\n",
                                  config.finetune.epochs);
                any_finetuned = true;
            }
            const AccuracyRow* ptq = find(row.method, row.bits, "ideal");
            md += fmt::format("| {} | {} | {:.4f} | {:.4f} | {:+.4f} |\n", row.method, row.bits, ptq ? ptq->mean : NAN,
                              row.mean, ptq ? row.mean - ptq->mean : NAN);
        }
    const std::string& p = link_prefix;
    md += fmt::format("\nRun time {:.1f} s ({}). Files: [accuracy.csv]({}accuracy.csv), [accuracy.json]({}accuracy.json), "
                      "[activations/]({}activations) (calibration.npz, one .npy per layer), [levels/]({}levels) (one "
                      "level-set file per method and bits).\n\n![accuracy versus bits]({}accuracy.png)\n",
                      result.seconds, result.trained ? "training included" : "weights from the cache", p, p, p, p, p);
    return md;
}

CalibrationActivations calibration_activations(const Mlp& net, const ImageSet& train, int count, double clip_quantile,
                                               std::uint64_t seed)
{
    const int n = train.size();
    count = std::clamp(count, 1, n);
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    RandomStream random(seed, kCalibrationSubsetStream);
    for (int i = 0; i < count; ++i)  // partial Fisher-Yates: a uniform random subset
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(i) + random.below(static_cast<std::uint64_t>(n - i))]);
    order.resize(static_cast<std::size_t>(count));
    std::sort(order.begin(), order.end());
    const ImageSet subset = train.subset(order);

    std::vector<Eigen::MatrixXf> hidden;
    forward(net, subset.images, {}, &hidden);
    CalibrationActivations acts;
    acts.images = count;
    for (std::size_t l = 0; l < hidden.size(); ++l) {
        acts.names.push_back(fmt::format("fc{}", l + 1));
        acts.units.push_back(static_cast<int>(hidden[l].rows()));
        // units x images, column-major = images x units row-major: one row per image in the .npy.
        std::vector<float> values(hidden[l].data(), hidden[l].data() + hidden[l].size());
        std::vector<float> sorted = values;
        const std::size_t at = static_cast<std::size_t>(std::floor(clip_quantile * static_cast<double>(sorted.size() - 1)));
        std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(at), sorted.end());
        const double hi = sorted[at];
        if (!(hi > 0))
            throw Error(fmt::format("layer {}: the {} quantile of its activations is {} (a dead layer cannot be quantized)",
                                    acts.names.back(), clip_quantile, hi));
        acts.hi.push_back(hi);
        acts.values.push_back(std::move(values));
    }
    return acts;
}

std::vector<LevelSet> fit_layer_levels(const CalibrationActivations& acts, const std::string& method, int bits)
{
    std::vector<LevelSet> sets;
    for (std::size_t l = 0; l < acts.values.size(); ++l) {
        QuantizerOptions options;
        options.method = method;
        options.bits = bits;
        SummaryOptions summary;
        summary.lo = 0.0;
        summary.hi = acts.hi[l];
        sets.push_back(fit_in_memory(acts.values[l], options, summary));  // clamps to [0, hi]: the ADC saturates
    }
    return sets;
}

DnnResult run_dnn(const DnnConfig& config, const std::filesystem::path& out, const DnnOptions& options)
{
    const auto start = Clock::now();
    const auto progress = [&](const std::string& message) {
        if (options.progress) options.progress(message);
    };
    Technology tech = config.technology.empty() ? Technology{} : io::read_technology(config.technology);
    tech.array.wire_resistance_ohm = 0.0;  // IR drop off (labelled in the outputs)
    const std::filesystem::path data_dir = config.dataset_dir.empty() ? default_fashion_mnist_dir() : std::filesystem::path(config.dataset_dir);
    const Dataset data = load_fashion_mnist(data_dir);
    progress(fmt::format("dnn: {} training and {} test images from {}", data.train.size(), data.test.size(), data_dir.string()));
    std::filesystem::create_directories(out / "activations");
    std::filesystem::create_directories(out / "levels");

    DnnResult result;
    const Mlp net = trained_network(data, config, result, progress);
    const ImageSet test = first_images(data.test, config.test_images);
    const ImageSet nonideal_test = first_images(data.test, config.nonideal_images);
    result.rows.push_back({"float", 32, "float", accuracy(forward(net, test.images), test.labels), 0.0, 1});
    progress(fmt::format("dnn: float test accuracy {:.4f} on {} images", result.rows[0].mean, test.size()));

    // Activations of the calibration subset (training images only), and the level sets.
    const CalibrationActivations acts =
        calibration_activations(net, data.train, config.calibration_images, config.clip_quantile, config.train.seed);
    std::vector<io::NamedArray> arrays;
    for (std::size_t l = 0; l < acts.names.size(); ++l) {
        const std::vector<std::uint64_t> shape = {static_cast<std::uint64_t>(acts.images), static_cast<std::uint64_t>(acts.units[l])};
        arrays.push_back({acts.names[l], acts.values[l], shape});
        io::write_npy(out / "activations" / (acts.names[l] + ".npy"), acts.values[l], shape);
    }
    io::write_npz(out / "activations" / "calibration.npz", arrays);

    struct Combo {
        std::string method;
        int bits;
        std::vector<LevelSet> sets;
    };
    std::vector<Combo> combos;
    for (const std::string& method : config.methods)
        for (int bits : config.bits) {
            Combo combo{method, bits, fit_layer_levels(acts, method, bits)};
            std::vector<std::pair<std::string, io::LevelSetRecord>> records;
            for (std::size_t l = 0; l < combo.sets.size(); ++l) {
                const std::span<const float> samples(acts.values[l]);
                records.push_back({acts.names[l], {combo.sets[l], std::nullopt, score(combo.sets[l], samples)}});
            }
            io::write_levelsets(out / "levels" / fmt::format("{}_{}b.json", method, bits), records);
            combos.push_back(std::move(combo));
        }
    progress(fmt::format("dnn: {} level sets per layer fit ({:.1f} s)", combos.size(), seconds_since(start)));

    // Ideal: nominal conductances, ideal circuits, every test image. Layer 1's MAC values
    // do not depend on the ADC, so they are computed once.
    std::vector<double> ranges(acts.hi.begin(), acts.hi.end());
    std::vector<LayerAdc> range_only(ranges.size());
    for (std::size_t l = 0; l < ranges.size(); ++l) range_only[l].hi = ranges[l];
    const HardwareNetwork nominal = map_network(net, range_only, tech);
    const Eigen::MatrixXf ideal_first = column_mac(nominal.layers[0], drive_inputs(test.images, nominal.input_bits), nominal.v_read_V);
    for (const Combo& combo : combos) {
        HardwareNetwork hw = nominal;
        for (std::size_t l = 0; l < combo.sets.size(); ++l) hw.adcs[l] = ideal_adc(combo.sets[l], tech);
        const Eigen::MatrixXf logits = hardware_logits(hw, test.images, nullptr, &ideal_first);
        result.rows.push_back({combo.method, combo.bits, "ideal", accuracy(logits, test.labels), 0.0, 1});
        // The same on the nonideal condition's images (both are prefixes of the test set),
        // so the Monte Carlo drop is measured on the same images.
        const double on_subset =
            nonideal_test.size() <= test.size()
                ? accuracy(logits.leftCols(nonideal_test.size()), nonideal_test.labels)
                : accuracy(hardware_logits(hw, nonideal_test.images, nullptr), nonideal_test.labels);
        result.ideal_on_nonideal_images.push_back({combo.method, combo.bits, "ideal", on_subset, 0.0, 1});
    }
    progress(fmt::format("dnn: ideal condition done ({:.1f} s)", seconds_since(start)));

    // Nonideal: Monte Carlo chips in parallel; chip c's draws come from streams keyed by
    // (seed, c), so the numbers do not depend on the thread count. Each chip's crossbars
    // are programmed once and shared by every level set (common random numbers).
    if (config.chips > 0) {
        std::vector<std::vector<double>> per_chip(combos.size(), std::vector<double>(static_cast<std::size_t>(config.chips)));
        const Eigen::MatrixXf driven = drive_inputs(nonideal_test.images, nominal.input_bits);
        std::atomic<int> next{0}, done{0};
        std::mutex mutex;
        std::exception_ptr failure;
        const auto worker = [&] {
            for (int chip = next++; chip < config.chips; chip = next++) {
                try {
                    RandomStream cells(config.seed, static_cast<std::uint64_t>(chip));
                    HardwareNetwork hw = nominal;
                    hw.read_noise_sigma_S = tech.device.read_noise_sigma_S;
                    for (CrossbarLayer& layer : hw.layers) layer = program_layer(layer, tech.device, cells);
                    const Eigen::MatrixXf first = column_mac(hw.layers[0], driven, hw.v_read_V);
                    const Eigen::VectorXf first_sigma = read_noise_sigma(hw.layers[0], driven, hw.v_read_V, hw.read_noise_sigma_S);
                    for (std::size_t k = 0; k < combos.size(); ++k) {
                        const std::uint64_t id = combo_stream(chip, combos[k].method, combos[k].bits);
                        RandomStream adc_random(config.seed ^ kAdcKey, id);
                        for (std::size_t l = 0; l < combos[k].sets.size(); ++l)
                            hw.adcs[l] = chip_adc(combos[k].sets[l], tech, static_cast<int>(hw.layers[l].plus_S.cols()), adc_random);
                        RandomStream noise(config.seed ^ kNoiseKey, id);
                        per_chip[k][static_cast<std::size_t>(chip)] =
                            accuracy(hardware_logits(hw, nonideal_test.images, &noise, &first, &first_sigma), nonideal_test.labels);
                    }
                    const int finished = ++done;
                    progress(fmt::format("dnn: nonideal chip {}/{} ({:.1f} s)", finished, config.chips, seconds_since(start)));
                } catch (...) {
                    std::lock_guard lock(mutex);
                    if (!failure) failure = std::current_exception();
                    next = config.chips;
                }
            }
        };
        const int threads = std::clamp(config.threads > 0 ? config.threads : static_cast<int>(std::thread::hardware_concurrency()), 1, config.chips);
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
        for (std::thread& t : pool) t.join();
        if (failure) std::rethrow_exception(failure);
        for (std::size_t k = 0; k < combos.size(); ++k) {
            const std::vector<double>& a = per_chip[k];
            const double mean = std::accumulate(a.begin(), a.end(), 0.0) / static_cast<double>(a.size());
            double variance = 0;
            for (double v : a) variance += (v - mean) * (v - mean);
            const double std = a.size() > 1 ? std::sqrt(variance / static_cast<double>(a.size() - 1)) : 0.0;
            result.rows.push_back({combos[k].method, combos[k].bits, "nonideal", mean, std, config.chips});
        }
    }

    // Quantization-aware fine-tuning at the chosen widths, evaluated like `ideal`.
    for (const std::string& method : config.finetune_methods)
        for (int bits : config.finetune_bits) {
            const auto combo = std::find_if(combos.begin(), combos.end(), [&](const Combo& c) { return c.method == method && c.bits == bits; });
            const std::vector<LevelSet> sets = combo != combos.end() ? combo->sets : fit_layer_levels(acts, method, bits);
            Mlp tuned = net;
            HiddenQuantizers quantizers;
            for (const LevelSet& set : sets) quantizers.push_back(&set);
            const auto tune_start = Clock::now();
            finetune_mlp(tuned, data.train, quantizers, config.finetune, config.train.seed, [&](int epoch, int epochs, double loss) {
                progress(fmt::format("dnn: fine-tuning {} {} b, epoch {}/{}: loss {:.4f} ({:.1f} s)", method, bits, epoch,
                                     epochs, loss, seconds_since(tune_start)));
            });
            std::vector<LayerAdc> adcs;
            for (const LevelSet& set : sets) adcs.push_back(ideal_adc(set, tech));
            const HardwareNetwork hw = map_network(tuned, adcs, tech);
            result.rows.push_back({method, bits, "finetuned", accuracy(hardware_logits(hw, test.images, nullptr), test.labels), 0.0, 1});
        }

    result.seconds = seconds_since(start);
    result.layers = acts.names;
    result.layer_hi = acts.hi;
    result.calibration_images = acts.images;
    write_outputs(config, result, out);
    progress(fmt::format("dnn: done in {:.1f} s; wrote {}", result.seconds, (out / "accuracy.csv").string()));
    return result;
}

}  // namespace nladc::dnn
