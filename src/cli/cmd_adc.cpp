// Commands on one design: tech, map, convert, transfer, netlist, calibrate.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include "cli.hpp"
#include "nladc/adc/calibration_params.hpp"
#include "nladc/core/error.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/steps/evaluate.hpp"
#include "nladc/steps/map.hpp"
#include "nladc/steps/spice_steps.hpp"
#include "nladc/steps/study_steps.hpp"

namespace nladc::cli {

void DesignFlags::add(CLI::App& app)
{
    app.add_option("--design", design, "Design JSON written by `nladc map`")->required();
    app.add_option("--tech", tech, "Technology JSON to use instead of the design's embedded one");
    app.add_option("--calibration", calibration, "Calibrated behavioral parameters from `nladc calibrate`");
    app.add_flag("--ideal", ideal, "Switch every nonideality off (ohmic cells, ideal wires, integrator, comparator)");
    app.add_option("--mode", mode, "Evaluation mode")->check(CLI::IsMember(choice_names<AdcMode>()));
    app.add_flag("--ideal-cells", partial.cells, "Ohmic cells without access resistance");
    app.add_flag("--ideal-wires", partial.wires, "Zero wire resistance");
    app.add_flag("--ideal-integrator", partial.integrator, "Ideal integrator, mirror and output nodes");
    app.add_flag("--ideal-comparator", partial.comparator, "No offset, noise, hysteresis, kickback, metastability");
}

steps::Evaluation DesignFlags::evaluation() const
{
    steps::Evaluation e;
    e.design_file = design;
    e.tech_file = tech;
    e.calibration_file = calibration;
    e.mode = parse_choice<AdcMode>(mode);
    e.ideal = ideal ? Idealization::all() : partial;
    return e;
}

void note_technology(const std::string& technology_note)
{
    if (!technology_note.empty()) note(technology_note);
}

Command add_tech(CLI::App& parent)
{
    struct Flags {
        bool defaults = false, describe = false;
        std::string check;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("tech", "Print or check technology files");
    app->add_flag("--defaults", flags->defaults, "Print the default technology JSON");
    app->add_flag("--describe", flags->describe, "Print every key with unit, default, range and provenance (Markdown)");
    app->add_option("--check", flags->check, "Validate a technology JSON file");
    return {app, [flags] {
                if (flags->check.empty() && !flags->describe && !flags->defaults)
                    throw UsageError("tech: give --defaults, --describe or --check FILE");
                const steps::TechResult result = steps::run_tech({flags->defaults, flags->describe, flags->check});
                std::cout << result.defaults_json << result.description;
                if (result.checked) std::cout << flags->check << ": valid\n";
            }};
}

Command add_map(CLI::App& parent)
{
    struct Flags {
        std::string levels, layer, tech, input, out;
        int rows = 0, calibration_cells = 5;
        double scale = 0.0;
        bool unit_grid = false, drop_nonfinite = false, compensate = false;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("map", "Map a level set onto the replica column: cells, scale, errors");
    app->add_option("--levels", flags->levels, "Level-set JSON")->required();
    app->add_option("--layer", flags->layer, "Layer of a multi-layer level-set file");
    app->add_option("--tech", flags->tech, "Technology JSON (default: built-in defaults, `nladc tech --defaults`)");
    app->add_option("--rows", flags->rows, "Rows M of the physical replica column (default array.rows)")
        ->check(int_range(1, 1 << 20));
    app->add_option("--scale", flags->scale, "MAC scale in activation units per siemens (default: automatic)")
        ->check(CLI::PositiveNumber);
    app->add_option("--calibration-cells", flags->calibration_cells, "Spare bias cells for trimming")
        ->check(int_range(0, 1 << 16))
        ->capture_default_str();
    app->add_flag("--unit-grid", flags->unit_grid, "Integer counts of unit cells (SRAM replica column)");
    app->add_flag("--compensate", flags->compensate,
                  "Pre-distort the steps so the nominal behavioral model (IR drop, integrators) hits the targets");
    app->add_option("--input", flags->input, "Activations: report the MSE after mapping");
    app->add_flag("--drop-nonfinite", flags->drop_nonfinite, "Skip NaN/Inf in --input");
    app->add_option("--out", flags->out, "Output design JSON")->required();
    return {app, [flags] {
                steps::MapRequest request;
                request.levels_file = flags->levels;
                request.layer = flags->layer;
                request.tech_file = flags->tech;
                if (flags->rows > 0) request.mapping.rows = flags->rows;
                if (flags->scale > 0) request.mapping.scale_per_S = flags->scale;
                request.mapping.calibration_cells = flags->calibration_cells;
                request.mapping.unit_grid = flags->unit_grid;
                request.compensate = flags->compensate;
                request.input = flags->input;
                request.nonfinite = flags->drop_nonfinite ? io::NonFinitePolicy::drop : io::NonFinitePolicy::error;
                request.out = flags->out;
                const steps::MapResult result = steps::run_map(request);
                const std::optional<CompensationResult>& compensated = result.compensation;
                const ReplicaDesign& d = result.record.design;
                std::cout << fmt::format("{} ({} bits, {}): scale {:.6g} per uS ({}), {} cells in a {}-row column\n",
                                         flags->levels, d.levels.bits, method_label(d.levels), d.scale_per_S * 1e-6,
                                         d.scale_rule, d.cells.size(), d.rows_available);
                std::cout << fmt::format("  {:>3} {:>12} {:>12} {:>11} {:>6}\n", "k", "target", "realized",
                                         "error LSB", "cells");
                for (std::size_t k = 0; k < d.realized_thresholds.size(); ++k) {
                    int cells = 0;
                    for (const ReplicaCell& c : d.cells) cells += c.step == static_cast<int>(k) + 1;
                    std::cout << fmt::format("  {:>3} {:>12.6g} {:>12.6g} {:>11.2e} {:>6}\n", k + 1,
                                             d.levels.thresholds[k], d.realized_thresholds[k],
                                             d.threshold_error_lsb[k], cells);
                }
                for (const std::string& n : d.notes) std::cout << "  note: " << n << "\n";
                if (compensated)
                    std::cout << fmt::format("  nominal behavioral model, T - target (LSB): before [{:+.3f}]\n"
                                             "                                            after  [{:+.3f}]\n",
                                             fmt::join(compensated->before_lsb, " "), fmt::join(compensated->after_lsb, " "));
                if (result.record.before_mapping && result.record.after_mapping)
                    std::cout << fmt::format("  MSE on {}: {:.6e} with the target thresholds, {:.6e} after mapping\n",
                                             result.input_label, result.record.before_mapping->mse,
                                             result.record.after_mapping->mse);
                std::cout << fmt::format("wrote {} (design hash {})\n", flags->out, result.record.hash.substr(0, 16));
            }};
}

Command add_convert(CLI::App& parent)
{
    struct Flags {
        DesignFlags design;
        double mac = 0.0;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand(
        "convert", "Convert one MAC value (level-set input units; realized on the MAC pair by the canonical spread: "
                   "every row at input 1 with differential conductance VALUE/(scale*rows))");
    flags->design.add(*app);
    app->add_option("--mac", flags->mac, "MAC value in the level set's input units")->required();
    return {app, [flags] {
                const steps::ConvertResult r = steps::run_convert({flags->design.evaluation(), flags->mac});
                note_technology(r.technology_note);
                const ConversionEnergy& energy = r.energy;
                std::cout << fmt::format("code {} level {:.6g} (MAC {:g}, output swing {:.4f} V, {} mode{})\n", r.code,
                                         r.level, flags->mac, r.output_swing_V, flags->design.mode,
                                         flags->design.ideal ? ", ideal" : "");
                std::cout << fmt::format("energy {:.4g} pJ, latency {:.4g} ns over {} clocks:", energy.total_J * 1e12,
                                         energy.latency_s * 1e9, energy.clocks);
                for (const EnergyTerm& term : energy.terms)
                    std::cout << fmt::format(" {} {:.4g} pJ;", term.name, term.joules * 1e12);
                std::cout << "\n";
            }};
}

Command add_transfer(CLI::App& parent)
{
    struct Flags {
        DesignFlags design;
        std::string out, plot;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("transfer", "Transition levels T[k] by bisection on the MAC value");
    flags->design.add(*app);
    app->add_option("--out", flags->out, "Output CSV: k,target,mapped,measured,error_lsb,mapping_error_lsb")->required();
    app->add_option("--plot", flags->plot, "Transfer curve with the target thresholds (PNG)");
    return {app, [flags] {
                const steps::TransferResult r =
                    steps::run_transfer({flags->design.evaluation(), flags->out, flags->plot});
                note_technology(r.technology_note);
                std::cout << fmt::format("{} thresholds, max |measured - target| = {:.4f} LSB ({} mode{}); wrote {}\n",
                                         r.measured.size(), r.max_error_lsb, flags->design.mode,
                                         flags->design.ideal ? ", ideal" : "", flags->out);
                if (!flags->plot.empty()) std::cout << "wrote " << flags->plot << "\n";
            }};
}

Command add_netlist(CLI::App& parent)
{
    struct Flags {
        std::string design, tech, corner{choice_name(Corner::tt)}, circuits, out, kind = "conversion", circuit = "transistor";
        double mac = 0.0, temperature = 27.0;
        bool inline_library = false;
        CLI::Option* mac_option = nullptr;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("netlist", "Write the ngspice testbench of a design (docs/spice.md)");
    app->add_option("--design", flags->design, "Design JSON written by `nladc map`")->required();
    app->add_option("--tech", flags->tech, "Technology JSON to use instead of the design's embedded one");
    flags->mac_option = app->add_option("--mac", flags->mac, "MAC value in input units (default: the range middle)");
    app->add_option("--corner", flags->corner, "Process corner")->check(CLI::IsMember(choice_names<Corner>()))->capture_default_str();
    app->add_option("--temp", flags->temperature, "Temperature, C")->capture_default_str();
    app->add_option("--kind", flags->kind, "conversion | mac (MAC integrator only)")
        ->check(CLI::IsMember({"conversion", "mac"}));
    app->add_option("--circuit", flags->circuit,
                    "transistor: OTA integrators, switches, conveyor, BSIM4 access devices; macro: the single-pole "
                    "macromodels")
        ->check(CLI::IsMember({"transistor", "macro"}))
        ->capture_default_str();
    app->add_flag("--inline", flags->inline_library, "Paste the subcircuit library and model card (self-contained file)");
    app->add_option("--circuits", flags->circuits, "The circuits/ directory (default: found automatically)");
    app->add_option("--out", flags->out, "Output .cir file")->required();
    return {app, [flags] {
                steps::NetlistRequest request;
                request.design_file = flags->design;
                request.tech_file = flags->tech;
                if (flags->mac_option->count()) request.mac = flags->mac;
                request.options.kind = flags->kind;
                request.options.circuit = flags->circuit;
                request.options.corner = parse_choice<Corner>(flags->corner);
                request.options.temperature_C = flags->temperature;
                request.options.inline_library = flags->inline_library;
                request.options.circuits_dir = flags->circuits;
                request.out = flags->out;
                const steps::NetlistResult r = steps::run_netlist(request);
                note_technology(r.technology_note);
                std::cout << fmt::format("wrote {} ({} netlist, MAC {:g}, {} corner, {:.4g} ns)\n", flags->out,
                                         flags->kind, r.mac, flags->corner, r.netlist.stop_time * 1e9);
            }};
}

Command add_calibrate(CLI::App& parent)
{
    struct Flags {
        std::string design, tech, corner{choice_name(Corner::tt)}, circuits, out, validation, circuit = "transistor";
        std::string validation_corner{choice_name(Corner::ss)};
        double temperature = 27.0, validation_temperature = 27.0, bracket = 0.0015;
        int agreement = 30, near = 1, workers = 2, bisection = 0;
        bool ablation = false;
        std::vector<std::string> fit, validations = {"method", "bits", "corner"};
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("calibrate", "Extract the block parameters, fit the behavioral model to ngspice "
                                                       "and report the agreement (docs/spice.md)");
    app->add_option("--design", flags->design, "Design JSON written by `nladc map`")->required();
    app->add_option("--tech", flags->tech, "Technology JSON to use instead of the design's embedded one");
    app->add_option("--circuit", flags->circuit, "SPICE circuit: transistor or macro (the single-pole macromodels)")
        ->check(CLI::IsMember({"transistor", "macro"}))
        ->capture_default_str();
    app->add_option("--corner", flags->corner, "Process corner")->check(CLI::IsMember(choice_names<Corner>()))->capture_default_str();
    app->add_option("--temp", flags->temperature, "Temperature, C")->check(finite_number)->capture_default_str();
    app->add_option("--validations", flags->validations,
                    "Held-out designs checked without refitting: method (linear, same bits), bits (every other "
                    "threshold), corner (this design at --validation-corner / --validation-temp)")
        ->check(CLI::IsMember({"method", "bits", "corner"}))
        ->capture_default_str();
    app->add_option("--validation", flags->validation, "One more held-out design (mapped with the same technology)");
    app->add_option("--validation-corner", flags->validation_corner, "Corner of the 'corner' validation")
        ->check(CLI::IsMember(choice_names<Corner>()))
        ->capture_default_str();
    app->add_option("--validation-temp", flags->validation_temperature, "Temperature of the 'corner' validation, C")
        ->check(finite_number)
        ->capture_default_str();
    app->add_option("--agreement", flags->agreement, "Full SPICE conversions at MAC values drawn uniformly")
        ->check(int_range(0, 100000))->capture_default_str();
    app->add_option("--near", flags->near, "More full SPICE conversions per threshold, within 0.2 LSB of it")
        ->check(int_range(0, 100))->capture_default_str();
    app->add_option("--bisection", flags->bisection,
                    "Thresholds bracketed on full conversions (0: all; the others keep the fast extractor's value)")
        ->check(int_range(0, 1 << 16))->capture_default_str();
    app->add_option("--bracket", flags->bracket, "Bracket width of the checked thresholds, LSB")
        ->check(CLI::Range(1e-6, 1.0))
        ->capture_default_str();
    app->add_flag("--ablation", flags->ablation,
                  "Also run the ablation: each nonideality on alone in SPICE (macromodel) and the model against it");
    app->add_option("--fit", flags->fit, "Parameters to fit, at most six (default: offset_V gain_error mac_compression; "
                                         "also access_resistance_delta_ohm gbw_scale leakage_S)");
    app->add_option("--workers", flags->workers, "ngspice worker processes")->check(int_range(1, 256))->capture_default_str();
    app->add_option("--circuits", flags->circuits, "The circuits/ directory (default: found automatically)");
    app->add_option("--out", flags->out, "Output calibration JSON (the report is written beside it)")->required();
    return {app, [flags] {
                steps::CalibrateRequest request;
                request.design_file = flags->design;
                request.tech_file = flags->tech;
                request.validation_file = flags->validation;
                request.out = flags->out;
                CalibrationOptions& options = request.options;
                options.netlist.corner = parse_choice<Corner>(flags->corner);
                options.netlist.temperature_C = flags->temperature;
                options.netlist.circuits_dir = flags->circuits;
                options.netlist.circuit = flags->circuit;
                options.agreement_samples = flags->agreement;
                options.near_threshold_samples = flags->near;
                options.bisection_thresholds = flags->bisection;
                options.bracket_lsb = flags->bracket;
                options.validations = flags->validations;
                options.validation_corner = parse_choice<Corner>(flags->validation_corner);
                options.validation_temperature_C = flags->validation_temperature;
                options.ablation = flags->ablation;
                options.workers = flags->workers;
                if (!flags->fit.empty()) options.fit = flags->fit;
                const auto started = std::chrono::steady_clock::now();
                options.progress = [started](const std::string& message) {
                    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                    note(fmt::format("calibrate [{:6.1f} s]: {}", elapsed, message));
                };
                const steps::CalibrateResult result = steps::run_calibrate(request);
                note_technology(result.technology_note);
                print_calibration_report(std::cout, flags->design, flags->corner, flags->temperature, result.report);
                std::cout << fmt::format("wrote {} and {}\n", flags->out, result.report_file.string());
            }};
}

void print_calibration_report(std::ostream& out, const std::string& design, const std::string& corner,
                              double temperature_C, const CalibrationReport& r)
{
    out << fmt::format("calibrated {} ({} circuit) at {} {:g} C ({} simulations, {:.1f} s)\n", design, r.circuit, corner,
                       temperature_C, r.simulations, r.wall_s);
    if (!r.extracted.empty()) {
        out << "  extracted block parameters:\n";
        for (const auto& e : r.extracted)
            out << fmt::format("    {:<36} {:>12.6g} {:<4} ({})\n", e.key, e.value, e.unit, e.testbench);
    }
    out << "  fitted:\n";
    for (const auto& name : r.fitted)
        out << fmt::format("    {:<36} {:+.6g}\n", name, get_calibration_parameter(r.parameters, name));
    out << "  fit: " << r.fit.verdict << "\n";
    out << fmt::format("  {:>3} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}\n", "k", "target", "spice", "before", "after",
                       "|d| LSB", "after", "bracket");
    for (std::size_t k = 0; k < r.thresholds.size(); ++k) {
        const ThresholdComparison& c = r.thresholds[k];
        out << fmt::format("  {:>3} {:>10.5f} {:>10.5f} {:>10.5f} {:>10.5f} {:>9.4f} {:>9.4f} {:>9.4f}\n", k + 1, c.target,
                           c.spice, c.before, c.after, c.before_error_lsb, c.after_error_lsb, c.bracket_lsb);
    }
    out << fmt::format("  SPICE resolution {:.4f} LSB (bracket {:.4f}, simulator tolerances {:.4f}) over {} thresholds "
                       "bracketed on full conversions\n",
                       r.spice_resolution_lsb, r.bisection_bracket_lsb, r.tolerance_resolution_lsb,
                       r.thresholds_checked.size());
    auto resolved = [&](double error) {
        return error < r.spice_resolution_lsb ? fmt::format("< {:.4f} (the resolution)", r.spice_resolution_lsb)
                                              : fmt::format("{:.4f}", error);
    };
    out << fmt::format("  max |T_behav - T_spice|: {:.4f} LSB nominal technology, {} LSB with the extracted block "
                       "parameters, {} LSB after the fit\n",
                       r.max_threshold_error_lsb_nominal, resolved(r.max_threshold_error_lsb_before),
                       resolved(r.max_threshold_error_lsb_after));
    for (const ValidationResult& v : r.validation)
        out << fmt::format("  validation, {} ({} {} bits, {} {:g} C, block parameters {}): {} LSB before, {} LSB after "
                           "the fit{}\n",
                           v.name, v.method, v.bits, v.corner, v.temperature_C, v.block_parameters,
                           resolved(v.max_threshold_error_lsb_before), resolved(v.max_threshold_error_lsb_after),
                           v.improved ? "" : " (no improvement)");
    if (!r.validation.empty()) out << "  " << r.validation_verdict << "\n";
    if (r.agreement_samples || r.agreement_near)
        out << fmt::format("  code agreement: {:.2f} % of {} conversions farther than 0.2 LSB from a threshold, {:.2f} % "
                           "of all {} drawn, {:.2f} % of {} within 0.2 LSB of a threshold\n",
                           100 * r.code_agreement, r.agreement_filtered, 100 * r.code_agreement_all,
                           r.agreement_samples, 100 * r.code_agreement_near, r.agreement_near);
    if (r.speedup > 0)
        out << fmt::format("  speed-up (SPICE on one worker): {:.3g}x per conversion ({:.3g} s against {:.3g} s), "
                           "{:.3g}x with the model's setup ({:.3g} s), {:.3g}x per Monte Carlo chip ({:.3g} s against "
                           "{:.3g} s)\n",
                           r.speedup, r.spice_conversion_s, r.behavioral_conversion_s,
                           r.speedup_per_conversion_with_setup, r.behavioral_setup_s, r.speedup_per_chip, r.spice_chip_s,
                           r.behavioral_chip_s);
    for (const AblationEntry& a : r.ablation)
        out << fmt::format("  ablation (macromodel), {} on alone: SPICE vs target {:.3f} LSB; behavioral (nominal) vs "
                           "SPICE {:.3f} LSB\n",
                           a.nonideality, a.max_spice_error_lsb, a.max_behavioral_vs_spice_lsb);
}

}  // namespace nladc::cli
