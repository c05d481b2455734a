#pragma once
// ADC characterization (`nladc characterize`): transition levels by bisection and by a
// code-density test on the noise-free behavioral model, side by side, and the same ramp
// with comparator noise for missing and narrow codes; static linearity
// (characterize/linearity.hpp: IEEE 1241 for a linear level set, the nonlinear
// generalization otherwise); missing codes; offset and gain; energy and latency; and,
// from a Monte Carlo study directory, per-threshold mean and sigma, yield against the
// INL/DNL spec and the effective quantization error.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nladc/adc/behavioral.hpp"
#include "nladc/characterize/linearity.hpp"
#include "nladc/spice/energy.hpp"

namespace nladc {

struct CharacterizeOptions {
    AdcOptions adc;
    std::size_t ramp_points = 1000000;  ///< code-density test: evenly spaced inputs
    std::string study_dir;              ///< an `nladc mc` output directory, or empty
    /// The noisy code-density ramp draws the comparator's input noise (technology
    /// comparator.noise_sigma_V) per decision from this seed.
    std::uint64_t noise_seed = 1;
    /// 1 .. L-1: characterize a chip whose first cell of that replica step is stuck off
    /// (g_off) instead of the nominal chip; 0: the nominal chip.
    int stuck_off_step = 0;
    /// Also measure the energy of one conversion at the range middle in ngspice
    /// (spice/energy.hpp: transistor-level testbench, one supply per block).
    bool spice_energy = false;
    int spice_workers = 1;
};

struct Characterization {
    ReplicaDesign design;
    Technology tech;
    std::string design_hash;
    AdcOptions adc;
    std::vector<double> bisection, code_density;  ///< T[k], input units
    double max_density_vs_bisection_lsb = 0.0;
    Linearity linearity;                          ///< nonlinear generalization (always)
    std::optional<IeeeLinearity> ieee;            ///< for a linear level set
    double offset = 0.0, gain = 1.0;              ///< least-squares T_meas ~ offset + gain T_target
    std::vector<int> histogram;                   ///< code-density counts per code
    // The same ramp with comparator noise: a code with no hit is missing, one narrower
    // than kNarrowCodeLsb (and meant to be wider) is narrow (inner codes 1 .. L-2).
    std::vector<int> histogram_noisy;
    std::vector<double> code_density_noisy;       ///< T[k] from the noisy histogram
    std::vector<double> code_width_lsb;           ///< inner codes, noisy histogram width / LSB
    std::vector<int> missing_codes, narrow_codes;
    double noise_sigma_V = 0.0;
    std::uint64_t noise_seed = 1;
    int stuck_off_step = 0;
    std::optional<spice::SpiceEnergy> spice_energy;  ///< with CharacterizeOptions::spice_energy
    double ramp_start = 0.0, ramp_step = 0.0;
    ConversionEnergy energy_mid;                  ///< a conversion at the range middle
    double mean_energy_J = 0.0, mean_latency_s = 0.0;  ///< averaged over the code-density ramp inside [lo, hi]
    // From a study (empty without one):
    std::vector<double> study_mean, study_sigma;
    double yield_before_trim = -1.0, yield_after_trim = -1.0;
    std::size_t study_trials = 0;
    std::uint64_t study_seed = 0;
    double inl_spec_lsb = 0.0, dnl_spec = 0.0;    ///< the study's yield spec
    double study_mse_mean = 0.0, study_mse_p95 = 0.0, study_mse_trimmed_mean = 0.0;  ///< effective MSE over chips
    double study_sqnr_mean_db = 0.0, study_sqnr_p5_db = 0.0;  ///< SQNR over chips (p5: the worst 5 %)
    double ideal_mse = 0.0, ideal_sqnr_db = 0.0;  ///< the target level set on the study's activation data
};

/// Characterizes the design on its nominal chip. Throws Error for an unusable study dir.
Characterization characterize(const ReplicaDesign& design, const Technology& tech, const std::string& design_hash,
                              const CharacterizeOptions& options);

/// Writes DIR/characterization.json, DIR/transition.csv, DIR/transfer.png, DIR/inl_dnl.png
/// (and, with a study, DIR/study_histograms.png and DIR/study_yield.png copied from it).
void write_characterization(const Characterization& c, const std::filesystem::path& dir);

}  // namespace nladc
