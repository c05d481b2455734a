#pragma once
// RRAM cell model (units: S, V, A, ohm).
//
//   read current      I(V) = G sinh(alpha V) / alpha   (alpha = 0: I = G V)
//   1T1R              the access transistor adds its on-resistance R_acc in series,
//                     so a cell of conductance G conducts like G / (1 + G R_acc)
//   programming       one write lands at target + N(0, sigma), sigma^2 = sigma_abs^2 +
//                     (sigma_rel target)^2; program-and-verify rewrites until a read
//                     (with read noise) is within the tolerance (ReADC, Nat. Commun. 2025)
//   fabrication       a cell is stuck at OFF (g_off) or ON (g_stuck_on) with the given
//                     probabilities; otherwise programmed, then drifts by a common factor
//                     times a per-cell factor 1 + N(0, drift_sigma_rel)

#include "nladc/core/random.hpp"
#include "nladc/device/technology.hpp"

namespace nladc {

/// Read current (A) of a cell of conductance g_S with v_V across it.
double cell_current(double g_S, double v_V, double alpha_per_V);

/// Effective conductance of a cell in series with the 1T1R access resistance (0T1R, SRAM: g_S).
double series_access(double g_S, const DeviceParams& device);

struct ProgramResult {
    double conductance_S = 0.0;  ///< the conductance actually programmed
    int iterations = 0;          ///< writes used
    bool verified = false;       ///< false when the iteration limit was reached
};

/// Program-and-verify of one cell to target_S with the draws of `rng`.
ProgramResult program_and_verify(double target_S, const DeviceParams& device, RandomStream& rng);

enum class CellState { ok, stuck_off, stuck_on };

struct CellSample {
    double conductance_S = 0.0;  ///< after programming, stuck faults and drift
    CellState state = CellState::ok;
    int program_iterations = 0;
};

/// One fabricated and programmed cell. A target of 0 means "left off" (g_off).
CellSample sample_cell(double target_S, const DeviceParams& device, double common_drift, RandomStream& rng);

}  // namespace nladc
