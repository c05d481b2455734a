// Characterization and model export: characterize, export.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "nladc/steps/export.hpp"
#include "nladc/steps/study_steps.hpp"

namespace nladc::cli {

Command add_characterize(CLI::App& parent)
{
    struct Flags {
        DesignFlags design;
        std::string study, out;
        std::size_t ramp_points = 1000000;
        std::uint64_t noise_seed = 1;
        int stuck_off_step = 0;
        bool no_spice_energy = false;
        int workers = 2;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand(
        "characterize", "Transition levels (bisection and code density), INL/DNL, offset/gain, energy; "
                        "with --study, Monte Carlo statistics and yield");
    flags->design.add(*app);
    app->add_option("--study", flags->study, "An `nladc mc` output directory to aggregate");
    app->add_option("--ramp-points", flags->ramp_points, "Code-density ramp length")->check(CLI::Range(1000, 100000000));
    app->add_option("--noise-seed", flags->noise_seed, "Seed of the comparator noise in the noisy code-density ramp");
    app->add_option("--stuck-off-step", flags->stuck_off_step,
                    "Characterize a chip whose replica step K has a cell stuck off (K = 1 .. L-1)")
        ->check(CLI::Range(1, 1 << 20));
    app->add_flag("--no-spice-energy", flags->no_spice_energy,
                  "Skip the ngspice conversion that measures the energy per conversion block by block");
    app->add_option("--workers", flags->workers, "ngspice worker processes")->check(CLI::Range(1, 64));
    app->add_option("--out", flags->out, "Output directory")->required();
    return {app, [flags] {
                steps::CharacterizeRequest request;
                request.evaluation = flags->design.evaluation();
                CharacterizeOptions& options = request.options;
                options.ramp_points = flags->ramp_points;
                options.study_dir = flags->study;
                options.noise_seed = flags->noise_seed;
                options.stuck_off_step = flags->stuck_off_step;
                options.spice_energy = !flags->no_spice_energy;
                options.spice_workers = flags->workers;
                request.out = flags->out;
                note(fmt::format("characterize: bisection and a {}-point code-density ramp", options.ramp_points));
                const steps::CharacterizeResult result = steps::run_characterize(request);
                note_technology(result.technology_note);
                const Characterization& c = result.characterization;
                const LevelSet& set = c.design.levels;
                std::cout << fmt::format("{} bits {}, LSB {:.6g}: code density vs bisection max {:.4f} LSB\n", set.bits,
                                         set.method, set.lsb(), c.max_density_vs_bisection_lsb);
                std::cout << fmt::format("max |INL| {:.4f} LSB, max |DNL| {:.4f}, missing codes {}, offset {:.4g}, "
                                         "gain {:.5f}\n",
                                         c.linearity.max_abs_inl_lsb, c.linearity.max_abs_dnl,
                                         c.linearity.missing_codes.size(), c.offset, c.gain);
                std::cout << fmt::format("with comparator noise ({:.3g} mV, seed {}): missing codes [{}], narrow codes "
                                         "(< {} LSB) [{}]\n",
                                         c.noise_sigma_V * 1e3, c.noise_seed, fmt::join(c.missing_codes, ", "),
                                         kNarrowCodeLsb, fmt::join(c.narrow_codes, ", "));
                if (c.ieee)
                    std::cout << fmt::format("IEEE 1241 (linear level set): offset {:.4g}, gain {:.5f}\n", c.ieee->offset,
                                             c.ieee->gain);
                std::cout << fmt::format("energy {:.4g} pJ per conversion (mean over the range), latency {:.4g} ns\n",
                                         c.mean_energy_J * 1e12, c.mean_latency_s * 1e9);
                const ArrayLoad& load = result.array_load;
                if (load.background_columns)
                    std::cout << fmt::format("active array: {} other columns at {:.4g} µS per cell draw {:.3g} mA per "
                                             "column, {:.3g} mA per row driver at full drive\n",
                                             load.background_columns, load.cell_S * 1e6, load.column_current_A * 1e3,
                                             load.row_current_A * 1e3);
                if (c.spice_energy) {
                    std::cout << fmt::format("energy of one conversion at MAC {:.4g}: ngspice {:.4g} pJ, model {:.4g} pJ "
                                             "({:+.1f} %)\n",
                                             c.spice_energy->mac_value, c.spice_energy->total_J * 1e12,
                                             c.energy_mid.total_J * 1e12,
                                             100 * (c.energy_mid.total_J / c.spice_energy->total_J - 1));
                    for (const auto& term : c.spice_energy->terms) {
                        double model = 0;
                        for (const auto& m : c.energy_mid.terms)
                            if (m.name == term.name) model = m.joules;
                        std::cout << fmt::format("  {:<18} ngspice {:10.4g} pJ  model {:10.4g} pJ  ({})\n", term.name,
                                                 term.joules * 1e12, model * 1e12, term.source);
                    }
                    if (load.background_columns)
                        std::cout << fmt::format("  (the row drivers' {:.4g} pJ into the other columns are theirs: not "
                                                 "counted)\n",
                                                 c.spice_energy->background_J * 1e12);
                }
                if (c.study_trials)
                    std::cout << fmt::format("Monte Carlo: {} chips, yield {:.2f} % before trim, {:.2f} % after; SQNR "
                                             "{:.2f} dB mean (ideal level set {:.2f} dB)\n",
                                             c.study_trials, 100 * c.yield_before_trim, 100 * c.yield_after_trim,
                                             c.study_sqnr_mean_db, c.ideal_sqnr_db);
                std::cout << fmt::format("wrote {}/characterization.json, transition.csv, transfer.png, inl_dnl.png\n",
                                         flags->out);
            }};
}

Command add_export(CLI::App& parent)
{
    struct Flags {
        std::string from, format, out, name = "nladc_adc";
        std::optional<double> partial_sum_scale;
        bool check = false;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand("export", "Export a characterized ADC model (docs/export.md)");
    app->add_option("--from", flags->from, "An `nladc characterize` output directory")->required();
    app->add_option("--format", flags->format, "Model format")
        ->required()
        ->check(CLI::IsMember(export_format_names()));
    app->add_option("--out", flags->out, "Output file")->required();
    app->add_option("--name", flags->name, "Subcircuit / module name (spice, veriloga)");
    app->add_option("--partial-sum-scale", flags->partial_sum_scale,
                    "csv: input units per NeuroSim partial-sum count; row i is the input i * S (default: the "
                    "level set's LSB, (hi - lo) / 2^bits)");
    app->add_flag("--check", flags->check,
                  "spice: simulate the model in ngspice and compare its thresholds; json: read it back; csv: read "
                  "it back as DNN+NeuroSim V1.5 does and check its contract");
    return {app, [flags] {
                steps::ExportRequest request;
                request.from = flags->from;
                request.format = parse_export_format(flags->format);
                request.out = flags->out;
                request.name = flags->name;
                request.partial_sum_scale = flags->partial_sum_scale;
                request.check = flags->check;
                const steps::ExportResult result = steps::run_export(request);
                if (result.check && result.check->max_error_lsb >= 0)
                    std::cout << fmt::format("ngspice DC sweep of the model: max |T_spice - T_model| = {:.4f} LSB "
                                             "(sweep step {:g} LSB)\n",
                                             result.check->max_error_lsb, result.check->sweep_step_lsb);
                else if (result.check)
                    std::cout << result.check->verdict << "\n";
                if (request.format == ExportFormat::csv)
                    std::cout << fmt::format("partial sums 0..{}: partial sum i is the input i * {:g}\n",
                                             result.model.target.levels.size(),
                                             partial_sum_scale(result.model, {request.name, request.partial_sum_scale}));
                std::cout << fmt::format("wrote {} ({} model, thresholds: {})\n", flags->out, flags->format,
                                         result.model.source);
            }};
}

}  // namespace nladc::cli
