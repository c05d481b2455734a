#pragma once
// Steps on activation data: `synth` (the embedded default data), `levels` (design a
// level set), `compare` (every quantizer at several bit widths) and `score` (a level
// set on other data). study/level_design.hpp streams the files.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nladc/data/synthetic.hpp"
#include "nladc/steps/common.hpp"
#include "nladc/study/compare.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc::steps {

/// Which samples a step reads.
struct DataSelection {
    std::string input;  ///< .npy, .npz, .csv/.txt, .f32
    std::string layer;  ///< one npz member; "" = every layer of the file
    io::NonFinitePolicy nonfinite = io::NonFinitePolicy::error;
    SummaryOptions summary;  ///< range, boundary tolerance, histogram bins
    /// Samples in memory instead of a file (the Python API); `input` then only names them.
    std::shared_ptr<const std::vector<double>> samples;

    std::vector<std::string> layers() const;
    /// One layer of the data, pass 1 done.
    ActivationLayer open(const std::string& layer) const;
};

struct SynthRequest {
    SyntheticSpec spec;
    std::string out;  ///< .npy, or raw little-endian float32 for .f32
};
/// Returns the number of samples written.
std::size_t run_synth(const SynthRequest& request);

struct LevelsRequest {
    DataSelection data;
    QuantizerOptions quantizer;
    std::string out;  ///< level-set JSON ("" = not written)
};
struct LayerLevels {
    std::string layer, label;  ///< npz member; the data's label for messages
    DesignedLevels designed;
    std::uint64_t dropped_nonfinite = 0;
};
std::vector<LayerLevels> run_levels(const LevelsRequest& request);

struct CompareRequest {
    DataSelection data;
    std::string eval;  ///< held-out data scored with the levels fit on `data` ("" = none)
    CompareOptions options;
    std::string csv, plot;  ///< outputs ("" = not written)
    std::string plot_title = "Quantization MSE versus ADC bits";
    Progress progress;
};
struct CompareLayer {
    std::string layer, label, eval_label;
    std::uint64_t samples = 0;
    std::vector<CompareRow> rows;
};
std::vector<CompareLayer> run_compare(const CompareRequest& request);

struct ScoreRequest {
    DataSelection data;
    std::string levels_file, levels_layer;
};
struct ScoreLayer {
    std::string label;
    LevelSet set;
    QuantizationMetrics metrics;
};
std::vector<ScoreLayer> run_score(const ScoreRequest& request);

}  // namespace nladc::steps
