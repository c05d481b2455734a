#include "nladc/characterize/linearity.hpp"

#include <cmath>

#include "nladc/core/error.hpp"

namespace nladc {

Linearity nonlinear_linearity(const LevelSet& target, const std::vector<double>& measured)
{
    const auto& t = target.thresholds;
    if (measured.size() != t.size())
        throw Error("nonlinear_linearity: measured and target threshold counts differ");
    const double lsb = target.lsb(), span = target.hi - target.lo;
    Linearity r;
    for (std::size_t k = 0; k < t.size(); ++k) {
        double d = measured[k] - t[k];
        if (!std::isfinite(d)) d = d > 0 ? span : -span;  // unreachable: a full-range error
        r.inl_lsb.push_back(d / lsb);
        const double local = k + 1 < t.size() ? t[k + 1] - t[k] : target.hi - t[k];
        r.inl_local.push_back(local > 0 ? d / local : 0.0);
        r.max_abs_inl_lsb = std::max(r.max_abs_inl_lsb, std::abs(d / lsb));
        r.code_errors += std::abs(d / lsb) > 0.5;
    }
    for (std::size_t k = 0; k + 1 < t.size(); ++k) {
        const double w_target = t[k + 1] - t[k];
        const double w = measured[k + 1] - measured[k];
        const bool missing = !(w > 0);
        if (missing) r.missing_codes.push_back(static_cast<int>(k) + 1);
        if (!missing && w < kNarrowCodeLsb * lsb && w_target >= kNarrowCodeLsb * lsb)
            r.narrow_codes.push_back(static_cast<int>(k) + 1);
        // Empty target codes (coinciding thresholds) have no meaningful relative width.
        const double dnl = w_target > 0 ? (std::isfinite(w) ? (missing ? -1.0 : (w - w_target) / w_target) : -1.0) : 0.0;
        r.dnl.push_back(dnl);
        r.max_abs_dnl = std::max(r.max_abs_dnl, std::abs(dnl));
    }
    return r;
}

IeeeLinearity ieee_linearity(const std::vector<double>& measured, double first_target, double code_width)
{
    const std::size_t n = measured.size();
    if (n < 3) throw Error("IEEE linearity needs at least three transition levels");
    for (double v : measured)
        if (!std::isfinite(v)) throw Error("IEEE linearity of an ADC with unreachable codes is undefined");
    IeeeLinearity r;
    r.code_width = code_width;
    r.terminal_width = (measured.back() - measured.front()) / static_cast<double>(n - 1);
    for (std::size_t k = 0; k + 1 < n; ++k) {
        const double w = measured[k + 1] - measured[k];
        r.dnl_lsb.push_back(w / r.terminal_width - 1.0);
        if (!(w > 0)) r.missing_codes.push_back(static_cast<int>(k) + 1);
    }
    for (std::size_t k = 0; k < n; ++k)
        r.inl_terminal_lsb.push_back(
            (measured[k] - measured.front() - r.terminal_width * static_cast<double>(k)) / r.terminal_width);
    // Least squares T ~ a + b k with k = 1 .. n.
    double sk = 0, st = 0, skk = 0, skt = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double k = static_cast<double>(i + 1);
        sk += k;
        st += measured[i];
        skk += k * k;
        skt += k * measured[i];
    }
    const double nn = static_cast<double>(n);
    const double b = (nn * skt - sk * st) / (nn * skk - sk * sk);
    const double a = (st - b * sk) / nn;
    for (std::size_t i = 0; i < n; ++i)
        r.inl_best_fit_lsb.push_back((measured[i] - a - b * static_cast<double>(i + 1)) / code_width);
    r.offset = a + b - first_target;
    r.gain = b / code_width;
    return r;
}

bool is_linear_levelset(const LevelSet& set)
{
    const auto& t = set.thresholds;
    if (t.size() < 3) return false;
    const double width = (t.back() - t.front()) / static_cast<double>(t.size() - 1);
    const double tolerance = 1e-9 * (set.hi - set.lo);
    for (std::size_t k = 0; k < t.size(); ++k)
        if (std::abs(t[k] - (t.front() + width * static_cast<double>(k))) > tolerance) return false;
    return width > 0;
}

}  // namespace nladc
