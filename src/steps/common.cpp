// What several steps share (steps/common.hpp).
#include "nladc/steps/common.hpp"

#include <fmt/format.h>

#include "nladc/documents/calibration_file.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/mapping/mapping.hpp"

namespace nladc::steps {

ResolvedTechnology resolve_technology(const io::DesignRecord& design, const std::string& design_file,
                                      const std::string& tech_file)
{
    if (tech_file.empty()) return {design.design.tech, ""};
    ResolvedTechnology resolved{io::read_technology(tech_file), ""};
    const std::string sizing = adapt_technology(design.design, resolved.tech);
    resolved.note = fmt::format("using the technology of {} instead of the one embedded in {}{}", tech_file, design_file,
                                sizing.empty() ? "" : "; " + sizing);
    return resolved;
}

Technology load_technology(const std::string& tech_file)
{
    return tech_file.empty() ? Technology{} : io::read_technology(tech_file);
}

namespace {
/// A design record with the technology in effect for it; `label` names the design in notes.
LoadedDesign with_technology(io::DesignRecord record, const std::string& label, const std::string& tech_file)
{
    LoadedDesign loaded;
    loaded.record = std::move(record);
    ResolvedTechnology resolved = resolve_technology(loaded.record, label, tech_file);
    loaded.tech = std::move(resolved.tech);
    loaded.technology_note = std::move(resolved.note);
    return loaded;
}
}  // namespace

LoadedDesign load_design(const std::string& design_file, const std::string& tech_file)
{
    return with_technology(io::read_design(design_file), design_file, tech_file);
}

LoadedDesign load_design(const Evaluation& evaluation)
{
    if (!evaluation.design) return load_design(evaluation.design_file, evaluation.tech_file);
    return with_technology(*evaluation.design, "design", evaluation.tech_file);
}

NominalAdc open_adc(const Evaluation& evaluation)
{
    NominalAdc opened{load_design(evaluation), nullptr};
    const ReplicaDesign& design = opened.loaded.record.design;
    opened.adc = std::make_unique<BehavioralAdc>(design, opened.loaded.tech, nominal_chip(design, opened.loaded.tech),
                                                 adc_options(evaluation));
    return opened;
}

AdcOptions adc_options(const Evaluation& evaluation)
{
    AdcOptions options;
    options.mode = evaluation.mode;
    options.ideal = evaluation.ideal;
    if (!evaluation.calibration_file.empty()) options.calibration = io::read_calibration(evaluation.calibration_file);
    return options;
}

}  // namespace nladc::steps
