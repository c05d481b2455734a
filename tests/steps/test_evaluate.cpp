// Steps on the behavioral model: the batched crossbar layer against conversions one by one.
#include <catch2/catch.hpp>

#include "nladc/core/random.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/steps/evaluate.hpp"
#include "nladc/study/level_design.hpp"

using namespace nladc;

namespace {

/// A BS-KMQ level set of the default synthetic activations (ReLU + clamp on [0, 6]).
LevelSet designed_levels(int bits)
{
    SyntheticSpec spec;
    spec.samples = 20000;
    const std::vector<float> samples = generate_synthetic(spec);
    QuantizerOptions options;
    options.bits = bits;
    options.method = "bs-kmq";
    return fit_in_memory(samples, options, {});
}

}  // namespace

TEST_CASE("convert_columns: each code is the one-by-one conversion, on any thread count", "[steps]")
{
    for (const double wire_ohm : {0.0, 1.0}) {  // the AVX2 static path, and the wired path one by one
        INFO("wire resistance " << wire_ohm << " ohm");
        Technology tech;
        tech.array.wire_resistance_ohm = wire_ohm;
        const ReplicaDesign design = map_levels(designed_levels(4), tech, {});
        const BehavioralAdc adc(design, design.tech, nominal_chip(design, design.tech));
        RandomStream random(11, 0);
        const Eigen::Index rows = 40, columns = 5, batch = wire_ohm > 0 ? 6 : 2101;  // > 1024: two threads share the inputs
        Eigen::MatrixXd weights(rows, columns), inputs(rows, batch);
        for (Eigen::Index i = 0; i < weights.size(); ++i) weights.data()[i] = 1.4 * random.uniform() - 0.5;
        for (Eigen::Index i = 0; i < inputs.size(); ++i) inputs.data()[i] = random.uniform();
        const Eigen::MatrixXi codes = steps::convert_columns(adc, weights, inputs, 1);
        REQUIRE(codes.rows() == columns);
        REQUIRE(codes.cols() == batch);
        int mismatches = 0, against_mac_inputs = 0;
        for (Eigen::Index j = 0; j < columns; ++j) {
            const PreparedColumn column = adc.prepare(weights.col(j));
            for (Eigen::Index b = 0; b < batch; ++b) {
                mismatches += codes(j, b) != adc.convert(column, Eigen::VectorXd(inputs.col(b)));
                // The unprepared path (MacInputs: the cells' Norton sum, another summation)
                // differs at most where a MAC value lies within rounding of a threshold.
                against_mac_inputs += codes(j, b) != adc.convert(MacInputs{inputs.col(b), weights.col(j)});
            }
        }
        CHECK(mismatches == 0);
        CHECK(against_mac_inputs <= 1);
        CHECK(codes.maxCoeff() > codes.minCoeff() + 2);  // the cases span several codes
        for (const int threads : {2, 3, 0}) CHECK(steps::convert_columns(adc, weights, inputs, threads) == codes);
    }
    Technology tech;
    const ReplicaDesign design = map_levels(designed_levels(3), tech, {});
    const BehavioralAdc adc(design, design.tech, nominal_chip(design, design.tech));
    CHECK_THROWS_WITH(steps::convert_columns(adc, Eigen::MatrixXd::Zero(8, 2), Eigen::MatrixXd::Zero(9, 4)),
                      "convert: weights of 8 rows for inputs of 9 rows");
    Eigen::MatrixXd weights = Eigen::MatrixXd::Zero(8, 2);
    weights(3, 1) = std::nan("");
    CHECK_THROWS_WITH(steps::convert_columns(adc, weights, Eigen::MatrixXd::Zero(8, 4)), "weight 3 is nan");
}
