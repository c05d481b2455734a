#pragma once
// Energy per conversion measured in ngspice: the transistor-level conversion testbench
// with one VDD source per block (NetlistOptions::supply_per_block), each source's
// delivered energy -∫ V i dt by the trapezoid rule over the conversion, and the row
// drivers' energy into the array -∫ (v_drv - VCM) i_drv dt split at the end of the MAC
// phase (before: the MAC cells; after: the replica cells).
//
// Accounted per column exactly as the behavioral model (BehavioralAdc::energy) does, so
// the two compare term by term: the conversion lasts until the last decision taken
// (early stop: code + 1 decisions); the MAC integrator and the G- conveyor count for the
// whole of it; the replica integrator, shared by the array's columns, for its ramp
// steps divided by the columns; the comparator under test (not the copy standing for
// the other columns) for the ramp; the counter has no transistors in the testbench and
// its term is the model's, marked so.

#include <string>
#include <vector>

#include "nladc/spice/netlist.hpp"
#include "nladc/spice/ngspice.hpp"

namespace nladc::spice {

struct SpiceEnergyTerm {
    std::string name;   ///< the behavioral model's term name (adc/behavioral.hpp)
    double joules = 0;
    std::string source; ///< "spice" or "model (…)"
};

struct SpiceEnergy {
    double mac_value = 0.0;
    int code = 0, decisions = 0;
    double duration_s = 0.0;             ///< reset + T + decisions clock periods
    std::vector<SpiceEnergyTerm> terms;  ///< mac_cell_read, replica_cell_read, comparator, integrators, conveyor, counter
    double total_J = 0.0;
    // Raw block energies over the conversion window (not shared out), J:
    double integrator_mac_J = 0, integrator_replica_J = 0, conveyor_J = 0, comparator_J = 0;
    double comparator_per_decision_J = 0.0;
    /// The row drivers' energy into the other columns' (background) cells, J: theirs,
    /// left out of mac_cell_read and replica_cell_read.
    double background_J = 0.0;
};

/// One transistor-level conversion of `mac_value` on `chip`; `counter_J` is the model's
/// counter energy for the same number of decisions. Throws Error when ngspice fails.
SpiceEnergy conversion_energy(const ReplicaDesign& design, const Technology& tech, const SpiceChip& chip,
                              double mac_value, double counter_J_per_clock, WorkerPool& pool, NetlistOptions options);

/// -∫ w(t) i(t) dt over [t0, t1] by the trapezoid rule on the simulator's time points
/// (w: a voltage vector, or empty for 1 V).
double delivered_energy(const Eigen::VectorXd& time, const Eigen::VectorXd& voltage, double reference_V,
                        const Eigen::VectorXd& current, double t0, double t1);

}  // namespace nladc::spice
