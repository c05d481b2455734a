// Steps on the behavioral model (steps/evaluate.hpp).
#include "nladc/steps/evaluate.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/io/atomic_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/quant/quantizer.hpp"

namespace nladc::steps {

ConvertResult run_convert(const ConvertRequest& request)
{
    const LoadedDesign loaded = load_design(request.evaluation.design_file, request.evaluation.tech_file);
    const ReplicaDesign& design = loaded.record.design;
    const BehavioralAdc adc(design, loaded.tech, nominal_chip(design, loaded.tech), adc_options(request.evaluation));
    ConvertResult result;
    result.code = adc.convert(request.mac);
    result.level = adc.reconstruct(result.code);
    result.output_swing_V = adc.mac_output_V(request.mac);
    result.energy = adc.energy(request.mac);
    result.technology_note = loaded.technology_note;
    return result;
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
    const LoadedDesign loaded = load_design(request.evaluation.design_file, request.evaluation.tech_file);
    TransferResult result;
    result.design = loaded.record.design;
    result.technology_note = loaded.technology_note;
    const ReplicaDesign& design = result.design;
    const BehavioralAdc adc(design, loaded.tech, nominal_chip(design, loaded.tech), adc_options(request.evaluation));
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
