#pragma once
// Steps that study a design or a technology as a whole: `characterize` (transition
// levels, linearity, energy; Monte Carlo statistics from an `mc` directory), `area`
// (area, energy and latency against other ADCs), `dnn` (network accuracy) and `tech`
// (the technology's defaults, reference and check).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nladc/area/area.hpp"
#include "nladc/characterize/characterize.hpp"
#include "nladc/dnn/study.hpp"
#include "nladc/steps/common.hpp"

namespace nladc::steps {

struct CharacterizeRequest {
    Evaluation evaluation;
    /// ramp_points, study_dir, noise_seed, stuck_off_step, spice_energy, spice_workers
    /// (options.adc comes from `evaluation`).
    CharacterizeOptions options;
    std::filesystem::path out;  ///< directory
};
struct CharacterizeResult {
    Characterization characterization;
    ArrayLoad array_load;  ///< the active array the ADC sits in
    std::string technology_note;
};
CharacterizeResult run_characterize(const CharacterizeRequest& request);

struct AreaRequest {
    std::string tech_file;     ///< "" = the built-in technology
    std::vector<int> bits = {3, 4, 5, 6};  ///< sorted and deduplicated by the step
    std::string circuits_dir;  ///< "" = found automatically
    std::string out;           ///< directory for area.csv, area.json, area.png ("" = none)
};
struct AreaResult {
    AreaReport report;
    Technology tech;
    std::filesystem::path circuits;
};
AreaResult run_area(const AreaRequest& request);

struct DnnRequest {
    dnn::DnnConfig config;  ///< read_dnn_config's, or the defaults
    std::filesystem::path out;
    Progress progress;
};
dnn::DnnResult run_dnn_study(const DnnRequest& request);

struct TechRequest {
    bool defaults = false;  ///< the default technology as JSON
    bool describe = false;  ///< every key with unit, default, range and provenance (Markdown)
    std::string check;      ///< a technology file to validate ("" = none)
};
struct TechResult {
    std::string defaults_json, description;
    std::optional<Technology> checked;
};
/// Throws InputError naming the key for an invalid `check` file.
TechResult run_tech(const TechRequest& request);

}  // namespace nladc::steps
