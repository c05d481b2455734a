// Steps on the behavioral model (steps/evaluate.hpp).
#include "nladc/steps/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>

#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/quant/quantizer.hpp"

namespace nladc::steps {

ConvertResult run_convert(const ConvertRequest& request)
{
    const NominalAdc opened = open_adc(request.evaluation);
    const BehavioralAdc& adc = *opened.adc;
    ConvertResult result;
    result.code = adc.convert(request.mac);
    result.level = adc.reconstruct(result.code);
    result.output_swing_V = adc.mac_output_V(request.mac);
    result.energy = adc.energy(request.mac);
    result.technology_note = opened.loaded.technology_note;
    return result;
}

namespace {

/// run(begin, end) over [0, n) split into contiguous ranges, one per thread (at least
/// min_per_thread items each; threads <= 0: the hardware's); the first exception is rethrown.
template <class Run>
void split_over_threads(std::size_t n, std::size_t min_per_thread, int threads, const Run& run)
{
    std::size_t workers = threads > 0 ? static_cast<std::size_t>(threads) : std::max(1u, std::thread::hardware_concurrency());
    workers = std::max<std::size_t>(1, std::min(workers, n / min_per_thread));
    if (workers == 1) return run(std::size_t{0}, n);
    const std::size_t per = (n + workers - 1) / workers;
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(workers);
    for (std::size_t w = 0; w < workers; ++w)
        pool.emplace_back([&, w] {
            try {
                run(std::min(n, w * per), std::min(n, (w + 1) * per));
            } catch (...) {
                errors[w] = std::current_exception();
            }
        });
    for (auto& thread : pool) thread.join();
    for (const auto& error : errors)
        if (error) std::rethrow_exception(error);
}

}  // namespace

void convert_many(const BehavioralAdc& adc, std::span<const double> macs, std::span<int> codes, int threads)
{
    if (codes.size() != macs.size())
        throw Error(fmt::format("convert: {} MAC values but room for {} codes", macs.size(), codes.size()));
    split_over_threads(macs.size(), 4096, threads, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) codes[i] = adc.convert(macs[i]);
    });
}

Eigen::MatrixXi convert_columns(const BehavioralAdc& adc, const Eigen::Ref<const Eigen::MatrixXd>& weights,
                                const Eigen::Ref<const Eigen::MatrixXd>& inputs, int threads)
{
    if (weights.rows() != inputs.rows())
        throw Error(fmt::format("convert: weights of {} rows for inputs of {} rows", weights.rows(), inputs.rows()));
    std::vector<PreparedColumn> columns;
    for (Eigen::Index j = 0; j < weights.cols(); ++j) columns.push_back(adc.prepare(weights.col(j)));
    Eigen::MatrixXi codes(inputs.cols(), weights.cols());  // column-major: one column's codes contiguous
    // Threads split the input vectors; each converts them in blocks that stay in cache
    // while every column takes its turn on them.
    constexpr Eigen::Index kBlock = 256;
    split_over_threads(static_cast<std::size_t>(inputs.cols()), 1024, threads, [&](std::size_t begin, std::size_t end) {
        for (auto b = static_cast<Eigen::Index>(begin); b < static_cast<Eigen::Index>(end); b += kBlock) {
            const Eigen::Index length = std::min(kBlock, static_cast<Eigen::Index>(end) - b);
            for (std::size_t j = 0; j < columns.size(); ++j) {
                int* out = codes.col(static_cast<Eigen::Index>(j)).data() + b;
                adc.convert_batch(columns[j], inputs.middleCols(b, length),
                                  std::span<int>(out, static_cast<std::size_t>(length)));
            }
        }
    });
    return codes.transpose();
}

namespace {

void plot_transfer(const ReplicaDesign& design, const BehavioralAdc& adc, const std::string& file)
{
    io::PlotSpec spec;
    spec.title = fmt::format("Transfer curve: {} {} bits", method_label(design.levels), design.levels.bits);
    spec.x_label = "MAC value (input units)";
    spec.y_label = "output level";
    spec.vertical_lines = design.levels.thresholds;
    io::PlotSeries curve{"ADC output", {}, {}, "steps"};
    io::PlotSeries ideal{"target level set", {}, {}, "steps"};
    const double span = design.levels.hi - design.levels.lo;
    for (int i = 0; i <= 800; ++i) {
        const double v = design.levels.lo - 0.05 * span + 1.1 * span * i / 800;
        curve.x.push_back(v);
        curve.y.push_back(adc.reconstruct(adc.convert(v)));
        ideal.x.push_back(v);
        ideal.y.push_back(design.levels.quantize(v));
    }
    spec.series = {ideal, curve};
    io::plot_png(spec, file);
}

}  // namespace

TransferResult run_transfer(const TransferRequest& request)
{
    const NominalAdc opened = open_adc(request.evaluation);
    TransferResult result;
    result.design = opened.loaded.record.design;
    result.technology_note = opened.loaded.technology_note;
    const ReplicaDesign& design = result.design;
    const BehavioralAdc& adc = *opened.adc;
    result.measured = adc.transition_levels();
    const double lsb = design.levels.lsb();
    std::string csv = "k,target,mapped,measured,error_lsb,mapping_error_lsb\n";
    for (std::size_t k = 0; k < result.measured.size(); ++k) {
        const double measured = result.measured[k];
        const double target = design.levels.thresholds[k];
        const double error = (measured - target) / lsb;
        if (std::isfinite(error)) result.max_error_lsb = std::max(result.max_error_lsb, std::abs(error));
        csv += fmt::format("{},{:.10g},{:.10g},{},{},{:.6g}\n", k + 1, target, design.realized_thresholds[k],
                           std::isfinite(measured) ? fmt::format("{:.10g}", measured) : "unreachable",
                           std::isfinite(error) ? fmt::format("{:.6g}", error) : "", design.threshold_error_lsb[k]);
    }
    io::write_file_atomic(request.out, csv);
    if (!request.plot.empty()) plot_transfer(design, adc, request.plot);
    return result;
}

}  // namespace nladc::steps
