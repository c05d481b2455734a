#pragma once
// Monte Carlo study files (format "nladc-study", version 2). Every key is optional;
// `nladc mc --example-study` prints a complete file with every default. Paths are
// relative to the study file; empty means the embedded default (study/defaults.hpp).
//
// How cells and comparators vary comes from the technology (device.program_sigma_S, ...,
// comparator.offset_sigma_V: technology_variation_keys()), as in `nladc dnn`; the study
// holds the chip-level spreads and, in "technology_overrides", any of those keys changed
// for this study only. Version 1 files held the device's spreads in "variation"; they are
// read as overrides, every one of them (given or defaulted), so they keep their meaning.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "nladc/core/params.hpp"
#include "nladc/device/corner.hpp"
#include "nladc/io/json.hpp"

namespace nladc {

/// Chip-level spreads: one draw per chip around the technology's nominal value, keyed by
/// (seed, trial). 0 switches a source off.
struct VariationParams {
    double v_read_sigma_rel = 0.02;       ///< chip-to-chip read-voltage spread
    double drift_factor_sigma = 0.0;      ///< spread of the common drift factor around the technology's
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
    /// Technology variation keys (technology_variation_keys()) and SI values that replace
    /// the technology's for this study; a later entry wins (files list one per key, in
    /// technology_variation_keys() order).
    std::vector<std::pair<std::string, double>> technology_overrides;
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
/// `version` applies when the object has no "version" key (a flow config's embedded study
/// follows the flow config's version).
StudySpec study_from_json(const Json& object, const JsonPlace& place, int version = 2);
OrderedJson study_to_json(const StudySpec& spec);
}  // namespace io

}  // namespace nladc
