#pragma once
// Characterization files (DIR/characterization.json, format "nladc-characterization",
// version 1), written by `nladc characterize` (characterize/characterize.hpp, which
// documents every key) and read here, typed, by the model export and other tools: the
// level set, each threshold (target, bisection, code density, INL, Monte Carlo mean and
// sigma when a study was aggregated), DNL and missing codes, the study's size and the
// energy per conversion.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nladc/quant/levelset.hpp"

namespace nladc {

struct CharacterizedThreshold {
    double target = 0, bisection = 0, code_density = 0;  ///< input units; bisection may be +-inf (unreachable)
    double inl_lsb = 0;
    std::optional<double> mc_mean, mc_sigma;  ///< with an aggregated Monte Carlo study
};

struct CharacterizationRecord {
    std::string design_hash;
    LevelSet levels;
    std::string conditions_json;  ///< the "conditions" object, compact JSON
    std::vector<CharacterizedThreshold> thresholds;
    std::vector<double> dnl;      ///< per inner code, relative to the target width
    std::vector<int> missing_codes;
    std::uint64_t mc_trials = 0, mc_seed = 0;  ///< 0 trials: no study
    std::optional<double> mean_energy_J, mean_latency_s;
};

namespace io {
/// Reads DIR/characterization.json. Throws InputError naming the file and key.
CharacterizationRecord read_characterization_file(const std::filesystem::path& dir);
}  // namespace io

}  // namespace nladc
