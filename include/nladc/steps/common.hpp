#pragma once
// The step layer (docs/architecture.md): every user-visible step of nladc as one library
// function taking a request struct and returning a result struct. Steps read and write
// files and report progress through a callback; they never print and never exit. The
// CLI, the flow and the Python bindings are front ends over these functions.
//
// This header: what several steps share — the progress callback, the technology in
// effect for a design, and the evaluation settings of a behavioral run.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "nladc/adc/behavioral.hpp"
#include "nladc/documents/design_file.hpp"

namespace nladc::steps {

/// One progress message (a stage, a count); front ends show it on stderr.
using Progress = std::function<void(const std::string&)>;

struct ResolvedTechnology {
    Technology tech;
    std::string note;  ///< "" = the design's own; else what was overridden and how it was sized
};

/// The technology in effect for a mapped design: its embedded one when `tech_file` is
/// empty, else `tech_file`'s with the sense circuit sized for the design's range
/// (mapping/adapt_technology). The one place every step overrides a technology.
ResolvedTechnology resolve_technology(const io::DesignRecord& design, const std::string& design_file,
                                      const std::string& tech_file);

/// A technology file, or the built-in defaults for "".
Technology load_technology(const std::string& tech_file);

struct LoadedDesign {
    io::DesignRecord record;
    Technology tech;           ///< resolve_technology's
    std::string technology_note;
};

LoadedDesign load_design(const std::string& design_file, const std::string& tech_file = "");

/// How a design is evaluated on the behavioral model (convert, transfer, characterize).
struct Evaluation {
    std::string design_file;
    std::optional<io::DesignRecord> design;  ///< in memory instead of design_file (the Python API)
    std::string tech_file;         ///< "" = the design's technology
    std::string calibration_file;  ///< "" = uncalibrated
    AdcMode mode = AdcMode::static_solve;
    Idealization ideal;
};

/// The behavioral model's options for an evaluation (reads the calibration file).
AdcOptions adc_options(const Evaluation& evaluation);

/// The design an evaluation names (its file, or the one in memory) with its technology.
LoadedDesign load_design(const Evaluation& evaluation);

/// A design on its nominal chip, ready to convert: what convert, transfer and the Python
/// `Adc` share.
struct NominalAdc {
    LoadedDesign loaded;
    std::unique_ptr<BehavioralAdc> adc;
};
NominalAdc open_adc(const Evaluation& evaluation);

}  // namespace nladc::steps
