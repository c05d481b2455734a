#include "nladc/device/rram.hpp"

#include <cmath>

namespace nladc {

double cell_current(double g_S, double v_V, double alpha_per_V)
{
    if (alpha_per_V == 0.0) return g_S * v_V;
    return g_S * std::sinh(alpha_per_V * v_V) / alpha_per_V;
}

double series_access(double g_S, const DeviceParams& device)
{
    if (device.cell_type != "1T1R" || device.access_resistance_ohm == 0.0) return g_S;
    return g_S / (1.0 + g_S * device.access_resistance_ohm);
}

ProgramResult program_and_verify(double target_S, const DeviceParams& device, RandomStream& rng)
{
    const double sigma = std::hypot(device.program_sigma_S, device.program_sigma_rel * target_S);
    ProgramResult result;
    for (result.iterations = 1; result.iterations <= device.verify_max_iterations; ++result.iterations) {
        result.conductance_S = std::max(device.g_off_S, target_S + sigma * rng.normal());
        const double read = result.conductance_S + device.read_noise_sigma_S * rng.normal();
        if (std::abs(read - target_S) <= device.verify_tolerance_S) {
            result.verified = true;
            return result;
        }
    }
    result.iterations = device.verify_max_iterations;
    return result;
}

CellSample sample_cell(double target_S, const DeviceParams& device, double common_drift, RandomStream& rng)
{
    CellSample cell;
    const double fault = rng.uniform();
    if (fault < device.stuck_off_probability) {
        cell.state = CellState::stuck_off;
        cell.conductance_S = device.g_off_S;
    } else if (fault < device.stuck_off_probability + device.stuck_on_probability) {
        cell.state = CellState::stuck_on;
        cell.conductance_S = device.g_stuck_on_S;
    } else if (target_S <= 0.0) {
        cell.conductance_S = device.g_off_S;
    } else {
        const ProgramResult programmed = program_and_verify(target_S, device, rng);
        cell.conductance_S = programmed.conductance_S;
        cell.program_iterations = programmed.iterations;
    }
    // Drift acts on programmed cells; a stuck cell stays where it is stuck.
    const double spread = device.drift_sigma_rel > 0 ? 1.0 + device.drift_sigma_rel * rng.normal() : 1.0;
    if (cell.state == CellState::ok) cell.conductance_S *= std::max(0.0, common_drift * spread);
    return cell;
}

}  // namespace nladc
