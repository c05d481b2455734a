#pragma once
// Steps that write or run ngspice netlists of a mapped design: `netlist` (the testbench
// as a file) and `calibrate` (extract, fit and check the behavioral model against
// ngspice, study/calibration.hpp).

#include <filesystem>
#include <optional>
#include <string>

#include "nladc/spice/netlist.hpp"
#include "nladc/steps/common.hpp"
#include "nladc/study/calibration.hpp"

namespace nladc::steps {

struct NetlistRequest {
    std::string design_file;
    std::string tech_file;      ///< "" = the design's technology
    std::optional<double> mac;  ///< input units; default: the middle of the range
    /// kind, circuit, corner, temperature, inline_library, circuits_dir; mac_value and
    /// design_hash are filled in from the request and the design.
    spice::NetlistOptions options;
    std::string out;  ///< .cir
};
struct NetlistResult {
    spice::Netlist netlist;
    double mac = 0.0;
    std::string technology_note;
};
NetlistResult run_netlist(const NetlistRequest& request);

struct CalibrateRequest {
    std::string design_file;
    std::string tech_file;        ///< "" = the design's technology
    std::string validation_file;  ///< one more held-out design ("" = none)
    /// options.netlist.design_hash is filled in from the design.
    CalibrationOptions options;
    std::string out;  ///< calibration JSON; the report goes beside it
};
struct CalibrateResult {
    CalibrationReport report;
    std::filesystem::path report_file;
    std::string technology_note;
};
CalibrateResult run_calibrate(const CalibrateRequest& request);

}  // namespace nladc::steps
