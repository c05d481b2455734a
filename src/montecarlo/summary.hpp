#pragma once
// Private to src/montecarlo: reading trials.csv back and summarizing a study.

#include <filesystem>
#include <vector>

#include "nladc/documents/mc_summary.hpp"
#include "nladc/montecarlo/engine.hpp"

namespace nladc {

namespace detail {
/// Parses trials.csv (written by trial_csv_line). Throws InputError naming line and field.
std::vector<TrialResult> parse_trials(const std::filesystem::path& file);
}  // namespace detail

/// DIR/summary.json and the plots (DIR/threshold_histograms.png, DIR/yield.png) from DIR/trials.csv.
void write_summary(const std::filesystem::path& dir, const StudySpec& spec);

}  // namespace nladc
