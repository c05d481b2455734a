#include "nladc/spice/energy.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nladc/core/error.hpp"
#include "nladc/spice/extract.hpp"

namespace nladc::spice {

double delivered_energy(const Eigen::VectorXd& time, const Eigen::VectorXd& voltage, double reference_V,
                        const Eigen::VectorXd& current, double t0, double t1)
{
    // Power p(t) = -(v - ref) i (a source delivering power has i < 0 in SPICE's sign),
    // integrated piecewise-linearly and clipped to [t0, t1].
    const auto power = [&](Eigen::Index k) { return -(voltage.size() ? voltage(k) - reference_V : 1.0) * current(k); };
    double joules = 0.0;
    for (Eigen::Index k = 1; k < time.size(); ++k) {
        const double a = std::max(time(k - 1), t0), b = std::min(time(k), t1);
        if (b <= a) continue;
        const double span = time(k) - time(k - 1);
        const auto at = [&](double t) {
            const double f = span > 0 ? (t - time(k - 1)) / span : 0.0;
            return (1 - f) * power(k - 1) + f * power(k);
        };
        joules += 0.5 * (at(a) + at(b)) * (b - a);
    }
    return joules;
}

SpiceEnergy conversion_energy(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                              double mac_value, double counter_J_per_clock, WorkerPool& pool, NetlistOptions options)
{
    if (options.circuit != "transistor")
        throw Error("SPICE energy needs the transistor-level testbench (the macromodel's blocks draw no supply current)");
    options.kind = "conversion";
    options.mac_value = mac_value;
    options.supply_per_block = true;
    const Netlist net = generate_netlist(design, tech, chip, options);
    int simulations = 0;
    const SimulationResult result =
        run_all(pool, {request_for(net)}, {fmt::format("energy of a conversion at MAC {:g}", mac_value)}, simulations)
            .front();
    const SpiceConversion conversion = read_conversion(net, result, tech.counter.early_stop);

    SpiceEnergy e;
    e.mac_value = mac_value;
    e.code = conversion.code;
    const int steps = static_cast<int>(net.compare_times.size());
    e.decisions = tech.counter.early_stop ? std::min(conversion.code + 1, steps) : steps;
    const double period = 1.0 / tech.counter.clock_hz;
    const double mac_end = net.mac_end_time, end = mac_end + e.decisions * period;
    e.duration_s = end;
    const Eigen::VectorXd& time = vector_of(result, "time");
    const Eigen::VectorXd none;
    const double vdd = tech.spice.supply_V;
    const auto block = [&](const char* name, double t0) {
        return vdd * delivered_energy(time, none, 0.0, vector_of(result, fmt::format("i(vdd_{})", name)), t0, end);
    };
    e.integrator_mac_J = block("imac", 0.0);
    e.integrator_replica_J = block("iref", mac_end);
    e.conveyor_J = block("conv", 0.0);
    e.comparator_J = block("cmp", mac_end);
    e.comparator_per_decision_J = e.decisions ? e.comparator_J / e.decisions : 0.0;
    double mac_rows = 0.0, replica_rows = 0.0;
    for (int i = 0; i < tech.array.rows; ++i) {
        const Eigen::VectorXd& v = vector_of(result, fmt::format("v(drv{})", i));
        const Eigen::VectorXd& current = vector_of(result, fmt::format("i(vrow{})", i));
        mac_rows += delivered_energy(time, v, net.common_mode_V, current, 0.0, mac_end);
        replica_rows += delivered_energy(time, v, net.common_mode_V, current, mac_end, end);
        // The other columns' (background) share of the driver's current belongs to their
        // own MACs: the driver power split by current (i(vbgr) > 0 flows out to VCM).
        if (net.background) {
            const Eigen::VectorXd& background = vector_of(result, fmt::format("i(vbgr{})", i));
            mac_rows += delivered_energy(time, v, net.common_mode_V, background, 0.0, mac_end);
            replica_rows += delivered_energy(time, v, net.common_mode_V, background, mac_end, end);
            e.background_J -= delivered_energy(time, v, net.common_mode_V, background, 0.0, end);
        }
    }
    e.terms = {{"mac_cell_read", mac_rows, "spice"},
               {"replica_cell_read", replica_rows, "spice"},
               {"comparator", e.comparator_J, "spice"},
               {"integrators", e.integrator_mac_J + e.integrator_replica_J / tech.array.columns, "spice"},
               {"conveyor", e.conveyor_J, "spice"},
               {"counter", e.decisions * counter_J_per_clock, "model (no counter in the testbench)"}};
    for (const auto& term : e.terms) e.total_J += term.joules;
    return e;
}

}  // namespace nladc::spice
