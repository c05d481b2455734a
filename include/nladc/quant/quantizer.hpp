#pragma once
// The level-design methods of BRIEF §3 behind one interface.
//
//   method      variants (first = default)
//   linear      midtread (both ends are levels) | floor (code = floor((x-lo)/D), D = (hi-lo)/L,
//               level = lower edge, as IMC code bases use it)
//   lloyd-max   converged (relative SSE change < 1e-9) | capped (literature: a fixed iteration cap)
//   cdf         equal-probability (thresholds at quantiles i/L, levels = cell means)
//   kmeans      exact (DP over the summary's atoms) | lloyd++ (k-means++ seeding + Lloyd,
//               scikit-learn's stopping rule: the literature baseline)
//   bs-kmq      drop-pin | weight | cap  (boundary suppression, then exact k-means)
//
// Every method fits a SampleSummary whose lo()/hi() is the level set's range.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nladc/quant/levelset.hpp"
#include "nladc/quant/summary.hpp"

namespace nladc {

/// Knobs of all methods; each method reads the ones it needs (defaults in brackets).
struct QuantizerOptions {
    int bits = 4;                      ///< 1..16
    std::string method = "bs-kmq";
    std::string variant;               ///< empty = the method's default variant
    int lloyd_max_cap_iterations = 100;     ///< lloyd-max/capped: iterations run [100]
    double lloyd_max_tolerance = 1e-9;      ///< lloyd-max/converged: relative SSE change [1e-9]
    int lloyd_max_max_iterations = 1000000; ///< lloyd-max/converged: safety limit [1e6]
    int kmeans_literature_max_iterations = 300;   ///< kmeans/lloyd++ [300, scikit-learn]
    double kmeans_literature_tolerance = 1e-4;    ///< kmeans/lloyd++ center-shift tol [1e-4]
    std::uint64_t seed = 1;                 ///< kmeans/lloyd++ seeding
    double bskmq_alpha = 0.25;              ///< bs-kmq/weight: boundary weight factor in [0, 1]
    /// bs-kmq/drop-pin: a boundary is pinned when its point mass holds at least this
    /// fraction of the samples [1e-3]; a lone sample equal to the data maximum is no pile-up.
    double bskmq_pin_min_fraction = 1e-3;
    /// bs-kmq/cap: a boundary mass is capped at the interior mass within this many
    /// LSBs ((hi - lo) / 2^bits) next to it: the adjacent interior density integrated
    /// over one linear code cell, so the pile-up counts like its neighbourhood [1].
    double bskmq_cap_window_lsb = 1.0;
};

class Quantizer {
public:
    virtual ~Quantizer() = default;
    virtual std::string_view method() const = 0;
    /// Supported variants; the first is the default.
    virtual std::vector<std::string_view> variants() const = 0;
    /// Fits a level set to the summary. `options.variant` is already resolved.
    virtual LevelSet fit(const SampleSummary& summary, const QuantizerOptions& options) const = 0;
};

/// All methods, in table order: linear, lloyd-max, cdf, kmeans, bs-kmq.
const std::vector<std::unique_ptr<Quantizer>>& quantizers();

/// The method names in table order (for validators, choices and help texts).
std::vector<std::string_view> quantizer_names();
/// "linear: midtread|floor; lloyd-max: converged|capped; ..." for help texts.
std::string quantizer_variants_help();

/// The method named `method`; throws UsageError listing the valid names.
const Quantizer& find_quantizer(std::string_view method);

/// Resolves method and variant (UsageError when unknown), fits, fills method,
/// variant, bits, range and empty codes, and checks the result's invariants.
LevelSet fit_levels(const SampleSummary& summary, const QuantizerOptions& options);

/// The method's and variant's label used in tables, e.g. "bs-kmq/drop-pin".
std::string method_label(const LevelSet& set);

}  // namespace nladc
