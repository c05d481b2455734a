#include "nladc/quant/quantizer.hpp"

#include <fmt/format.h>

#include "methods.hpp"
#include "nladc/core/error.hpp"

namespace nladc {

const std::vector<std::unique_ptr<Quantizer>>& quantizers()
{
    static const auto all = [] {
        std::vector<std::unique_ptr<Quantizer>> list;
        list.push_back(detail::make_linear());
        list.push_back(detail::make_lloyd_max());
        list.push_back(detail::make_cdf());
        list.push_back(detail::make_kmeans());
        list.push_back(detail::make_bs_kmq());
        return list;
    }();
    return all;
}

std::vector<std::string_view> quantizer_names()
{
    std::vector<std::string_view> names;
    for (const auto& quantizer : quantizers()) names.push_back(quantizer->method());
    return names;
}

std::string quantizer_variants_help()
{
    std::string help;
    for (const auto& quantizer : quantizers()) {
        std::string variants;
        for (std::string_view v : quantizer->variants()) {
            if (!variants.empty()) variants += '|';
            variants += v;
        }
        help += fmt::format("{}{}: {}", help.empty() ? "" : "; ", quantizer->method(), variants);
    }
    return help;
}

const Quantizer& find_quantizer(std::string_view method)
{
    std::string names;
    for (const auto& quantizer : quantizers()) {
        if (quantizer->method() == method) return *quantizer;
        names += (names.empty() ? "" : ", ") + std::string(quantizer->method());
    }
    throw UsageError(fmt::format("unknown method '{}' (expected one of: {})", method, names));
}

LevelSet fit_levels(const SampleSummary& summary, const QuantizerOptions& options)
{
    if (options.bits < 1 || options.bits > 16)
        throw UsageError(fmt::format("bits = {} is outside [1, 16]", options.bits));
    if (!(summary.lo() < summary.hi()))
        throw Error(fmt::format("the range [{}, {}] is empty: lo must be below hi", summary.lo(), summary.hi()));
    const Quantizer& quantizer = find_quantizer(options.method);
    QuantizerOptions resolved = options;
    const auto variants = quantizer.variants();
    if (resolved.variant.empty()) resolved.variant = std::string(variants.front());
    if (std::find(variants.begin(), variants.end(), resolved.variant) == variants.end()) {
        std::string names;
        for (auto v : variants) names += (names.empty() ? "" : ", ") + std::string(v);
        throw UsageError(fmt::format("method '{}' has no variant '{}' (expected one of: {})", resolved.method,
                                     resolved.variant, names));
    }

    LevelSet set = quantizer.fit(summary, resolved);
    set.bits = options.bits;
    set.lo = summary.lo();
    set.hi = summary.hi();
    set.method = resolved.method;
    set.variant = resolved.variant;
    set.parameters.emplace_back("summary_atoms", static_cast<double>(summary.size()));
    set.parameters.emplace_back("summary_exact", summary.exact() ? 1.0 : 0.0);
    set.empty_codes = degenerate_codes(set.thresholds);
    if (const auto [place, reason] = find_levelset_violation(set); !place.empty())
        throw Error(fmt::format("{} produced an invalid level set: {} {}", method_label(set), place, reason));
    return set;
}

std::string method_label(const LevelSet& set) { return set.method + "/" + set.variant; }

}  // namespace nladc
