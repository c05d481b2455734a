#pragma once
// The command-line front end: each command parses its flags, calls the library
// and prints. Exit codes: 0 success, 2 usage error, 1 input or processing error.

#include <CLI/CLI.hpp>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "nladc/steps/common.hpp"
#include "nladc/study/calibration.hpp"

namespace nladc::cli {

/// A registered subcommand and the action to run when it was chosen.
struct Command {
    CLI::App* app = nullptr;
    std::function<void()> run;
};

Command add_synth(CLI::App& parent);
Command add_levels(CLI::App& parent);
Command add_compare(CLI::App& parent);
Command add_score(CLI::App& parent);
Command add_tech(CLI::App& parent);
Command add_map(CLI::App& parent);
Command add_convert(CLI::App& parent);
Command add_transfer(CLI::App& parent);
Command add_netlist(CLI::App& parent);
Command add_calibrate(CLI::App& parent);
Command add_mc(CLI::App& parent);
Command add_characterize(CLI::App& parent);
Command add_export(CLI::App& parent);
Command add_area(CLI::App& parent);
Command add_flow(CLI::App& parent);
Command add_dnn(CLI::App& parent);

/// Flags shared by the commands that evaluate a design (--design, --tech,
/// --calibration, --ideal*, --mode).
struct DesignFlags {
    std::string design, tech, calibration;
    bool ideal = false;
    Idealization partial;
    std::string mode{choice_name(AdcMode::static_solve)};

    void add(CLI::App& app);
    steps::Evaluation evaluation() const;
};

/// Validator: integer within [lo, hi]; message "N is outside [lo, hi]".
CLI::Validator int_range(long long lo, long long hi);

/// Validator: a finite number ("nan", "inf" and overflowing values are usage errors).
/// main() adds it to every floating-point option of every command.
extern const CLI::Validator finite_number;

/// The calibration report as `nladc calibrate` prints it.
void print_calibration_report(std::ostream& out, const std::string& design, const std::string& corner,
                              double temperature_C, const CalibrationReport& report);

/// Prints a progress/status line to stderr.
void note(const std::string& message);
/// Prints a step's technology note (an override of the design's technology), if any.
void note_technology(const std::string& technology_note);

}  // namespace nladc::cli
