#pragma once
// Private to src/dnn: the study's output files.

#include <filesystem>

#include "nladc/dnn/study.hpp"

namespace nladc::dnn::detail {

/// DIR/accuracy.csv, accuracy.json, accuracy.png and summary.md.
void write_outputs(const DnnConfig& config, const DnnResult& result, const std::filesystem::path& out);

}  // namespace nladc::dnn::detail
