// Resolving a study's inputs: design, technology, calibration, activations, identity.
#include <fmt/format.h>

#include <algorithm>

#include "nladc/core/error.hpp"
#include "nladc/core/sha256.hpp"
#include "nladc/documents/calibration_file.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/montecarlo/engine.hpp"
#include "nladc/study/defaults.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc {

std::shared_ptr<const StudyInputs> load_study_inputs(const StudySpec& spec, const io::DesignRecord* design)
{
    auto inputs = std::make_shared<StudyInputs>();
    inputs->spec = spec;
    if (design) {
        inputs->design = design->design;
        inputs->design_hash = io::design_to_json(*design)["design_hash"].get<std::string>();
    } else if (spec.design.empty()) {
        inputs->design = default_design();
        io::DesignRecord record{inputs->design, {}, {}, {}};
        inputs->design_hash = io::design_to_json(record)["design_hash"].get<std::string>();
    } else {
        const io::DesignRecord record = io::read_design(spec.design);
        inputs->design = record.design;
        inputs->design_hash = record.hash;
    }
    inputs->tech = inputs->design.tech;
    if (!spec.technology.empty()) {
        inputs->tech = io::read_technology(spec.technology);
        adapt_technology(inputs->design, inputs->tech);
    }
    // The nominal chip's technology (recorded in study.json for characterize's check), then
    // the study's overrides of how chips vary.
    const Technology nominal = inputs->tech;
    for (const auto& [key, value] : spec.technology_overrides) set_technology_number(inputs->tech, key, value);
    if (!spec.calibration.empty()) inputs->options.calibration = io::read_calibration(spec.calibration);
    if (spec.activations.empty()) {
        const std::vector<float> samples = default_activations();
        inputs->activations = std::make_shared<SortedSamples>(std::vector<double>(samples.begin(), samples.end()));
        inputs->activations_sha256 = "embedded synthetic default (nladc synth defaults)";
    } else {
        ActivationLayer layer(spec.activations, "", io::NonFinitePolicy::error);
        inputs->activations = std::make_shared<SortedSamples>(layer.load());
        inputs->activations_sha256 = sha256_file(spec.activations);
    }
    // Everything that changes a trial's numbers (paths do not: their contents do).
    io::OrderedJson identity = io::study_to_json(spec);
    for (const char* key : {"design", "technology", "calibration", "activations"}) identity.erase(key);
    identity["design_hash"] = inputs->design_hash;
    identity["technology"] = io::technology_to_json(nominal);
    identity["activations"] = inputs->activations_sha256;
    identity["calibration"] = io::calibration_params_to_json(inputs->options.calibration);
    inputs->study_hash = sha256_hex(identity.dump());
    return inputs;
}

}  // namespace nladc
