#include "nladc/quant/levelset.hpp"

#include <fmt/format.h>

#include <cmath>

namespace nladc {

double LevelSet::parameter(const std::string& name, double fallback) const
{
    for (const auto& [key, value] : parameters)
        if (key == name) return value;
    return fallback;
}

std::vector<double> midpoint_thresholds(const std::vector<double>& levels)
{
    std::vector<double> thresholds;
    for (std::size_t k = 0; k + 1 < levels.size(); ++k)
        thresholds.push_back(0.5 * (levels[k] + levels[k + 1]));
    return thresholds;
}

std::vector<int> degenerate_codes(const std::vector<double>& thresholds)
{
    std::vector<int> codes;
    for (std::size_t k = 1; k < thresholds.size(); ++k)
        if (thresholds[k] == thresholds[k - 1]) codes.push_back(static_cast<int>(k));
    return codes;
}

std::pair<std::string, std::string> find_levelset_violation(const LevelSet& set)
{
    if (set.bits < 1 || set.bits > 16) return {"bits", fmt::format("{} is outside [1, 16]", set.bits)};
    const std::size_t count = std::size_t{1} << set.bits;
    if (set.levels.size() != count)
        return {"levels", fmt::format("has {} values, {} bits need {}", set.levels.size(), set.bits, count)};
    if (set.thresholds.size() != count - 1)
        return {"thresholds",
                fmt::format("has {} values, {} bits need {}", set.thresholds.size(), set.bits, count - 1)};
    if (!std::isfinite(set.lo) || !std::isfinite(set.hi) || !(set.lo < set.hi))
        return {"range", fmt::format("[{}, {}] is not a finite interval with lo < hi", set.lo, set.hi)};
    for (std::size_t k = 0; k < count; ++k)
        if (!std::isfinite(set.levels[k]))
            return {fmt::format("levels[{}]", k), fmt::format("{} is not finite", set.levels[k])};
    for (std::size_t k = 0; k + 1 < count; ++k)
        if (!std::isfinite(set.thresholds[k]))
            return {fmt::format("thresholds[{}]", k), fmt::format("{} is not finite", set.thresholds[k])};

    std::vector<bool> listed_empty(count, false);
    const auto degenerate = degenerate_codes(set.thresholds);
    for (int code : set.empty_codes) {
        if (code < 0 || static_cast<std::size_t>(code) >= count)
            return {"empty_codes", fmt::format("code {} is outside [0, {}]", code, count - 1)};
        if (std::find(degenerate.begin(), degenerate.end(), code) == degenerate.end())
            return {"empty_codes", fmt::format("code {} is listed but its cell [thresholds[{}], thresholds[{}]] "
                                               "has nonzero width",
                                               code, code - 1, code)};
        listed_empty[static_cast<std::size_t>(code)] = true;
    }
    for (int code : degenerate)
        if (!listed_empty[static_cast<std::size_t>(code)])
            return {fmt::format("thresholds[{}]", code),
                    fmt::format("{} equals thresholds[{}], but code {} is not listed in empty_codes",
                                set.thresholds[static_cast<std::size_t>(code)], code - 1, code)};

    for (std::size_t k = 0; k + 1 < count; ++k) {
        const double below = set.levels[k], above = set.levels[k + 1], threshold = set.thresholds[k];
        const bool tie_allowed = listed_empty[k] || listed_empty[k + 1];
        if (above < below || (above == below && !tie_allowed))
            return {fmt::format("levels[{}]", k + 1),
                    fmt::format("{} is not above levels[{}] = {}", above, k, below)};
        if (threshold < below || threshold > above)
            return {fmt::format("thresholds[{}]", k),
                    fmt::format("{} is not between levels[{}] = {} and levels[{}] = {}", threshold, k, below,
                                k + 1, above)};
    }
    return {};
}

}  // namespace nladc
