// Behavioral NL-ADC commands: tech, map, convert, transfer.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "nladc/adc/behavioral.hpp"
#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/design_file.hpp"
#include "nladc/io/levelset_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/io/technology_file.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc::cli {

namespace {

/// Flags shared by the commands that evaluate a design.
struct DesignFlags {
    std::string design, tech;
    bool ideal = false;
    Idealization partial;
    std::string mode = "static";

    void add(CLI::App& app)
    {
        app.add_option("--design", design, "Design JSON written by `nladc map`")->required();
        app.add_option("--tech", tech, "Technology JSON to use instead of the design's embedded one");
        app.add_flag("--ideal", ideal, "Switch every nonideality off (ohmic cells, ideal wires, integrator, comparator)");
        app.add_option("--mode", mode, "Evaluation mode")->check(CLI::IsMember({"static", "transient"}));
        app.add_flag("--ideal-cells", partial.cells, "Ohmic cells without access resistance");
        app.add_flag("--ideal-wires", partial.wires, "Zero wire resistance");
        app.add_flag("--ideal-integrator", partial.integrator, "Ideal integrator, mirror and output nodes");
        app.add_flag("--ideal-comparator", partial.comparator, "No offset, noise, hysteresis, kickback, metastability");
    }

    /// The design, and the technology in effect (announcing an override on stderr).
    std::pair<ReplicaDesign, Technology> load() const
    {
        io::DesignRecord record = io::read_design(design);
        Technology tech = record.design.tech;
        if (!this->tech.empty()) {
            tech = io::read_technology(this->tech);
            const std::string sizing = size_sense(tech, record.design.levels.hi / record.design.scale_per_S);
            note(fmt::format("using the technology of {} instead of the one embedded in {}{}", this->tech, design,
                             sizing.empty() ? "" : "; " + sizing));
        }
        return {record.design, tech};
    }

    AdcOptions options() const
    {
        AdcOptions o;
        o.mode = mode;
        o.ideal = ideal ? Idealization::all() : partial;
        return o;
    }
};

}  // namespace

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
                if (flags->defaults) std::cout << io::dump_json(io::technology_to_json(Technology{}));
                if (flags->describe) std::cout << io::describe_technology();
                if (!flags->check.empty()) {
                    io::read_technology(flags->check);
                    std::cout << flags->check << ": valid\n";
                }
            }};
}

Command add_map(CLI::App& parent)
{
    struct Flags {
        std::string levels, layer, tech, input, out;
        int rows = 0, calibration_cells = 5;
        double scale = 0.0;
        bool unit_grid = false, drop_nonfinite = false;
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
    app->add_option("--input", flags->input, "Activations: report the MSE after mapping");
    app->add_flag("--drop-nonfinite", flags->drop_nonfinite, "Skip NaN/Inf in --input");
    app->add_option("--out", flags->out, "Output design JSON")->required();
    return {app, [flags] {
                const io::LevelSetRecord levels = io::read_levelset(flags->levels, flags->layer);
                const Technology tech = flags->tech.empty() ? Technology{} : io::read_technology(flags->tech);
                MappingOptions options;
                if (flags->rows > 0) options.rows = flags->rows;
                if (flags->scale > 0) options.scale_per_S = flags->scale;
                options.calibration_cells = flags->calibration_cells;
                options.unit_grid = flags->unit_grid;
                io::DesignRecord record;
                try {
                    record.design = map_levels(levels.set, tech, options);
                } catch (const UsageError&) {
                    throw;
                } catch (const Error& error) {
                    throw InputError(flags->levels, "", error.what());
                }
                const ReplicaDesign& d = record.design;
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
                if (!flags->input.empty()) {
                    ActivationLayer data(flags->input, "", flags->drop_nonfinite ? io::NonFinitePolicy::drop
                                                                                 : io::NonFinitePolicy::error);
                    LevelSet realized = d.levels;
                    realized.thresholds = d.realized_thresholds;
                    const auto scores = data.score({d.levels, realized});
                    record.before_mapping = scores[0];
                    record.after_mapping = scores[1];
                    std::cout << fmt::format("  MSE on {}: {:.6e} with the target thresholds, {:.6e} after mapping\n",
                                             data.label(), scores[0].mse, scores[1].mse);
                }
                const std::string hash = io::write_design(flags->out, record);
                std::cout << fmt::format("wrote {} (design hash {})\n", flags->out, hash.substr(0, 16));
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
                const auto [design, tech] = flags->design.load();
                const BehavioralAdc adc(design, tech, nominal_chip(design, tech), flags->design.options());
                const int code = adc.convert(flags->mac);
                const ConversionEnergy energy = adc.energy(flags->mac);
                std::cout << fmt::format("code {} level {:.6g} (MAC {:g}, output swing {:.4f} V, {} mode{})\n", code,
                                         adc.reconstruct(code), flags->mac, adc.mac_output_V(flags->mac),
                                         flags->design.mode, flags->design.ideal ? ", ideal" : "");
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
                const auto [design, tech] = flags->design.load();
                const BehavioralAdc adc(design, tech, nominal_chip(design, tech), flags->design.options());
                const std::vector<double> measured = adc.transition_levels();
                const double lsb = design.levels.lsb();
                std::string csv = "k,target,mapped,measured,error_lsb,mapping_error_lsb\n";
                double worst = 0;
                for (std::size_t k = 0; k < measured.size(); ++k) {
                    const double target = design.levels.thresholds[k];
                    const double error = (measured[k] - target) / lsb;
                    if (std::isfinite(error)) worst = std::max(worst, std::abs(error));
                    csv += fmt::format("{},{:.10g},{:.10g},{},{},{:.6g}\n", k + 1, target,
                                       design.realized_thresholds[k],
                                       std::isfinite(measured[k]) ? fmt::format("{:.10g}", measured[k]) : "unreachable",
                                       std::isfinite(error) ? fmt::format("{:.6g}", error) : "",
                                       design.threshold_error_lsb[k]);
                }
                io::write_file_atomic(flags->out, csv);
                std::cout << fmt::format("{} thresholds, max |measured - target| = {:.4f} LSB ({} mode{}); wrote {}\n",
                                         measured.size(), worst, flags->design.mode,
                                         flags->design.ideal ? ", ideal" : "", flags->out);
                if (!flags->plot.empty()) {
                    io::PlotSpec spec;
                    spec.title = fmt::format("Transfer curve: {} {} bits", method_label(design.levels), design.levels.bits);
                    spec.x_label = "MAC value (input units)";
                    spec.y_label = "output level";
                    spec.vertical_lines = design.levels.thresholds;
                    io::PlotSeries curve{"ADC output", {}, {}, "steps"};
                    io::PlotSeries ideal{"target level set", {}, {}, "steps"};
                    const double span = design.levels.hi - design.levels.lo;
                    for (int i = 0; i <= 800; ++i) {
                        const double v = design.levels.lo - 0.05 * span + 1.1 * span * i / 800;
                        curve.x.push_back(v);
                        curve.y.push_back(adc.reconstruct(adc.convert(v)));
                        ideal.x.push_back(v);
                        ideal.y.push_back(design.levels.quantize(v));
                    }
                    spec.series = {ideal, curve};
                    io::plot_png(spec, flags->plot);
                    std::cout << "wrote " << flags->plot << "\n";
                }
            }};
}

}  // namespace nladc::cli

#include "nladc/spice/netlist.hpp"

namespace nladc::cli {

Command add_netlist(CLI::App& parent)
{
    struct Flags {
        std::string design, tech, corner = "TT", circuits, out, kind = "conversion";
        double mac = 0.0, temperature = 27.0;
        bool inline_library = false;
        CLI::Option* mac_option = nullptr;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("netlist", "Write the ngspice testbench of a design (docs/spice.md)");
    app->add_option("--design", flags->design, "Design JSON written by `nladc map`")->required();
    app->add_option("--tech", flags->tech, "Technology JSON to use instead of the design's embedded one");
    flags->mac_option = app->add_option("--mac", flags->mac, "MAC value in input units (default: the range middle)");
    app->add_option("--corner", flags->corner, "Process corner")->check(CLI::IsMember({"TT", "FF", "SS"}))->capture_default_str();
    app->add_option("--temp", flags->temperature, "Temperature, C")->capture_default_str();
    app->add_option("--kind", flags->kind, "conversion | mac (MAC integrator only)")
        ->check(CLI::IsMember({"conversion", "mac"}));
    app->add_flag("--inline", flags->inline_library, "Paste the subcircuit library and model card (self-contained file)");
    app->add_option("--circuits", flags->circuits, "The circuits/ directory (default: found automatically)");
    app->add_option("--out", flags->out, "Output .cir file")->required();
    return {app, [flags] {
                io::DesignRecord record = io::read_design(flags->design);
                Technology tech = record.design.tech;
                if (!flags->tech.empty()) {
                    tech = io::read_technology(flags->tech);
                    size_sense(tech, record.design.levels.hi / record.design.scale_per_S);
                    note(fmt::format("using the technology of {} instead of the one embedded in {}", flags->tech,
                                     flags->design));
                }
                spice::NetlistOptions options;
                options.kind = flags->kind;
                options.mac_value = flags->mac_option->count() ? flags->mac
                                                               : 0.5 * (record.design.levels.lo + record.design.levels.hi);
                options.corner = flags->corner;
                options.temperature_C = flags->temperature;
                options.inline_library = flags->inline_library;
                options.circuits_dir = flags->circuits;
                options.design_hash = record.hash;
                const spice::Netlist net = spice::generate_netlist(record.design, tech,
                                                                   spice::nominal_spice_chip(record.design, tech), options);
                io::write_file_atomic(flags->out, net.text);
                std::cout << fmt::format("wrote {} ({} netlist, MAC {:g}, {} corner, {:.4g} ns)\n", flags->out,
                                         flags->kind, *options.mac_value, flags->corner, net.stop_time * 1e9);
            }};
}

}  // namespace nladc::cli
