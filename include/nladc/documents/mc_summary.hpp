#pragma once
// Monte Carlo summary files (DIR/summary.json, format "nladc-mc-summary", version 1),
// written by `nladc mc` (montecarlo/) and read by characterize, the flow and the CLI.
// "Before trim" is the chip as programmed, "after trim" after the study's trim policy.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nladc/io/json.hpp"

namespace nladc {

/// Distribution of one quantity over the chips (non-finite values left out).
struct ChipStats {
    double mean = 0, sigma = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;
};

struct TrimStats {
    ChipStats before_trim, after_trim;
};

struct McThresholdSummary {
    int k = 0;                          ///< 1-based
    double target = 0, mean = 0, sigma = 0;  ///< input units
    double mean_error_lsb = 0, sigma_lsb = 0;
    std::uint64_t unreachable = 0;      ///< chips whose T[k] could not be reached
    double mean_trim = 0, sigma_trim = 0, sigma_trim_lsb = 0;
};

struct McSummary {
    std::uint64_t trials = 0, seed = 0;
    std::string study_hash;
    double inl_spec_lsb = 0, dnl_spec = 0;  ///< the yield spec
    std::string trim_policy;
    double yield_before_trim = 0, yield_after_trim = 0, trimmed_fraction = 0;
    std::uint64_t missing_codes_before_trim = 0, missing_codes_after_trim = 0;  ///< chips with any
    TrimStats max_abs_inl_lsb, max_abs_dnl, effective_mse, sqnr_db;
    double ideal_mse = 0, ideal_sqnr_db = 0;  ///< the target level set on the study's data
    std::vector<McThresholdSummary> thresholds;
};

}  // namespace nladc

namespace nladc::io {
OrderedJson mc_summary_to_json(const McSummary& summary);
void write_mc_summary(const std::filesystem::path& file, const McSummary& summary);
/// Reads and validates DIR/summary.json. Throws InputError naming the file and key.
McSummary read_mc_summary(const std::filesystem::path& file);
}  // namespace nladc::io
