// Commands on activation data: synth, levels, compare, score.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "nladc/core/error.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/steps/levels.hpp"

namespace nladc::cli {

namespace {

/// Flags shared by the commands that read activation data.
struct DataFlags {
    std::string input;
    std::string layer;
    bool drop_nonfinite = false;
    double lo = 0.0, hi = 0.0;
    double boundary_tolerance = 0.0;
    std::size_t bins = 0;
    CLI::Option* lo_option = nullptr;
    CLI::Option* hi_option = nullptr;

    void add(CLI::App& app)
    {
        app.add_option("--input", input, "Activation file: .npy, .npz (one array per layer), .csv/.txt, .f32")
            ->required();
        app.add_option("--layer", layer, "Use only this layer of an .npz (default: every layer)");
        app.add_flag("--drop-nonfinite", drop_nonfinite, "Skip NaN/Inf samples (counted) instead of failing");
        lo_option = app.add_option("--lo", lo, "Lower end of the level range (default: data minimum)");
        hi_option = app.add_option("--hi", hi, "Upper end / clamp value of the level range (default: data maximum)");
        app.add_option("--boundary-tol", boundary_tolerance,
                       "Samples within this distance of lo/hi count as boundary point masses")
            ->check(CLI::NonNegativeNumber);
        app.add_option("--bins", bins, "Histogram bins for large inputs (default: 256*2^bits, within [4096, 2^18])")
            ->check(int_range(16, 1 << 24));
    }

    SummaryOptions summary() const
    {
        SummaryOptions options;
        if (lo_option->count()) options.lo = lo;
        if (hi_option->count()) options.hi = hi;
        options.boundary_tolerance = boundary_tolerance;
        options.histogram_bins = bins;
        return options;
    }

    steps::DataSelection selection() const
    {
        return {input, layer, drop_nonfinite ? io::NonFinitePolicy::drop : io::NonFinitePolicy::error, summary(), nullptr};
    }
};

std::string describe_empty(const LevelSet& set)
{
    if (set.empty_codes.empty()) return "none";
    std::string text;
    for (int code : set.empty_codes) text += (text.empty() ? "" : ",") + std::to_string(code);
    return text;
}

}  // namespace

Command add_synth(CLI::App& parent)
{
    auto spec = std::make_shared<SyntheticSpec>();
    auto out = std::make_shared<std::string>();
    CLI::App* app = parent.add_subcommand("synth", "Write the embedded default data: a seeded ReLU-and-clamp mixture (.npy)");
    app->add_option("--n", spec->samples, "Number of samples")->capture_default_str();
    app->add_option("--zeros", spec->zeros_fraction, "Exact fraction of samples at lo (ReLU zeros)")->capture_default_str();
    app->add_option("--clamp", spec->hi, "Clamp value hi")->capture_default_str();
    app->add_option("--clamp-frac", spec->clamp_fraction, "Exact fraction of samples at the clamp value")
        ->capture_default_str();
    app->add_option("--lo", spec->lo, "ReLU floor lo")->capture_default_str();
    app->add_option("--dist", spec->distribution, "Interior distribution, truncated to (lo, hi)")
        ->check(CLI::IsMember({"halfnormal", "lognormal", "uniform"}))
        ->capture_default_str();
    app->add_option("--sigma", spec->sigma, "halfnormal: scale; lognormal: sigma of log(x)")->capture_default_str();
    app->add_option("--mu", spec->mu, "lognormal: mean of log(x)")->capture_default_str();
    app->add_option("--seed", spec->seed, "Random seed (Philox)")->capture_default_str();
    app->add_option("--out", *out, "Output .npy (or .f32)")->required();
    return {app, [spec, out] {
                const std::size_t samples = steps::run_synth({*spec, *out});
                std::cout << fmt::format("wrote {} samples ({:g} at {:g}, {:g} at {:g}, {} interior, seed {}) to {}\n",
                                         samples, spec->zeros_fraction, spec->lo, spec->clamp_fraction,
                                         spec->hi, spec->distribution, spec->seed, *out);
            }};
}

Command add_levels(CLI::App& parent)
{
    struct Flags {
        DataFlags data;
        QuantizerOptions quantizer;
        std::string out;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("levels", "Design an N-bit level set from activation data");
    flags->data.add(*app);
    app->add_option("--bits", flags->quantizer.bits, "ADC resolution in bits")->required()->check(int_range(1, 16));
    const auto names = quantizer_names();
    const std::vector<std::string> methods(names.begin(), names.end());
    app->add_option("--method", flags->quantizer.method, fmt::format("{}", fmt::join(methods, " | ")))
        ->required()
        ->check(CLI::IsMember(methods));
    app->add_option("--variant", flags->quantizer.variant, quantizer_variants_help());
    app->add_option("--alpha", flags->quantizer.bskmq_alpha, "bs-kmq/weight: weight of the boundary samples")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app->add_option("--seed", flags->quantizer.seed, "kmeans/lloyd++: k-means++ seed")->capture_default_str();
    app->add_option("--out", flags->out, "Output level-set JSON")->required();
    return {app, [flags] {
                for (const steps::LayerLevels& layer : steps::run_levels({flags->data.selection(), flags->quantizer,
                                                                           flags->out})) {
                    const DesignedLevels& designed = layer.designed;
                    const auto& m = designed.metrics;
                    std::cout << fmt::format("{}: {} {} bits, range [{:g}, {:g}]: MSE {:.5e}, SQNR {:.2f} dB, "
                                             "empty codes: {}{}\n",
                                             layer.label, method_label(designed.set), designed.set.bits,
                                             designed.set.lo, designed.set.hi, m.mse, m.sqnr_db,
                                             describe_empty(designed.set),
                                             layer.dropped_nonfinite
                                                 ? fmt::format(" ({} non-finite samples dropped)",
                                                               layer.dropped_nonfinite)
                                                 : "");
                }
                std::cout << "wrote " << flags->out << "\n";
            }};
}

Command add_compare(CLI::App& parent)
{
    struct Flags {
        DataFlags data;
        std::vector<int> bits = {3, 4, 5, 6};
        std::string eval, csv, plot;
        QuantizerOptions quantizer;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("compare", "Compare every quantizer and variant at several bit widths");
    flags->data.add(*app);
    app->add_option("--bits", flags->bits, "Comma-separated bit widths")->delimiter(',')->check(int_range(1, 16));
    app->add_option("--eval", flags->eval, "Held-out data scored with the levels fit on --input");
    app->add_option("--csv", flags->csv, "Write the table as CSV");
    app->add_option("--plot", flags->plot, "Write MSE versus bits as PNG");
    app->add_option("--alpha", flags->quantizer.bskmq_alpha, "bs-kmq/weight: weight of the boundary samples")
        ->check(CLI::Range(0.0, 1.0));
    return {app, [flags] {
                steps::CompareRequest request;
                request.data = flags->data.selection();
                request.eval = flags->eval;
                request.options.bits = flags->bits;
                request.options.quantizer = flags->quantizer;
                request.options.summary = request.data.summary;
                request.csv = flags->csv;
                request.plot = flags->plot;
                request.plot_title = "Quantization MSE versus ADC bits: " + flags->data.input;
                request.progress = note;
                for (const steps::CompareLayer& layer : steps::run_compare(request))
                    std::cout << format_compare_table(layer.rows, layer.label, layer.eval_label) << "\n";
                if (!flags->csv.empty()) std::cout << "wrote " << flags->csv << "\n";
                if (!flags->plot.empty()) std::cout << "wrote " << flags->plot << "\n";
            }};
}

Command add_score(CLI::App& parent)
{
    struct Flags {
        DataFlags data;
        std::string levels, levels_layer;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("score", "Score an existing level set on activation data (e.g. held-out data)");
    flags->data.add(*app);
    app->add_option("--levels", flags->levels, "Level-set JSON")->required();
    app->add_option("--levels-layer", flags->levels_layer, "Layer of a multi-layer level-set file");
    return {app, [flags] {
                for (const steps::ScoreLayer& layer :
                     steps::run_score({flags->data.selection(), flags->levels, flags->levels_layer})) {
                    const QuantizationMetrics& m = layer.metrics;
                    std::cout << fmt::format("{} scored with {} ({} bits): MSE {:.5e}, interior MSE {:.5e}, "
                                             "SQNR {:.2f} dB, max |error| {:.5g}, unoccupied codes: {}\n",
                                             layer.label, method_label(layer.set), layer.set.bits, m.mse,
                                             m.mse_interior, m.sqnr_db, m.max_abs_error, m.unoccupied_codes.size());
                }
            }};
}

}  // namespace nladc::cli
