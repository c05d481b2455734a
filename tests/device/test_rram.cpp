// RRAM cell model: I-V, access resistance, program-and-verify, fabrication faults.
#include <catch2/catch.hpp>

#include <cmath>

#include "nladc/device/rram.hpp"

using namespace nladc;

TEST_CASE("sinh I-V reduces to ohmic at small alpha and grows faster at large V", "[device]")
{
    CHECK(cell_current(1e-4, 0.2, 0.0) == Approx(2e-5));
    CHECK(cell_current(1e-4, 0.2, 1e-6) == Approx(2e-5).epsilon(1e-10));
    CHECK(cell_current(1e-4, 0.2, 3.0) == Approx(1e-4 * std::sinh(0.6) / 3.0));
    CHECK(cell_current(1e-4, 0.2, 3.0) > cell_current(1e-4, 0.2, 0.0));
    CHECK(cell_current(1e-4, -0.2, 3.0) == Approx(-cell_current(1e-4, 0.2, 3.0)));
}

TEST_CASE("1T1R access resistance is in series; 0T1R has none", "[device]")
{
    DeviceParams device;
    device.access_resistance_ohm = 200;
    CHECK(series_access(400e-6, device) == Approx(1.0 / (2500.0 + 200.0)));
    device.cell_type = "0T1R";
    CHECK(series_access(400e-6, device) == 400e-6);
}

TEST_CASE("program-and-verify lands within tolerance and reports iterations", "[device]")
{
    DeviceParams device;  // ReADC: sigma 2.73 uS, tolerance 5 uS, <= 20 iterations
    RandomStream rng(3, 0);
    double error_sq = 0, iterations = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        const ProgramResult r = program_and_verify(250e-6, device, rng);
        REQUIRE(r.verified);
        // The read passed the band; the true value can exceed it by the read noise only.
        CHECK(std::abs(r.conductance_S - 250e-6) < device.verify_tolerance_S + 6 * device.read_noise_sigma_S);
        error_sq += (r.conductance_S - 250e-6) * (r.conductance_S - 250e-6);
        iterations += r.iterations;
    }
    // One write passes with probability P(|N(0, sqrt(2.73^2+0.14^2))| <= 5) = 0.933.
    CHECK(iterations / n == Approx(1.0 / 0.933).epsilon(0.02));
    CHECK(std::sqrt(error_sq / n) < device.program_sigma_S);  // verify tightens the spread
    device.verify_tolerance_S = 0.0;
    device.verify_max_iterations = 3;
    const ProgramResult never = program_and_verify(250e-6, device, rng);
    CHECK_FALSE(never.verified);
    CHECK(never.iterations == 3);
}

TEST_CASE("stuck cells appear at their probabilities; drift scales programmed cells", "[device]")
{
    DeviceParams device;
    device.stuck_off_probability = 0.02;
    device.stuck_on_probability = 0.01;
    RandomStream rng(4, 0);
    int off = 0, on = 0;
    const int n = 50000;
    for (int i = 0; i < n; ++i) {
        const CellSample cell = sample_cell(200e-6, device, 1.1, rng);
        off += cell.state == CellState::stuck_off;
        on += cell.state == CellState::stuck_on;
        if (cell.state == CellState::stuck_off) CHECK(cell.conductance_S == device.g_off_S);
        if (cell.state == CellState::ok) CHECK(cell.conductance_S == Approx(220e-6).margin(8e-6));
    }
    CHECK(off == Approx(0.02 * n).epsilon(0.1));
    CHECK(on == Approx(0.01 * n).epsilon(0.15));
}
