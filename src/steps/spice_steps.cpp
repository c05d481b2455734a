// Steps that write or run ngspice netlists (steps/spice_steps.hpp).
#include "nladc/steps/spice_steps.hpp"

#include "nladc/documents/calibration_file.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/mapping/mapping.hpp"

namespace nladc::steps {

NetlistResult run_netlist(const NetlistRequest& request)
{
    const LoadedDesign loaded = load_design(request.design_file, request.tech_file);
    const ReplicaDesign& design = loaded.record.design;
    spice::NetlistOptions options = request.options;
    options.mac_value = request.mac ? *request.mac : 0.5 * (design.levels.lo + design.levels.hi);
    options.design_hash = loaded.record.hash;
    NetlistResult result;
    result.netlist = spice::generate_netlist(design, loaded.tech, spice::nominal_spice_chip(design, loaded.tech), options);
    result.mac = *options.mac_value;
    result.technology_note = loaded.technology_note;
    io::write_file_atomic(request.out, result.netlist.text);
    return result;
}

CalibrateResult run_calibrate(const CalibrateRequest& request)
{
    const LoadedDesign loaded = load_design(request.design_file, request.tech_file);
    std::optional<ReplicaDesign> validation;
    if (!request.validation_file.empty()) {
        validation = io::read_design(request.validation_file).design;
        validation->tech = loaded.tech;  // the same circuit, sized for the held-out design's range
        adapt_technology(*validation, validation->tech);
    }
    CalibrationOptions options = request.options;
    options.netlist.design_hash = loaded.record.hash;
    CalibrateResult result;
    result.report = calibrate(loaded.record.design, loaded.tech, validation, options);
    result.report_file = io::write_calibration(
        request.out, result.report, {loaded.record.hash, options.netlist.corner, options.netlist.temperature_C});
    result.technology_note = loaded.technology_note;
    return result;
}

}  // namespace nladc::steps
