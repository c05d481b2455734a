#pragma once
// Static linearity of an ADC from its transition levels (BRIEF §4).
//
// Transition level T[k] (k = 1 .. L-1): the input at which codes k-1 and k are equally
// likely. LSB = (hi - lo) / 2^N of the level set, everywhere.
//
// Nonlinear level sets (nladc's generalization, reducing to IEEE 1241 for a linear set):
//   INL[k] = (T_meas[k] - T_target[k]) / LSB              (also relative to the local
//   step w_k = T_target[k+1] - T_target[k]: dT / w_k)
//   DNL[k] = (W_meas[k] - W_target[k]) / W_target[k],  W[k] = T[k+1] - T[k], inner codes
//   missing code k <=> W_meas[k] <= 0  (DNL = -1)
//   narrow code k  <=> 0 < W_meas[k] < 0.1 LSB while W_target[k] >= 0.1 LSB (a code the
//                     level set itself makes that narrow is a design choice, not a defect)
// Linear level sets (IEEE Std 1241), in LSB of the set's own code width:
//   terminal: Q_t = (T[L-1] - T[1]) / (L - 2), INL_t[k] = (T[k] - T[1] - Q_t (k - 1)) / Q_t,
//             DNL[k] = W[k] / Q_t - 1, so INL_t[k] is exactly the running sum of DNL;
//   best fit: least-squares line T[k] ~ a + b k, INL_bf[k] = (T[k] - a - b k) / Q,
//             Q = the target code width; offset = a + b - T_target[1], gain = b / Q.

#include <vector>

#include "nladc/quant/levelset.hpp"

namespace nladc {

/// Below this width (in LSB) a code that should be wider is "narrow": a missing code
/// in all but name once noise is present (the 0.1 LSB).
inline constexpr double kNarrowCodeLsb = 0.1;

struct Linearity {
    std::vector<double> inl_lsb;    ///< per threshold, (T_meas - T_target) / LSB
    std::vector<double> inl_local;  ///< per threshold, relative to the local target step
    std::vector<double> dnl;        ///< per inner code k = 1 .. L-2, (W_meas - W_target) / W_target
    std::vector<int> missing_codes; ///< inner codes with W_meas <= 0
    std::vector<int> narrow_codes;  ///< inner codes with 0 < W_meas < kNarrowCodeLsb LSB (see above)
    double max_abs_inl_lsb = 0.0, max_abs_dnl = 0.0;
    int code_errors = 0;            ///< thresholds off by more than 0.5 LSB
};

/// The nonlinear generalization against the target level set. Unreachable thresholds
/// (+-inf) count as errors of the full range.
Linearity nonlinear_linearity(const LevelSet& target, const std::vector<double>& measured);

struct IeeeLinearity {
    double code_width = 0.0;                  ///< Q: the target code width
    double terminal_width = 0.0;              ///< Q_t
    std::vector<double> dnl_lsb;              ///< inner codes, W / Q_t - 1
    std::vector<double> inl_terminal_lsb;     ///< per threshold
    std::vector<double> inl_best_fit_lsb;     ///< per threshold, in Q
    double offset = 0.0;                      ///< best-fit line at k = 1 minus the target T[1], input units
    double gain = 1.0;                        ///< best-fit slope / Q
    std::vector<int> missing_codes;
};

/// IEEE 1241 static linearity of a linear ADC. `first_target` is the ideal T[1] and
/// `code_width` the ideal Q. Requires at least three transition levels.
IeeeLinearity ieee_linearity(const std::vector<double>& measured, double first_target, double code_width);

/// True when the thresholds are equally spaced (a linear level set) to 1e-9 of the range.
bool is_linear_levelset(const LevelSet& set);

}  // namespace nladc
