#pragma once
// Private to src/flow: each stage's part of the report (its section.md), written from
// the step results. `root` is the report's directory (links are relative to it).

#include <filesystem>
#include <string>
#include <vector>

#include "nladc/flow/flow.hpp"
#include "nladc/steps/export.hpp"
#include "nladc/steps/levels.hpp"
#include "nladc/steps/map.hpp"
#include "nladc/steps/mc.hpp"
#include "nladc/steps/spice_steps.hpp"
#include "nladc/steps/study_steps.hpp"

namespace nladc::flow_detail {

namespace fs = std::filesystem;

/// A path relative to the report's directory, for Markdown links.
std::string link(const fs::path& root, const fs::path& file);

/// The comparison of one layer (`name` empty for a single layer).
struct ComparedLayer {
    std::string title;
    steps::CompareLayer layer;
};
std::string compare_section(const std::vector<ComparedLayer>& layers, const fs::path& root, const fs::path& dir);
std::string levels_section(const std::string& title, const DesignedLevels& designed, const fs::path& root,
                           const fs::path& dir);
std::string mapping_section(const std::string& title, const steps::MapResult& mapped, const fs::path& root,
                            const fs::path& dir);
std::string netlist_section(const FlowConfig& config, double mac, const fs::path& root, const fs::path& dir);
std::string calibration_section(const FlowConfig& config, const CalibrationReport& report, const fs::path& root,
                                const fs::path& dir);
std::string monte_carlo_section(const StudySpec& spec, const steps::McResult& result, const fs::path& root,
                                const fs::path& dir);
std::string characterization_section(const Characterization& c, const ArrayLoad& load, bool calibrated,
                                     std::size_t ramp_points, const fs::path& root, const fs::path& dir);
std::string export_section(const AdcModel& model, const std::vector<steps::ExportedFile>& files, const fs::path& root,
                           const fs::path& dir);
std::string area_section(const AreaReport& report, const fs::path& root, const fs::path& dir);

}  // namespace nladc::flow_detail
