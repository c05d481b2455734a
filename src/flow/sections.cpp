// The flow report's sections (sections.hpp).
#include "sections.hpp"

#include <fmt/format.h>

#include "nladc/io/plot.hpp"
#include "nladc/quant/quantizer.hpp"

namespace nladc::flow_detail {

std::string link(const fs::path& root, const fs::path& file) { return fs::relative(file, root).generic_string(); }

namespace {

std::string image(const fs::path& root, const fs::path& png, const std::string& alt)
{
    return fmt::format("![{}]({})\n\n", alt, link(root, png));
}

std::string stats_cell(const ChipStats& stats)
{
    return fmt::format("{:.3f} / {:.3f} / {:.3f}", stats.mean, stats.p95, stats.max);
}

}  // namespace

std::string compare_section(const std::vector<ComparedLayer>& layers, const fs::path& root, const fs::path& dir)
{
    std::string section = "## Quantizer comparison\n\n";
    section += "MSE of every method on the data the levels were fit on; ratios are MSE / MSE(BS-KMQ) and "
               "MSE / MSE(exact k-means), the minimum-MSE quantizer on that data (docs/levels.md).\n\n";
    for (const ComparedLayer& compared : layers) {
        if (layers.size() > 1) section += fmt::format("### {}\n\n", compared.title);
        section += fmt::format("{} samples. \n\n", compared.layer.samples);
        section += "| bits | method | MSE | SQNR (dB) | / BS-KMQ | / k-means | empty codes |\n|---|---|---|---|---|---|---|\n";
        for (const CompareRow& r : compared.layer.rows)
            section += fmt::format("| {} | {} | {:.4e} | {:.2f} | {:.3f} | {:.3f} | {} |\n", r.bits, method_label(r.set),
                                   r.fit.mse, r.fit.sqnr_db, r.ratio_to_bskmq, r.ratio_to_kmeans, r.set.empty_codes.size());
        section += "\n";
    }
    section += image(root, dir / "compare.png", "MSE versus bits per method");
    section += fmt::format("Table: [{}]({})\n\n", "compare.csv", link(root, dir / "compare.csv"));
    return section;
}

std::string levels_section(const std::string& title, const DesignedLevels& designed, const fs::path& root,
                           const fs::path& dir)
{
    const LevelSet& set = designed.set;
    std::string s = fmt::format("## Level set ({})\n\n", title);
    s += fmt::format("{} bits, {}, range [{:g}, {:g}], LSB {:.6g}: MSE {:.4e}, SQNR {:.2f} dB. File: [{}]({})\n\n",
                     set.bits, method_label(set), set.lo, set.hi, set.lsb(), designed.metrics.mse,
                     designed.metrics.sqnr_db, "levels.json", link(root, dir / "levels.json"));
    s += "| code | level | threshold into it |\n|---|---|---|\n";
    for (std::size_t k = 0; k < set.levels.size(); ++k)
        s += fmt::format("| {} | {:.6g} | {} |\n", k, set.levels[k], k ? fmt::format("{:.6g}", set.thresholds[k - 1]) : "–");
    return s + "\n";
}

std::string mapping_section(const std::string& title, const steps::MapResult& mapped, const fs::path& root,
                            const fs::path& dir)
{
    const ReplicaDesign& d = mapped.record.design;
    const auto& compensated = mapped.compensation;
    std::string s = fmt::format("## Replica column ({})\n\n", title);
    s += fmt::format("Scale {:.6g} input units per µS ({}); {} cells in a {}-row column (steps, calibration spares and "
                     "load cells). MSE {:.4e} with the target thresholds, {:.4e} after mapping. Design: [{}]({}), hash "
                     "`{}`.\n\n",
                     d.scale_per_S * 1e-6, d.scale_rule, d.cells.size(), d.rows_available,
                     mapped.record.before_mapping->mse, mapped.record.after_mapping->mse, "design.json",
                     link(root, dir / "design.json"), mapped.record.hash.substr(0, 16));
    if (compensated)
        s += "Compensated: the steps are pre-distorted so that the nominal behavioral model (IR drop, integrators, "
             "comparator) lands on the targets; *ideal circuit* is where an ideal circuit would put the programmed "
             "steps.\n\n";
    s += compensated ? "| k | target T[k] | ideal circuit | pre-distortion (LSB) | model error before (LSB) | model "
                       "error after (LSB) | step cells | step conductance (µS) |\n|---|---|---|---|---|---|---|---|\n"
                     : "| k | target T[k] | realized | error (LSB) | step cells | step conductance (µS) |\n"
                       "|---|---|---|---|---|---|\n";
    for (std::size_t k = 0; k < d.realized_thresholds.size(); ++k) {
        int cells = 0;
        double conductance = 0;
        for (const ReplicaCell& c : d.cells)
            if (c.step == static_cast<int>(k) + 1) {
                ++cells;
                conductance += c.target_S;
            }
        const std::string model_columns =
            compensated ? fmt::format(" {:+.3f} | {:+.3f} |", compensated->before_lsb[k], compensated->after_lsb[k]) : "";
        s += fmt::format("| {} | {:.6g} | {:.6g} | {:+.3f} |{} {} | {:.2f} |\n", k + 1, d.levels.thresholds[k],
                         d.realized_thresholds[k], d.threshold_error_lsb[k], model_columns, cells, conductance * 1e6);
    }
    for (const std::string& n : d.notes) s += "\nNote: " + n + "\n";
    return s + "\n";
}

std::string netlist_section(const FlowConfig& config, double mac, const fs::path& root, const fs::path& dir)
{
    std::string s = "## Netlists\n\n";
    s += fmt::format("Self-contained ngspice testbenches (`ngspice -b FILE`): one conversion at MAC {:g} "
                     "([conversion.cir]({})), and the MAC integrator alone ([mac.cir]({})); {} corner, {:g} °C.\n\n",
                     mac, link(root, dir / "conversion.cir"), link(root, dir / "mac.cir"), config.spice.corner,
                     config.spice.temperature_C);
    return s;
}

std::string calibration_section(const FlowConfig& config, const CalibrationReport& r, const fs::path& root,
                                const fs::path& dir)
{
    io::PlotSpec plot;
    plot.title = "Behavioral model against ngspice, per threshold";
    plot.x_label = "threshold k";
    plot.y_label = "|T_behavioral - T_spice| (LSB)";
    io::PlotSeries before{"before calibration", {}, {}, "linespoints"}, after{"after calibration", {}, {}, "linespoints"};
    for (std::size_t k = 0; k < r.thresholds.size(); ++k) {
        before.x.push_back(static_cast<double>(k + 1));
        before.y.push_back(r.thresholds[k].before_error_lsb);
        after.x.push_back(static_cast<double>(k + 1));
        after.y.push_back(r.thresholds[k].after_error_lsb);
    }
    plot.series = {before, after};
    io::plot_png(plot, dir / "calibration.png");

    std::string s = "## Behavioral model against SPICE\n\n";
    s += fmt::format("Transition levels of the circuit in ngspice ({} corner, {:g} °C; {} simulations, {:.0f} s) against "
                     "the behavioral model, fitted parameters {} ([calibrated.json]({})).\n\n",
                     config.spice.corner, config.spice.temperature_C, r.simulations, r.wall_s,
                     fmt::join(r.fitted, ", "), link(root, dir / "calibrated.json"));
    s += fmt::format("The {} circuit; the behavioral model uses the block parameters extracted from its own "
                     "testbenches, then the fit. SPICE thresholds are known to {:.4f} LSB (bracket {:.4f}, simulator "
                     "tolerances {:.4f}; {} of {} thresholds bracketed on full conversions, the others from the fast "
                     "extractor).\n\n",
                     r.circuit, r.spice_resolution_lsb, r.bisection_bracket_lsb, r.tolerance_resolution_lsb,
                     r.thresholds_checked.size(), r.thresholds.size());
    s += "| quantity | value |\n|---|---|\n";
    s += fmt::format("| max \\|T_behav − T_spice\\|, nominal technology | {:.4f} LSB |\n", r.max_threshold_error_lsb_nominal);
    s += fmt::format("| max \\|T_behav − T_spice\\|, extracted block parameters | {:.4f} LSB |\n",
                     r.max_threshold_error_lsb_before);
    s += fmt::format("| max \\|T_behav − T_spice\\|, after the fit | {:.4f} LSB |\n", r.max_threshold_error_lsb_after);
    s += fmt::format("| fit | {} |\n", r.fit.verdict);
    for (const ValidationResult& v : r.validation)
        s += fmt::format("| validation, {} ({} {} b, {} {:g} °C; block parameters {}) | {:.4f} → {:.4f} LSB |\n", v.name,
                         v.method, v.bits, v.corner, v.temperature_C, v.block_parameters, v.max_threshold_error_lsb_before,
                         v.max_threshold_error_lsb_after);
    if (r.agreement_samples || r.agreement_near)
        s += fmt::format("| code agreement: > 0.2 LSB from a threshold / within 0.2 LSB | {:.1f} % of {} / {:.1f} % of "
                         "{} |\n",
                         100 * r.code_agreement, r.agreement_filtered, 100 * r.code_agreement_near, r.agreement_near);
    if (r.speedup > 0)
        s += fmt::format("| speed-up (SPICE on one worker): per conversion / with setup / per chip | {:.3g}× / {:.3g}× / "
                         "{:.3g}× |\n",
                         r.speedup, r.speedup_per_conversion_with_setup, r.speedup_per_chip);
    for (const AblationEntry& a : r.ablation)
        s += fmt::format("| ablation, {} alone: SPICE vs target | {:.3f} LSB |\n", a.nonideality, a.max_spice_error_lsb);
    s += "\n" + image(root, dir / "calibration.png", "threshold error before and after calibration");
    return s;
}

std::string monte_carlo_section(const StudySpec& spec, const steps::McResult& result, const fs::path& root,
                                const fs::path& dir)
{
    const double lsb = result.lsb;
    const McSummary& summary = *result.summary;
    std::string s = "## Monte Carlo\n\n";
    s += fmt::format("{} chips (seed {}; [trials.csv]({}), [summary.json]({})): programming error, stuck cells, read "
                     "noise, comparator offset, V_read and wire spread as in [study.json]({}).\n\n",
                     spec.trials, spec.seed, link(root, dir / "trials.csv"), link(root, dir / "summary.json"),
                     link(root, dir / "study.json"));
    s += "| quantity | before trim | after trim |\n|---|---|---|\n";
    s += fmt::format("| yield (\\|INL\\| ≤ {:g} LSB, \\|DNL\\| ≤ {:g}, no missing code) | {:.2f} % | {:.2f} % |\n",
                     spec.trim.inl_spec_lsb, spec.trim.dnl_spec, 100 * summary.yield_before_trim,
                     100 * summary.yield_after_trim);
    s += fmt::format("| chips with missing codes | {} | {} |\n", summary.missing_codes_before_trim,
                     summary.missing_codes_after_trim);
    s += fmt::format("| max \\|INL\\| (LSB): mean / p95 / max | {} | {} |\n", stats_cell(summary.max_abs_inl_lsb.before_trim),
                     stats_cell(summary.max_abs_inl_lsb.after_trim));
    s += fmt::format("| max \\|DNL\\|: mean / p95 / max | {} | {} |\n", stats_cell(summary.max_abs_dnl.before_trim),
                     stats_cell(summary.max_abs_dnl.after_trim));
    s += fmt::format("| SQNR (dB), mean; ideal level set {:.2f} dB | {:.2f} | {:.2f} |\n\n", summary.ideal_sqnr_db,
                     summary.sqnr_db.before_trim.mean, summary.sqnr_db.after_trim.mean);
    s += "| k | target | mean | σ (LSB) | mean error (LSB) |\n|---|---|---|---|---|\n";
    for (const McThresholdSummary& th : summary.thresholds)
        s += fmt::format("| {} | {:.5g} | {:.5g} | {:.3f} | {:+.3f} |\n", th.k, th.target, th.mean, th.sigma_lsb,
                         th.mean_error_lsb);
    s += "\n" + image(root, dir / "threshold_histograms.png", "Monte Carlo histograms of T[k]");
    s += image(root, dir / "yield.png", "yield before and after trim");
    if (const auto& spice = result.spice) {
        s += fmt::format("### SPICE Monte Carlo\n\nThe first {} chips, their very samples written into netlists: max "
                         "\\|T_behav − T_spice\\| = {:.4f} LSB ({} simulations, {:.0f} s; [spice_mc.csv]({})).\n\n",
                         spice->trials.size(), spice->max_difference_lsb, spice->simulations, spice->wall_s,
                         link(root, dir / "spice_mc.csv"));
        for (const auto& [trial, error] : spice->failed)
            s += fmt::format("Chip {} failed in SPICE and is left out: {}\n\n", trial, error);
        s += "| k | σ behavioral (LSB) | σ SPICE (LSB) | KS statistic |\n|---|---|---|---|\n";
        for (std::size_t k = 0; k < spice->thresholds.size(); ++k) {
            const SpiceMcThreshold& t = spice->thresholds[k];
            s += fmt::format("| {} | {:.3f} | {:.3f} | {:.2f} |\n", k + 1, t.behavioral_sigma / lsb, t.spice_sigma / lsb,
                             t.ks_statistic);
        }
        s += "\n" + image(root, dir / "spice_mc.png", "sigma of T[k], behavioral and SPICE");
    }
    return s;
}

std::string characterization_section(const Characterization& c, const ArrayLoad& load, bool calibrated,
                                     std::size_t ramp_points, const fs::path& root, const fs::path& dir)
{
    std::string s = "## Characterization\n\n";
    s += fmt::format("Nominal chip{}: transition levels by bisection and a {}-point code-density ramp (max difference "
                     "{:.4f} LSB), [characterization.json]({}), [transition.csv]({}).\n\n",
                     calibrated ? " (calibrated model)" : "", ramp_points, c.max_density_vs_bisection_lsb,
                     link(root, dir / "characterization.json"), link(root, dir / "transition.csv"));
    s += "| quantity | value |\n|---|---|\n";
    s += fmt::format("| max \\|INL\\| (nonlinear, against the target thresholds) | {:.3f} LSB |\n", c.linearity.max_abs_inl_lsb);
    s += fmt::format("| max \\|DNL\\| | {:.3f} |\n", c.linearity.max_abs_dnl);
    s += fmt::format("| missing codes | {} |\n", c.linearity.missing_codes.size());
    s += fmt::format("| with comparator noise ({:.2g} mV): missing / narrow (< {} LSB) codes | {} / {} |\n",
                     c.noise_sigma_V * 1e3, kNarrowCodeLsb, c.missing_codes.size(), c.narrow_codes.size());
    if (c.spice_energy)
        s += fmt::format("| energy per conversion at MAC {:.3g}: ngspice (transistor level) / model | {:.4g} / {:.4g} pJ "
                         "({:+.1f} %) |\n",
                         c.spice_energy->mac_value, c.spice_energy->total_J * 1e12, c.energy_mid.total_J * 1e12,
                         100 * (c.energy_mid.total_J / c.spice_energy->total_J - 1));
    s += load.background_columns
             ? fmt::format("| active array: other columns / cell conductance / current per column and per row driver at "
                           "full drive | {} / {:.1f} µS / {:.3g} mA, {:.3g} mA |\n",
                           load.background_columns, load.cell_S * 1e6, load.column_current_A * 1e3,
                           load.row_current_A * 1e3)
             : "| active array | idle (background_conductance_S = 0) |\n";
    s += fmt::format("| offset / gain (least squares, measured vs target) | {:.4g} / {:.4f} |\n", c.offset, c.gain);
    if (c.ieee)
        s += fmt::format("| IEEE 1241 offset / gain (linear level set) | {:.4g} / {:.5f} |\n", c.ieee->offset, c.ieee->gain);
    s += fmt::format("| energy per conversion (mean over the range) | {:.3g} pJ |\n", c.mean_energy_J * 1e12);
    s += fmt::format("| latency per conversion | {:.3g} ns |\n", c.mean_latency_s * 1e9);
    if (c.study_trials)
        s += fmt::format("| Monte Carlo: yield before / after trim | {:.2f} % / {:.2f} % |\n"
                         "| Monte Carlo: SQNR mean / 5th percentile (ideal {:.2f} dB) | {:.2f} / {:.2f} dB |\n",
                         100 * c.yield_before_trim, 100 * c.yield_after_trim, c.ideal_sqnr_db, c.study_sqnr_mean_db,
                         c.study_sqnr_p5_db);
    s += "\n" + image(root, dir / "transfer.png", "transfer curve with the target levels");
    s += image(root, dir / "inl_dnl.png", "INL and DNL per code");
    return s;
}

std::string export_section(const AdcModel& model, const std::vector<steps::ExportedFile>& files, const fs::path& root,
                           const fs::path& dir)
{
    std::string s = "## Exported models\n\n";
    s += fmt::format("Thresholds: {}{}.\n\n", model.source,
                     model.trials ? fmt::format(" over {} chips (seed {})", model.trials, model.seed) : "");
    s += "| format | file | check |\n|---|---|---|\n";
    for (const steps::ExportedFile& file : files)
        s += fmt::format("| {} | [{}]({}) | {} |\n", file.format->name, file.file, link(root, dir / file.file), file.check);
    return s + "\n";
}

std::string area_section(const AreaReport& report, const fs::path& root, const fs::path& dir)
{
    std::string s = "## Area, energy and latency against other ADCs\n\n";
    s += "Per column; formulas and sources in docs/area.md. Ratios are ours / the other ADC.\n\n";
    s += area_table_markdown(report) + "\n";
    s += image(root, dir / "area.png", "area per column versus bits");
    return s;
}

}  // namespace nladc::flow_detail
