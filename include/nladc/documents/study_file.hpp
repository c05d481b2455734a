#pragma once
// Monte Carlo study files (format "nladc-study", version 1). Every key is optional;
// `nladc mc --example-study` prints a complete file with every default. Paths are
// relative to the study file; empty means the embedded default (study/defaults.hpp).

#include <cstdint>
#include <filesystem>
#include <string>

#include "nladc/core/params.hpp"
#include "nladc/device/corner.hpp"
#include "nladc/io/json.hpp"

namespace nladc {

/// Variation sources; each draw is keyed by (seed, trial). 0 switches a source off.
struct VariationParams {
    double program_sigma_S = 2.73e-6;     ///< programming error of each replica cell (ReADC)
    double program_sigma_rel = 0.0;       ///< relative programming error
    double verify_tolerance_S = 5e-6;     ///< program-and-verify band (ReADC); 0 = no verify (one write)
    double read_noise_sigma_S = 0.14e-6;  ///< read noise seen by program-and-verify (ReADC)
    double stuck_off_probability = 1e-3;
    double stuck_on_probability = 5e-4;
    double comparator_offset_sigma_V = 2e-3;
    double v_read_sigma_rel = 0.02;       ///< chip-to-chip read-voltage spread
    double drift_factor_sigma = 0.0;      ///< spread of the common drift factor around the technology's
    double drift_sigma_rel = 0.0;         ///< per-cell drift spread
    double wire_resistance_sigma_rel = 0.1;
};

struct TrimParams {
    std::string policy = "spares";  ///< none | spares (spare cells fill deficits, step cells retargeted)
    double inl_spec_lsb = 0.5;      ///< yield: max |INL| <= spec ...
    double dnl_spec = 0.5;          ///< ... and max |DNL| <= spec (relative to the target code width)
    int rounds = 2;                 ///< measure-and-trim rounds
};

struct SpiceMcParams {
    int trials = 0;               ///< the first N trials also run in SPICE (0 = none)
    Corner corner = Corner::tt;
    int workers = 2;
    std::string circuit = "transistor";  ///< transistor | macro (spice/netlist.hpp)
};

struct StudySpec {
    std::string design;       ///< design JSON; "" = the embedded default design
    std::string technology;   ///< technology JSON; "" = the design's
    std::string calibration;  ///< calibrated.json; "" = none
    std::string activations;  ///< activation file for the effective MSE; "" = the embedded synthetic set
    int trials = 10000;
    std::uint64_t seed = 1;
    int block_size = 500;     ///< trials per result block (the unit of resuming and sharding)
    VariationParams variation;
    TrimParams trim;
    SpiceMcParams spice;
};

const ParamTable<StudySpec>& study_table();
const ParamTable<VariationParams>& variation_table();
const ParamTable<TrimParams>& trim_table();
const ParamTable<SpiceMcParams>& spice_mc_table();

namespace io {
/// Reads and validates a study (relative paths resolved against the file's directory).
/// Throws InputError naming the key and value.
StudySpec read_study(const std::filesystem::path& file);
StudySpec study_from_json(const Json& object, const JsonPlace& place);
OrderedJson study_to_json(const StudySpec& spec);
}  // namespace io

}  // namespace nladc
