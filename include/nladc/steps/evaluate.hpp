#pragma once
// Steps on the behavioral model of a mapped design: `convert` (one MAC value) and
// `transfer` (the transition levels by bisection, as CSV and a plot).

#include <span>
#include <string>
#include <vector>

#include "nladc/steps/common.hpp"

namespace nladc::steps {

struct ConvertRequest {
    Evaluation evaluation;
    double mac = 0.0;  ///< level-set input units
};
struct ConvertResult {
    int code = 0;
    double level = 0.0;           ///< the output level of the code
    double output_swing_V = 0.0;  ///< the MAC integrator's output
    ConversionEnergy energy;
    std::string technology_note;
};
ConvertResult run_convert(const ConvertRequest& request);

/// Codes of many MAC values on the nominal chip (noise-free), split over threads; the
/// result does not depend on the thread count. Values are in the level set's input units.
void convert_many(const BehavioralAdc& adc, std::span<const double> macs, std::span<int> codes, int threads = 0);

/// Codes of a crossbar layer on the nominal chip (noise-free): weights (rows x columns,
/// normalized, clamped to [-1, 1]) on the MAC pairs of `columns` ADC columns, inputs
/// (rows x batch, clamped to [0, 1] and quantized to the technology's input bits) on the
/// rows; returns codes (columns x batch), code(j, b) = adc.convert(prepare(weights.col(j)),
/// inputs.col(b)). Each column is prepared once; the input vectors are split over threads
/// and converted in cache-sized blocks, column by column, with convert_batch (AVX2 lanes on
/// the static path); the result does not depend on the thread count.
Eigen::MatrixXi convert_columns(const BehavioralAdc& adc, const Eigen::Ref<const Eigen::MatrixXd>& weights,
                                const Eigen::Ref<const Eigen::MatrixXd>& inputs, int threads = 0);

struct TransferRequest {
    Evaluation evaluation;
    std::string out;   ///< CSV k,target,mapped,measured,error_lsb,mapping_error_lsb
    std::string plot;  ///< transfer curve PNG ("" = none)
};
struct TransferResult {
    ReplicaDesign design;
    std::vector<double> measured;  ///< T[k]; infinite when unreachable
    double max_error_lsb = 0.0;    ///< max |measured - target| / LSB over the reachable ones
    std::string technology_note;
};
TransferResult run_transfer(const TransferRequest& request);

}  // namespace nladc::steps
