#pragma once
// Exported ADC models (format "nladc-adc-model", version 1; docs/montecarlo.md): the
// characterized thresholds with their chip-to-chip sigma, INL/DNL and conditions, as
// `nladc export --format json` writes them and other tools read them back.
// export/export.hpp builds the model from a characterization and writes the other formats.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nladc/io/json.hpp"
#include "nladc/quant/levelset.hpp"

namespace nladc {

struct AdcModel {
    LevelSet target;                  ///< the designed level set (levels are the outputs)
    std::vector<double> measured;     ///< nominal chip, by bisection (input units)
    std::vector<double> mean, sigma;  ///< the model's thresholds and their chip-to-chip sigma
    std::vector<double> inl_lsb;      ///< per threshold, (mean - target) / LSB
    std::vector<double> dnl;          ///< per inner code, relative to the target code width
    std::vector<int> missing_codes;
    std::string design_hash, nladc_version, source;  ///< source: "monte carlo" or "nominal"
    std::uint64_t seed = 0, trials = 0;              ///< of the study, when there was one
    std::string conditions_json;      ///< the characterization's conditions object, compact JSON
    double energy_J = 0.0, latency_s = 0.0;

    /// Output code: the number of model thresholds below x (the comparator convention).
    int code(double x) const;
    double output(double x) const { return target.levels[static_cast<std::size_t>(code(x))]; }
};

/// The JSON document.
std::string model_json(const AdcModel& model);
/// Reads an exported JSON model back, validating it. Throws InputError naming the key.
AdcModel read_adc_model(const std::filesystem::path& file);
/// The same from a parsed document; errors name `label` (a file name) and the key.
AdcModel adc_model_from_json(const io::Json& document, const std::string& label);

namespace io {
/// Every per-threshold vector has one entry per threshold and no sigma is negative;
/// otherwise InputError at `place` (thresholds[k]).
void check_adc_model(const AdcModel& model, const JsonPlace& place);
}  // namespace io

}  // namespace nladc
