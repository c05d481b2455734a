// The network study's outputs (report.hpp): accuracy.csv, accuracy.json, accuracy.png
// and the Markdown summary the flow's report embeds.
#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/plot.hpp"

namespace nladc::dnn {

namespace {

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

}  // namespace

void detail::write_outputs(const DnnConfig& config, const DnnResult& result, const std::filesystem::path& out)
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
    plot.extra = "set key inside bottom right font ',9'\nset xtics 1";
    io::plot_png(plot, out / "accuracy.png");

    io::write_file_atomic(out / "summary.md", summary_markdown(config, result, "", 1));
}

std::string summary_markdown(const DnnConfig& config, const DnnResult& result, const std::string& link_prefix,
                             int heading_level)
{
    std::string md = std::string(static_cast<std::size_t>(heading_level), '#') + " Network-level accuracy: Fashion-MNIST MLP with NL-ADC hidden layers\n\n";
    md += fmt::format("Float network (no quantization, no hardware): test accuracy **{:.4f}**.\n\n", float_row(result).mean);
    md += fmt::format("MLP {}-{}-{}-10, ReLU, {} epochs Adam; level sets fit per hidden layer on the activations of {} "
                      "training images (range [0, hi], hi = the {} quantile: ",
                      result.inputs, config.train.hidden1, config.train.hidden2, config.train.epochs, result.calibration_images,
                      config.clip_quantile);
    for (std::size_t l = 0; l < result.layers.size(); ++l)
        md += fmt::format("{}{} {:.4g}", l ? ", " : "", result.layers[l], result.layer_hi[l]);
    md += ").\n\n";
    md += fmt::format("Cells: `ideal` ({} test images, nominal conductances, ideal circuits) / `nonideal` mean ± std over "
                      "the Monte Carlo chips on the first {} test images (programming error, read noise, stuck cells, "
                      "replica programming, comparator offset and noise; IR drop off).\n\n",
                      result.test_images, result.nonideal_images);
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
                          result.nonideal_images);
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
                                  "circuits, {} test images):\n\n| method | bits | PTQ ideal | finetuned | change |\n"
                                  "|---|---|---|---|---|\n",
                                  config.finetune.epochs, result.test_images);
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
    for (const std::string& layer : result.layers)
        md += fmt::format("\n![{0} transfer curves over the activation CDF]({1}levels_{0}.png)\n", layer, p);
    return md;
}

}  // namespace nladc::dnn
