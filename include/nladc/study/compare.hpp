#pragma once
// Quantizer comparison: every method and variant at every bit width, fit on one
// data set and scored by the shared scorer on the raw samples, optionally also
// on held-out data. The exact k-means is the minimum-MSE level set on the fit
// data (BRIEF §3, honesty note), so its ratio column shows where any gain of
// BS-KMQ over the others comes from.

#include <optional>
#include <string>
#include <vector>

#include "nladc/quant/quantizer.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc {

struct CompareRow {
    int bits = 0;
    LevelSet set;
    QuantizationMetrics fit;                  ///< on the data the levels were fit on
    std::optional<QuantizationMetrics> eval;  ///< on held-out data
    double ratio_to_bskmq = 0.0;   ///< mse / mse(bs-kmq/drop-pin), fit data
    double ratio_to_kmeans = 0.0;  ///< mse / mse(kmeans/exact), fit data
    double eval_ratio_to_bskmq = 0.0, eval_ratio_to_kmeans = 0.0;
};

struct CompareOptions {
    std::vector<int> bits = {3, 4, 5, 6};
    QuantizerOptions quantizer;  ///< knobs shared by all methods (method/variant ignored)
    SummaryOptions summary;
};

/// Runs the comparison. `eval` may be null. Eval data are scored with the fit
/// data's level sets unchanged.
std::vector<CompareRow> compare_methods(ActivationLayer& fit, ActivationLayer* eval, const CompareOptions& options);

/// Text table (one block per bit width) naming the metric in the header.
std::string format_compare_table(const std::vector<CompareRow>& rows, const std::string& fit_label,
                                 const std::string& eval_label);
/// CSV with one row per (bits, method, variant), the layer in the first column;
/// the header line is included when `header` is true.
std::string compare_to_csv(const std::vector<CompareRow>& rows, const std::string& layer, bool header);
/// MSE versus bits per method, log scale.
void plot_compare(const std::vector<CompareRow>& rows, const std::string& title, const std::filesystem::path& png);

}  // namespace nladc
