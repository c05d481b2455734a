#include "nladc/study/compare.hpp"

#include <fmt/format.h>

#include <map>

#include "nladc/io/plot.hpp"

namespace nladc {

std::vector<CompareRow> compare_methods(ActivationLayer& fit, ActivationLayer* eval, const CompareOptions& options)
{
    std::vector<CompareRow> rows;
    for (int bits : options.bits) {
        std::vector<LevelSet> sets;
        for (const auto& quantizer : quantizers()) {
            for (auto variant : quantizer->variants()) {
                QuantizerOptions q = options.quantizer;
                q.bits = bits;
                q.method = std::string(quantizer->method());
                q.variant = std::string(variant);
                sets.push_back(fit.fit(bits, q, options.summary));
            }
        }
        const auto fit_scores = fit.score(sets);
        std::vector<QuantizationMetrics> eval_scores;
        if (eval) eval_scores = eval->score(sets);
        double bskmq = 0, kmeans = 0, eval_bskmq = 0, eval_kmeans = 0;
        const std::size_t first = rows.size();
        for (std::size_t i = 0; i < sets.size(); ++i) {
            CompareRow row;
            row.bits = bits;
            row.set = sets[i];
            row.fit = fit_scores[i];
            if (eval) row.eval = eval_scores[i];
            const std::string label = method_label(sets[i]);
            if (label == "bs-kmq/drop-pin") {
                bskmq = row.fit.mse;
                if (eval) eval_bskmq = row.eval->mse;
            }
            if (label == "kmeans/exact") {
                kmeans = row.fit.mse;
                if (eval) eval_kmeans = row.eval->mse;
            }
            rows.push_back(std::move(row));
        }
        auto ratio = [](double a, double b) { return b > 0 ? a / b : (a > 0 ? INFINITY : 1.0); };
        for (std::size_t i = first; i < rows.size(); ++i) {
            rows[i].ratio_to_bskmq = ratio(rows[i].fit.mse, bskmq);
            rows[i].ratio_to_kmeans = ratio(rows[i].fit.mse, kmeans);
            if (eval) {
                rows[i].eval_ratio_to_bskmq = ratio(rows[i].eval->mse, eval_bskmq);
                rows[i].eval_ratio_to_kmeans = ratio(rows[i].eval->mse, eval_kmeans);
            }
        }
    }
    return rows;
}

std::string format_compare_table(const std::vector<CompareRow>& rows, const std::string& fit_label,
                                 const std::string& eval_label)
{
    const bool with_eval = !rows.empty() && rows.front().eval.has_value();
    std::string out;
    out += fmt::format("Metric: MSE over all samples (shared scorer on the raw samples), fit on {}", fit_label);
    out += with_eval ? fmt::format("; held-out scores on {}\n", eval_label) : "\n";
    out += "Ratios: MSE / MSE of bs-kmq/drop-pin and of kmeans/exact (the minimum-MSE quantizer on the fit data)\n";
    int bits = -1;
    for (const CompareRow& row : rows) {
        if (row.bits != bits) {
            bits = row.bits;
            out += fmt::format("\n{} bits  (LSB = {:.6g})\n", bits, row.set.lsb());
            out += fmt::format("  {:<26} {:>12} {:>9} {:>9} {:>9} {:>6}", "method/variant", "MSE", "SQNR dB",
                               "/bs-kmq", "/kmeans", "empty");
            if (with_eval) out += fmt::format(" {:>12} {:>9} {:>9}", "eval MSE", "/bs-kmq", "/kmeans");
            out += "\n";
        }
        out += fmt::format("  {:<26} {:>12.5e} {:>9.3f} {:>9.4f} {:>9.4f} {:>6}", method_label(row.set), row.fit.mse,
                           row.fit.sqnr_db, row.ratio_to_bskmq, row.ratio_to_kmeans, row.set.empty_codes.size());
        if (with_eval)
            out += fmt::format(" {:>12.5e} {:>9.4f} {:>9.4f}", row.eval->mse, row.eval_ratio_to_bskmq,
                               row.eval_ratio_to_kmeans);
        out += "\n";
    }
    return out;
}

std::string compare_to_csv(const std::vector<CompareRow>& rows, const std::string& layer, bool header)
{
    std::string out = !header ? "" :
        "layer,bits,method,variant,mse,mse_interior,relative_mse,sqnr_db,max_abs_error,ratio_to_bskmq,ratio_to_kmeans,"
        "empty_codes,unoccupied_codes,eval_mse,eval_sqnr_db,eval_ratio_to_bskmq,eval_ratio_to_kmeans\n";
    for (const CompareRow& r : rows) {
        out += fmt::format("{},{},{},{},{:.10g},{:.10g},{:.10g},{:.6f},{:.10g},{:.6f},{:.6f},{},{}", layer, r.bits, r.set.method,
                           r.set.variant, r.fit.mse, r.fit.mse_interior, r.fit.relative_mse, r.fit.sqnr_db,
                           r.fit.max_abs_error, r.ratio_to_bskmq, r.ratio_to_kmeans, r.set.empty_codes.size(),
                           r.fit.unoccupied_codes.size());
        if (r.eval)
            out += fmt::format(",{:.10g},{:.6f},{:.6f},{:.6f}\n", r.eval->mse, r.eval->sqnr_db, r.eval_ratio_to_bskmq,
                               r.eval_ratio_to_kmeans);
        else
            out += ",,,,\n";
    }
    return out;
}

void plot_compare(const std::vector<CompareRow>& rows, const std::string& title, const std::filesystem::path& png)
{
    std::map<std::string, io::PlotSeries> by_method;
    std::vector<std::string> order;
    for (const CompareRow& row : rows) {
        const std::string label = method_label(row.set);
        if (!by_method.count(label)) {
            order.push_back(label);
            by_method[label].title = label;
        }
        by_method[label].x.push_back(row.bits);
        by_method[label].y.push_back(row.fit.mse);
    }
    io::PlotSpec spec;
    spec.title = title;
    spec.x_label = "ADC bits";
    spec.y_label = "MSE (all samples)";
    spec.log_y = true;
    spec.extra = "set xtics 1";
    for (const auto& label : order) spec.series.push_back(by_method[label]);
    io::plot_png(spec, png);
}

}  // namespace nladc
