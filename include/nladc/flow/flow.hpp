#pragma once
// `nladc flow`: activations -> quantizer comparison -> level set -> mapping -> netlist
// -> ngspice calibration -> Monte Carlo (behavioral and SPICE) -> characterization ->
// exports -> area/energy -> DIR/report.md (docs/flow.md).
//
// Every stage writes into its own directory under DIR (one per layer for the stages after
// the comparison) with a stage.json holding the stage key: the SHA-256 of the stage's
// configuration, its input files' contents and the keys of the stages it reads from. A
// rerun skips every stage whose key and outputs are unchanged, so editing one knob redoes
// that stage and those downstream of it only. Each stage also writes section.md, its
// part of the report; report.md is their concatenation.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "nladc/documents/flow_config.hpp"

namespace nladc {

struct FlowOptions {
    std::function<void(const std::string&)> progress;  ///< stage messages
    bool force = false;                                ///< redo every stage
};

struct FlowStageRun {
    std::string name, directory;
    bool reused = false;
    double seconds = 0.0;
};

struct FlowResult {
    std::vector<FlowStageRun> stages;
    std::filesystem::path report;
    double seconds = 0.0;
};

/// Runs (or resumes) the flow into `dir`. Throws on the first failing stage; finished
/// stages stay reusable.
FlowResult run_flow(const FlowConfig& config, const std::filesystem::path& dir, const FlowOptions& options = {});

}  // namespace nladc
