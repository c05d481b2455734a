#include "nladc/dnn/study.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
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
#include "report.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/quant/metrics.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc::dnn {
namespace {

// Keys that separate the random streams of the study's draws (RandomStream(seed ^ key, id)).
constexpr std::uint64_t kCalibrationSubsetStream = 3000;
constexpr std::uint64_t kCellKey = 0xCE11CE11CE11CE11ull;  // else chip c's cells reuse layer c's initial weights
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
            // The key covers the layer sizes, so other shapes mean a damaged header.
            const std::vector<long> expected = {data.train.images.rows(), config.train.hidden1, config.train.hidden2, 10};
            std::vector<long> found = {cached->layers.front().weights.cols()};
            for (const DenseLayer& layer : cached->layers) found.push_back(layer.weights.rows());
            if (found != expected)
                throw InputError(result.model.string(), "line 2",
                                 fmt::format("layer sizes {} are not {}", fmt::join(found, "-"), fmt::join(expected, "-")));
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
    result.trained = true;
    try {
        save_mlp(result.model, net, key);
        progress(fmt::format("dnn: trained in {:.1f} s; weights cached in {}", seconds_since(start), result.model.string()));
    } catch (const OutputError& e) {  // an unwritable cache costs the next run a retraining, not this run
        progress(fmt::format("dnn: trained in {:.1f} s; the weights could not be cached ({})", seconds_since(start), e.what()));
    }
    return net;
}

ImageSet first_images(const ImageSet& set, int count)
{
    if (count <= 0 || count >= set.size()) return set;
    std::vector<int> indices(static_cast<std::size_t>(count));
    std::iota(indices.begin(), indices.end(), 0);
    return set.subset(indices);
}

}  // namespace

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

namespace {

/// Runs work(i) for i = 0 .. count-1 on `threads` threads (each i once, in any order);
/// rethrows the first exception after every thread has stopped.
void parallel_for(int count, int threads, const std::function<void(int)>& work)
{
    std::atomic<int> next{0};
    std::mutex mutex;
    std::exception_ptr failure;
    const auto worker = [&] {
        for (int i = next++; i < count; i = next++) {
            try {
                work(i);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!failure) failure = std::current_exception();
                next = count;
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < std::clamp(threads, 1, std::max(count, 1)); ++t) pool.emplace_back(worker);
    for (std::thread& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
}

/// A method and width with the level set of every hidden layer.
struct Combo {
    std::string method;
    int bits = 0;
    std::vector<LevelSet> sets;
};

/// The steps of run_dnn, sharing the trained network, the data and the level sets.
class Study {
public:
    Study(const DnnConfig& config, const std::filesystem::path& out, const DnnOptions& options)
        : config_(config), out_(out), options_(options)
    {
        tech_ = config.technology.empty() ? Technology{} : io::read_technology(config.technology);
        tech_.array.wire_resistance_ohm = 0.0;  // IR drop off (labelled in the outputs)
        const std::filesystem::path dir =
            config.dataset_dir.empty() ? default_fashion_mnist_dir() : std::filesystem::path(config.dataset_dir);
        data_ = load_fashion_mnist(dir);
        progress(fmt::format("dnn: {} training and {} test images from {}", data_.train.size(), data_.test.size(),
                             dir.string()));
        test_ = first_images(data_.test, config.test_images);
        nonideal_test_ = first_images(data_.test, config.nonideal_images);
    }

    DnnResult run()
    {
        net_ = trained_network(data_, config_, result_, [&](const std::string& m) { progress(m); });
        result_.rows.push_back({"float", 32, "float", accuracy(forward(net_, test_.images), test_.labels), 0.0, 1});
        progress(fmt::format("dnn: float test accuracy {:.4f} on {} images", result_.rows[0].mean, test_.size()));
        design_levels();
        evaluate_ideal();
        if (config_.chips > 0) evaluate_nonideal();
        evaluate_finetuned();
        result_.seconds = seconds_since(start_);
        result_.layers = acts_.names;
        result_.layer_hi = acts_.hi;
        result_.calibration_images = acts_.images;
        result_.inputs = static_cast<int>(data_.train.images.rows());
        result_.test_images = test_.size();
        result_.nonideal_images = nonideal_test_.size();
        detail::write_outputs(config_, result_, out_);
        progress(fmt::format("dnn: done in {:.1f} s", result_.seconds));
        return result_;
    }

private:
    /// Progress lines may come from the Monte Carlo threads: one at a time.
    void progress(const std::string& message)
    {
        std::lock_guard lock(progress_mutex_);
        if (options_.progress) options_.progress(message);
    }

    /// Activations of the calibration subset (training images only), their dumps, and a
    /// level set per hidden layer for every method and width.
    void design_levels()
    {
        acts_ = calibration_activations(net_, data_.train, config_.calibration_images, config_.clip_quantile,
                                        config_.train.seed);
        std::filesystem::create_directories(out_ / "activations");
        std::filesystem::create_directories(out_ / "levels");
        std::vector<io::NamedArray> arrays;
        for (std::size_t l = 0; l < acts_.names.size(); ++l) {
            const std::vector<std::uint64_t> shape = {static_cast<std::uint64_t>(acts_.images),
                                                      static_cast<std::uint64_t>(acts_.units[l])};
            arrays.push_back({acts_.names[l], acts_.values[l], shape});
            io::write_npy(out_ / "activations" / (acts_.names[l] + ".npy"), acts_.values[l], shape);
        }
        io::write_npz(out_ / "activations" / "calibration.npz", arrays);
        for (const std::string& method : config_.methods)
            for (int bits : config_.bits) {
                Combo combo{method, bits, fit_layer_levels(acts_, method, bits)};
                std::vector<std::pair<std::string, io::LevelSetRecord>> records;
                for (std::size_t l = 0; l < combo.sets.size(); ++l) {
                    const std::span<const float> samples(acts_.values[l]);
                    records.push_back({acts_.names[l], {combo.sets[l], std::nullopt, score(combo.sets[l], samples)}});
                }
                io::write_levelsets(out_ / "levels" / fmt::format("{}_{}b.json", method, bits), records);
                combos_.push_back(std::move(combo));
            }
        plot_level_sets();
        // Nominal crossbars: the input scales are the ADC ranges, the same for every level set.
        std::vector<LayerAdc> ranges(acts_.hi.size());
        for (std::size_t l = 0; l < ranges.size(); ++l) ranges[l].hi = acts_.hi[l];
        nominal_ = map_network(net_, ranges, tech_);
        progress(fmt::format("dnn: {} level sets per layer fit ({:.1f} s)", combos_.size(), seconds_since(start_)));
    }

    /// levels_<layer>.png: each method's ADC transfer curve at one width (the one nearest
    /// 3 bits) over the empirical CDF of the layer's calibration activations scaled to the
    /// code range — where each method spends its codes against where the data lie.
    void plot_level_sets() const
    {
        int plot_bits = config_.bits.front();
        for (int b : config_.bits)
            if (std::abs(b - 3) < std::abs(plot_bits - 3)) plot_bits = b;
        const double top_code = static_cast<double>((1 << plot_bits) - 1);
        for (std::size_t l = 0; l < acts_.names.size(); ++l) {
            const double hi = acts_.hi[l];
            std::vector<float> sorted = acts_.values[l];
            std::sort(sorted.begin(), sorted.end());
            io::PlotSpec plot;
            const double zeros = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), 0.0f) - sorted.begin());
            plot.title = fmt::format("{}: {}-bit transfer curves over the calibration CDF ({:.0f} % of activations are 0)",
                                     acts_.names[l], plot_bits, 100.0 * zeros / static_cast<double>(sorted.size()));
            plot.x_label = "activation (MAC value after ReLU)";
            plot.y_label = "output code";
            io::PlotSeries cdf{"data CDF x (2^bits - 1)", {}, {}, "lines lw 1.5 lc rgb 'black'"};
            constexpr int kCdfPoints = 400;
            for (int i = 0; i <= kCdfPoints; ++i) {
                const double x = hi * i / kCdfPoints;
                const auto below = std::upper_bound(sorted.begin(), sorted.end(), static_cast<float>(x)) - sorted.begin();
                cdf.x.push_back(x);
                cdf.y.push_back(top_code * static_cast<double>(below) / static_cast<double>(sorted.size()));
            }
            plot.series.push_back(std::move(cdf));
            // Methods often share thresholds: distinct colours and dash patterns keep each visible.
            static constexpr std::array<const char*, 5> kColours = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"};
            int drawn = 0;
            for (const Combo& combo : combos_) {
                if (combo.bits != plot_bits) continue;
                const LevelSet& set = combo.sets[l];
                io::PlotSeries steps{combo.method, {0.0}, {0.0},
                                     fmt::format("steps lw 2 lc rgb '{}' dt {}", kColours[drawn % kColours.size()],
                                                 drawn % 5 + 1)};
                ++drawn;
                for (std::size_t k = 0; k < set.thresholds.size(); ++k) {
                    steps.x.push_back(std::clamp(set.thresholds[k], 0.0, hi));
                    steps.y.push_back(static_cast<double>(k + 1));
                }
                steps.x.push_back(hi);
                steps.y.push_back(top_code);
                plot.series.push_back(std::move(steps));
            }
            plot.extra = "set key inside bottom right font ',9'\nset ytics 1";
            io::plot_png(plot, out_ / fmt::format("levels_{}.png", acts_.names[l]));
        }
    }

    /// Nominal conductances, ideal circuits, every test image. Layer 1's MAC values do not
    /// depend on the ADC, so they are computed once.
    void evaluate_ideal()
    {
        const Eigen::MatrixXf first =
            column_mac(nominal_.layers[0], drive_inputs(test_.images, nominal_.input_bits), nominal_.v_read_V);
        for (const Combo& combo : combos_) {
            HardwareNetwork hw = nominal_;
            for (std::size_t l = 0; l < combo.sets.size(); ++l) hw.adcs[l] = ideal_adc(combo.sets[l], tech_);
            const Eigen::MatrixXf logits = hardware_logits(hw, test_.images, nullptr, &first);
            result_.rows.push_back({combo.method, combo.bits, "ideal", accuracy(logits, test_.labels), 0.0, 1});
            // The same on the nonideal condition's images (both are prefixes of the test
            // set), so the Monte Carlo drop is measured on the same images.
            const double on_subset =
                nonideal_test_.size() <= test_.size()
                    ? accuracy(logits.leftCols(nonideal_test_.size()), nonideal_test_.labels)
                    : accuracy(hardware_logits(hw, nonideal_test_.images, nullptr), nonideal_test_.labels);
            result_.ideal_on_nonideal_images.push_back({combo.method, combo.bits, "ideal", on_subset, 0.0, 1});
        }
        progress(fmt::format("dnn: ideal condition done ({:.1f} s)", seconds_since(start_)));
    }

    /// One Monte Carlo chip: its crossbars programmed once and shared by every level set
    /// (common random numbers); per level set, its replica ramps, comparators and noise.
    /// Returns the accuracy per combo.
    std::vector<double> evaluate_chip(int chip, const Eigen::MatrixXf& driven) const
    {
        RandomStream cells(config_.seed ^ kCellKey, static_cast<std::uint64_t>(chip));
        HardwareNetwork hw = nominal_;
        hw.read_noise_sigma_S = tech_.device.read_noise_sigma_S;
        for (CrossbarLayer& layer : hw.layers) layer = program_layer(layer, tech_.device, cells);
        const Eigen::MatrixXf first = column_mac(hw.layers[0], driven, hw.v_read_V);
        const Eigen::VectorXf first_sigma = read_noise_sigma(hw.layers[0], driven, hw.v_read_V, hw.read_noise_sigma_S);
        std::vector<double> accuracies;
        for (const Combo& combo : combos_) {
            const std::uint64_t id = combo_stream(chip, combo.method, combo.bits);
            RandomStream adc_random(config_.seed ^ kAdcKey, id);
            for (std::size_t l = 0; l < combo.sets.size(); ++l)
                hw.adcs[l] = chip_adc(combo.sets[l], tech_, static_cast<int>(hw.layers[l].plus_S.cols()), adc_random);
            RandomStream noise(config_.seed ^ kNoiseKey, id);
            accuracies.push_back(accuracy(hardware_logits(hw, nonideal_test_.images, &noise, &first, &first_sigma),
                                          nonideal_test_.labels));
        }
        return accuracies;
    }

    /// Monte Carlo chips in parallel. Chip c's draws come from streams keyed by (seed, c),
    /// so the numbers do not depend on the thread count.
    void evaluate_nonideal()
    {
        const int chips = config_.chips;
        std::vector<std::vector<double>> per_chip(static_cast<std::size_t>(chips));
        const Eigen::MatrixXf driven = drive_inputs(nonideal_test_.images, nominal_.input_bits);
        std::atomic<int> done{0};
        parallel_for(chips, threads(), [&](int chip) {
            per_chip[static_cast<std::size_t>(chip)] = evaluate_chip(chip, driven);
            progress(fmt::format("dnn: nonideal chip {}/{} ({:.1f} s)", ++done, chips, seconds_since(start_)));
        });
        for (std::size_t k = 0; k < combos_.size(); ++k) {
            std::vector<double> a;
            for (const auto& chip : per_chip) a.push_back(chip[k]);
            const double mean = std::accumulate(a.begin(), a.end(), 0.0) / static_cast<double>(a.size());
            double variance = 0;
            for (double v : a) variance += (v - mean) * (v - mean);
            const double std = a.size() > 1 ? std::sqrt(variance / static_cast<double>(a.size() - 1)) : 0.0;
            result_.rows.push_back({combos_[k].method, combos_[k].bits, "nonideal", mean, std, chips});
        }
    }

    /// Quantization-aware fine-tuning at the chosen widths, evaluated like `ideal`. The runs
    /// are independent (each starts from the float weights with its own seeded shuffles),
    /// so they run in parallel and the rows keep the config's order.
    void evaluate_finetuned()
    {
        std::vector<std::pair<std::string, int>> runs;
        for (const std::string& method : config_.finetune_methods)
            for (int bits : config_.finetune_bits) runs.emplace_back(method, bits);
        std::vector<double> accuracies(runs.size());
        parallel_for(static_cast<int>(runs.size()), threads(), [&](int i) {
            // Plain names, not a structured binding: clang 14 cannot capture bindings in the lambdas below.
            const std::string& method = runs[static_cast<std::size_t>(i)].first;
            const int bits = runs[static_cast<std::size_t>(i)].second;
            const auto combo = std::find_if(combos_.begin(), combos_.end(),
                                            [&](const Combo& c) { return c.method == method && c.bits == bits; });
            const std::vector<LevelSet> sets = combo != combos_.end() ? combo->sets : fit_layer_levels(acts_, method, bits);
            Mlp tuned = net_;
            HiddenQuantizers quantizers;
            for (const LevelSet& set : sets) quantizers.push_back(&set);
            const auto tune_start = Clock::now();
            finetune_mlp(tuned, data_.train, quantizers, config_.finetune, config_.train.seed,
                         [&](int epoch, int epochs, double loss) {
                             progress(fmt::format("dnn: fine-tuning {} {} b, epoch {}/{}: loss {:.4f} ({:.1f} s)", method,
                                                  bits, epoch, epochs, loss, seconds_since(tune_start)));
                         });
            std::vector<LayerAdc> adcs;
            for (const LevelSet& set : sets) adcs.push_back(ideal_adc(set, tech_));
            const HardwareNetwork hw = map_network(tuned, adcs, tech_);
            accuracies[static_cast<std::size_t>(i)] = accuracy(hardware_logits(hw, test_.images, nullptr), test_.labels);
        });
        for (std::size_t i = 0; i < runs.size(); ++i)
            result_.rows.push_back({runs[i].first, runs[i].second, "finetuned", accuracies[i], 0.0, 1});
    }

    int threads() const
    {
        return config_.threads > 0 ? config_.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    }

    const DnnConfig& config_;
    std::filesystem::path out_;
    const DnnOptions& options_;
    Clock::time_point start_ = Clock::now();
    std::mutex progress_mutex_;
    Technology tech_;
    Dataset data_;
    ImageSet test_, nonideal_test_;
    Mlp net_;
    CalibrationActivations acts_;
    std::vector<Combo> combos_;
    HardwareNetwork nominal_;
    DnnResult result_;
};

}  // namespace

DnnResult run_dnn(const DnnConfig& config, const std::filesystem::path& out, const DnnOptions& options)
{
    namespace fs = std::filesystem;
    // Everything is written into a staging directory beside `out` and moved in at the end:
    // a failed run leaves no partial outputs, and a rerun into the same directory leaves no
    // level-set files of an earlier config behind. Other files in `out` are not touched.
    const fs::path target = out.filename().empty() ? out.parent_path() : out;
    // A fixed name, so a run killed by a signal leaves nothing the next run does not clear.
    const fs::path staging = target.parent_path() / fmt::format(".{}.partial", target.filename().string());
    std::error_code error;
    fs::remove_all(staging, error);
    fs::create_directories(staging, error);
    if (error) throw OutputError(staging.string(), error.message());
    DnnResult result;
    try {
        result = Study(config, staging, options).run();
        fs::create_directories(target);
        for (const fs::directory_entry& entry : fs::directory_iterator(staging)) {
            const fs::path destination = target / entry.path().filename();
            if (entry.is_directory()) fs::remove_all(destination);
            fs::rename(entry.path(), destination);
        }
        fs::remove(staging);
    } catch (const fs::filesystem_error& failure) {
        fs::remove_all(staging, error);
        throw OutputError(failure.path1().string(), failure.code().message());
    } catch (...) {
        fs::remove_all(staging, error);
        throw;
    }
    return result;
}

}  // namespace nladc::dnn
