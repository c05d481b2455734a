// Steps on activation data (steps/levels.hpp).
#include "nladc/steps/levels.hpp"

#include <fmt/format.h>

#include <memory>

#include "nladc/documents/levelset_file.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::steps {

std::vector<std::string> DataSelection::layers() const
{
    if (samples) return {""};
    if (!layer.empty()) return {layer};
    return layer_names(input);
}

ActivationLayer DataSelection::open(const std::string& name) const
{
    if (samples) return ActivationLayer(*samples, input.empty() ? "array" : input, nonfinite);
    return ActivationLayer(input, name, nonfinite);
}

std::size_t run_synth(const SynthRequest& request)
{
    const std::vector<float> samples = generate_synthetic(request.spec);
    if (request.out.ends_with(".f32"))
        io::write_file_atomic(request.out, std::string_view(reinterpret_cast<const char*>(samples.data()),
                                                            samples.size() * sizeof(float)));
    else
        io::write_npy(request.out, samples, {samples.size()});
    return samples.size();
}

std::vector<LayerLevels> run_levels(const LevelsRequest& request)
{
    std::vector<LayerLevels> layers;
    std::vector<std::pair<std::string, io::LevelSetRecord>> records;
    for (const std::string& layer : request.data.layers()) {
        ActivationLayer activations = request.data.open(layer);
        LayerLevels designed{layer, activations.label(),
                             design_levels(activations, request.quantizer, request.data.summary),
                             activations.dropped_nonfinite()};
        records.push_back({layer, {designed.designed.set, designed.designed.input, designed.designed.metrics}});
        layers.push_back(std::move(designed));
    }
    if (!request.out.empty()) io::write_levelsets(request.out, records);
    return layers;
}

std::vector<CompareLayer> run_compare(const CompareRequest& request)
{
    std::vector<CompareLayer> layers;
    std::string csv;
    std::vector<CompareRow> all_rows;
    for (const std::string& layer : request.data.layers()) {
        ActivationLayer fit = request.data.open(layer);
        std::unique_ptr<ActivationLayer> eval;
        if (!request.eval.empty()) {
            const auto eval_layers = layer_names(request.eval);
            const std::string eval_layer = eval_layers.size() == 1 ? eval_layers.front() : layer;
            eval = std::make_unique<ActivationLayer>(request.eval, eval_layer, request.data.nonfinite);
        }
        if (request.progress) request.progress(fmt::format("compare: {} ({} samples)", fit.label(), fit.samples()));
        CompareLayer result{layer, fit.label(), eval ? eval->label() : "", fit.samples(),
                            compare_methods(fit, eval.get(), request.options)};
        csv += compare_to_csv(result.rows, layer, csv.empty());
        all_rows.insert(all_rows.end(), result.rows.begin(), result.rows.end());
        layers.push_back(std::move(result));
    }
    if (!request.csv.empty()) io::write_file_atomic(request.csv, csv);
    if (!request.plot.empty()) plot_compare(all_rows, request.plot_title, request.plot);
    return layers;
}

std::vector<ScoreLayer> run_score(const ScoreRequest& request)
{
    const io::LevelSetRecord record = io::read_levelset(request.levels_file, request.levels_layer);
    std::vector<ScoreLayer> scored;
    for (const std::string& layer : request.data.layers()) {
        ActivationLayer activations = request.data.open(layer);
        scored.push_back({activations.label(), record.set, activations.score({record.set}).front()});
    }
    return scored;
}

}  // namespace nladc::steps
