#include "nladc/flow/flow.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "nladc/area/area.hpp"
#include "nladc/characterize/characterize.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/sha256.hpp"
#include "nladc/core/version.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/dnn/study.hpp"
#include "nladc/documents/calibration_file.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/export/export.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/montecarlo/engine.hpp"
#include "nladc/spice/netlist.hpp"
#include "nladc/study/calibration.hpp"
#include "nladc/study/compare.hpp"
#include "nladc/study/compensation.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// Runs stages, skipping those whose key and outputs are on disk (see flow.hpp).
class StageRunner {
public:
    StageRunner(const fs::path& root, const FlowOptions& options, FlowResult& result)
        : root_(root), options_(options), result_(result)
    {
    }

    /// Returns the stage key. `resumable` stages keep their directory when an earlier
    /// run with the same key stopped midway (the Monte Carlo blocks).
    std::string run(const std::string& name, const fs::path& dir, const std::string& key_material,
                    const std::function<void()>& work, bool resumable = false)
    {
        const std::string key = sha256_hex(fmt::format("{}\n{}\n{}", name, version(), key_material));
        const fs::path stamp = dir / "stage.json";
        const auto start = Clock::now();
        FlowStageRun record{name, fs::relative(dir, root_).string(), false, 0.0};
        io::Json previous;
        if (fs::exists(stamp)) {
            try {
                previous = io::read_json_file(stamp);
            } catch (const Error&) {
                previous = io::Json();  // an unreadable stamp: redo the stage
            }
        }
        const bool same_key = previous.is_object() && previous.value("key", std::string()) == key;
        if (!options_.force && same_key && previous.value("complete", false) && fs::exists(dir / "section.md")) {
            record.reused = true;
            record.seconds = previous.value("seconds", 0.0);
            note(fmt::format("{}: reused ({})", name, record.directory));
        } else {
            if (!(resumable && same_key && !options_.force)) fs::remove_all(dir);
            fs::create_directories(dir);
            write_stamp(stamp, name, key, false, 0.0);
            note(fmt::format("{}: running ({})", name, record.directory));
            work();
            record.seconds = seconds_since(start);
            write_stamp(stamp, name, key, true, record.seconds);
            note(fmt::format("{}: done in {:.1f} s", name, record.seconds));
        }
        result_.stages.push_back(record);
        sections_.push_back(dir / "section.md");
        return key;
    }

    void note(const std::string& message) const
    {
        if (options_.progress)
            options_.progress(fmt::format("flow [{:6.1f} s] {}", seconds_since(started_), message));
    }
    const std::vector<fs::path>& sections() const { return sections_; }

private:
    static void write_stamp(const fs::path& stamp, const std::string& name, const std::string& key, bool complete,
                            double seconds)
    {
        io::OrderedJson j;
        j["stage"] = name;
        j["key"] = key;
        j["complete"] = complete;
        j["seconds"] = seconds;
        j["nladc_version"] = std::string(version());
        io::write_file_atomic(stamp, io::dump_json(j));
    }

    fs::path root_;
    const FlowOptions& options_;
    FlowResult& result_;
    std::vector<fs::path> sections_;
    Clock::time_point started_ = Clock::now();
};

/// A path relative to the report's directory, for Markdown links.
std::string link(const fs::path& root, const fs::path& file) { return fs::relative(file, root).generic_string(); }

std::string image(const fs::path& root, const fs::path& png, const std::string& alt)
{
    return fmt::format("![{}]({})\n\n", alt, link(root, png));
}

/// One designed layer: where its stages live and what they produced.
struct LayerPaths {
    std::string name;       ///< npz member, or "" for a single-array file
    fs::path activations;   ///< a file holding only this layer's samples
    fs::path root;          ///< DIR, or DIR/layers/<name>
    std::string title() const { return name.empty() ? std::string("the activations") : "layer " + name; }
};

SummaryOptions summary_options(const FlowConfig& config)
{
    SummaryOptions s;
    if (config.range_given) {
        s.lo = config.lo;
        s.hi = config.hi;
    }
    return s;
}

io::NonFinitePolicy policy(const FlowConfig& config)
{
    return config.drop_nonfinite ? io::NonFinitePolicy::drop : io::NonFinitePolicy::error;
}

// ---------------------------------------------------------------------------------------
// Stages. Each writes its artifacts and section.md into `dir`.

void compare_stage(const FlowConfig& config, const std::vector<LayerPaths>& layers, const fs::path& root,
                   const fs::path& dir)
{
    CompareOptions options;
    options.bits = config.compare_bits;
    options.summary = summary_options(config);
    std::string csv, section = "## Quantizer comparison\n\n";
    section += "MSE of every method on the data the levels were fit on; ratios are MSE / MSE(BS-KMQ) and "
               "MSE / MSE(exact k-means), the minimum-MSE quantizer on that data (docs/levels.md).\n\n";
    std::vector<CompareRow> all;
    for (const LayerPaths& layer : layers) {
        ActivationLayer data(layer.activations, "", policy(config));
        const auto rows = compare_methods(data, nullptr, options);
        csv += compare_to_csv(rows, layer.name, csv.empty());
        all.insert(all.end(), rows.begin(), rows.end());
        if (layers.size() > 1) section += fmt::format("### {}\n\n", layer.title());
        section += fmt::format("{} samples. \n\n", data.samples());
        section += "| bits | method | MSE | SQNR (dB) | / BS-KMQ | / k-means | empty codes |\n|---|---|---|---|---|---|---|\n";
        for (const CompareRow& r : rows)
            section += fmt::format("| {} | {} | {:.4e} | {:.2f} | {:.3f} | {:.3f} | {} |\n", r.bits, method_label(r.set),
                                   r.fit.mse, r.fit.sqnr_db, r.ratio_to_bskmq, r.ratio_to_kmeans, r.set.empty_codes.size());
        section += "\n";
    }
    io::write_file_atomic(dir / "compare.csv", csv);
    plot_compare(all, "Quantization MSE versus ADC bits", dir / "compare.png");
    section += image(root, dir / "compare.png", "MSE versus bits per method");
    section += fmt::format("Table: [{}]({})\n\n", "compare.csv", link(root, dir / "compare.csv"));
    io::write_file_atomic(dir / "section.md", section);
}

void levels_stage(const FlowConfig& config, const LayerPaths& layer, const fs::path& root, const fs::path& dir)
{
    ActivationLayer data(layer.activations, "", policy(config));
    QuantizerOptions q;
    q.bits = config.bits;
    q.method = config.method;
    q.variant = config.variant;
    const DesignedLevels designed = design_levels(data, q, summary_options(config));
    io::write_levelsets(dir / "levels.json", {{"", {designed.set, designed.input, designed.metrics}}});
    const LevelSet& set = designed.set;
    std::string s = fmt::format("## Level set ({})\n\n", layer.title());
    s += fmt::format("{} bits, {}, range [{:g}, {:g}], LSB {:.6g}: MSE {:.4e}, SQNR {:.2f} dB. File: [{}]({})\n\n",
                     set.bits, method_label(set), set.lo, set.hi, set.lsb(), designed.metrics.mse,
                     designed.metrics.sqnr_db, "levels.json", link(root, dir / "levels.json"));
    s += "| code | level | threshold into it |\n|---|---|---|\n";
    for (std::size_t k = 0; k < set.levels.size(); ++k)
        s += fmt::format("| {} | {:.6g} | {} |\n", k, set.levels[k], k ? fmt::format("{:.6g}", set.thresholds[k - 1]) : "–");
    io::write_file_atomic(dir / "section.md", s + "\n");
}

std::string mapping_stage(const FlowConfig& config, const LayerPaths& layer, const fs::path& root,
                          const fs::path& levels_dir, const fs::path& dir)
{
    const io::LevelSetRecord levels = io::read_levelset(levels_dir / "levels.json");
    const Technology tech = config.technology.empty() ? Technology{} : io::read_technology(config.technology);
    MappingOptions options;
    options.calibration_cells = config.calibration_cells;
    io::DesignRecord record;
    std::optional<CompensationResult> compensated;
    if (config.compensate) {
        compensated = compensate_mapping(levels.set, tech, options);
        record.design = compensated->design;
    } else {
        record.design = map_levels(levels.set, tech, options);
    }
    const ReplicaDesign& d = record.design;
    ActivationLayer data(layer.activations, "", policy(config));
    // After mapping: what the circuit realizes (the nominal model's thresholds when compensated).
    LevelSet realized = d.levels;
    realized.thresholds = compensated ? compensated->model_thresholds : d.realized_thresholds;
    const auto scores = data.score({d.levels, realized});
    record.before_mapping = scores[0];
    record.after_mapping = scores[1];
    const std::string hash = io::write_design(dir / "design.json", record);

    std::string s = fmt::format("## Replica column ({})\n\n", layer.title());
    s += fmt::format("Scale {:.6g} input units per µS ({}); {} cells in a {}-row column (steps, calibration spares and "
                     "load cells). MSE {:.4e} with the target thresholds, {:.4e} after mapping. Design: [{}]({}), hash "
                     "`{}`.\n\n",
                     d.scale_per_S * 1e-6, d.scale_rule, d.cells.size(), d.rows_available, scores[0].mse, scores[1].mse,
                     "design.json", link(root, dir / "design.json"), hash.substr(0, 16));
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
    io::write_file_atomic(dir / "section.md", s + "\n");
    return hash;
}

void netlist_stage(const FlowConfig& config, const fs::path& root, const fs::path& design_file, const fs::path& dir)
{
    const io::DesignRecord record = io::read_design(design_file);
    const ReplicaDesign& d = record.design;
    spice::NetlistOptions options;
    options.corner = config.spice.corner;
    options.temperature_C = config.spice.temperature_C;
    options.circuit = config.spice.circuit;
    options.inline_library = true;
    options.design_hash = record.hash;
    options.mac_value = 0.5 * (d.levels.lo + d.levels.hi);
    const spice::Netlist net = spice::generate_netlist(d, d.tech, spice::nominal_spice_chip(d, d.tech), options);
    io::write_file_atomic(dir / "conversion.cir", net.text);
    options.kind = "mac";
    const spice::Netlist mac = spice::generate_netlist(d, d.tech, spice::nominal_spice_chip(d, d.tech), options);
    io::write_file_atomic(dir / "mac.cir", mac.text);
    std::string s = "## Netlists\n\n";
    s += fmt::format("Self-contained ngspice testbenches (`ngspice -b FILE`): one conversion at MAC {:g} "
                     "([conversion.cir]({})), and the MAC integrator alone ([mac.cir]({})); {} corner, {:g} °C.\n\n",
                     *options.mac_value, link(root, dir / "conversion.cir"), link(root, dir / "mac.cir"),
                     config.spice.corner, config.spice.temperature_C);
    io::write_file_atomic(dir / "section.md", s);
}

/// "a, b,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text)
{
    std::vector<std::string> items;
    std::string item;
    for (char c : text + ",") {
        if (c == ',') {
            if (!item.empty()) items.push_back(item);
            item.clear();
        } else if (c != ' ') {
            item += c;
        }
    }
    return items;
}

void calibration_stage(const FlowConfig& config, const fs::path& root, const fs::path& design_file, const fs::path& dir,
                       const StageRunner& runner)
{
    const io::DesignRecord record = io::read_design(design_file);
    const Technology& tech = record.design.tech;
    CalibrationOptions options;
    options.netlist.corner = config.spice.corner;
    options.netlist.temperature_C = config.spice.temperature_C;
    options.netlist.design_hash = record.hash;
    options.netlist.circuit = config.spice.circuit;
    options.agreement_samples = config.spice.agreement_samples;
    options.near_threshold_samples = config.spice.near_threshold_samples;
    options.bisection_thresholds = config.spice.bisection_thresholds;
    options.validations = split_list(config.spice.validations);
    options.ablation = config.spice.ablation;
    options.workers = config.spice.workers;
    options.progress = [&runner](const std::string& message) { runner.note("calibration: " + message); };
    const CalibrationReport r = calibrate(record.design, tech, std::nullopt, options);
    io::write_calibration(dir / "calibrated.json", r, {record.hash, config.spice.corner, config.spice.temperature_C});

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
    io::write_file_atomic(dir / "section.md", s);
}

std::string stats_cell(const io::Json& stats)
{
    return fmt::format("{:.3f} / {:.3f} / {:.3f}", stats.at("mean").get<double>(), stats.at("p95").get<double>(),
                       stats.at("max").get<double>());
}

void monte_carlo_stage(const FlowConfig& config, const fs::path& root, const StudySpec& spec, const fs::path& dir,
                       const StageRunner& runner)
{
    const MonteCarlo engine(load_study_inputs(spec));
    RunOptions options;
    options.threads = config.threads > 0 ? config.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    double last_note = -10;
    options.progress = [&](std::uint64_t done, std::uint64_t total, double seconds) {
        if (seconds - last_note < 5 && done < total) return;
        last_note = seconds;
        runner.note(fmt::format("monte carlo: {}/{} trials, {:.0f}/s", done, total, seconds > 0 ? done / seconds : 0.0));
    };
    const RunOutcome outcome = run_blocks(engine, dir, options);
    if (!outcome.complete) throw Error(fmt::format("{}: the Monte Carlo study did not complete", dir.string()));
    merge_blocks({dir}, dir);
    std::optional<SpiceMcResult> spice;
    if (spec.spice.trials > 0)
        spice = run_spice_mc(engine, spec.spice.trials, dir, [&runner](int done, int total) {
            runner.note(fmt::format("SPICE monte carlo: {}/{} chips", done, total));
        });

    const io::Json summary = io::read_json_file(dir / "summary.json");
    std::string s = "## Monte Carlo\n\n";
    s += fmt::format("{} chips (seed {}; [trials.csv]({}), [summary.json]({})): programming error, stuck cells, read "
                     "noise, comparator offset, V_read and wire spread as in [study.json]({}).\n\n",
                     spec.trials, spec.seed, link(root, dir / "trials.csv"), link(root, dir / "summary.json"),
                     link(root, dir / "study.json"));
    s += "| quantity | before trim | after trim |\n|---|---|---|\n";
    s += fmt::format("| yield (\\|INL\\| ≤ {:g} LSB, \\|DNL\\| ≤ {:g}, no missing code) | {:.2f} % | {:.2f} % |\n",
                     spec.trim.inl_spec_lsb, spec.trim.dnl_spec, 100 * summary.at("yield_before_trim").get<double>(),
                     100 * summary.at("yield_after_trim").get<double>());
    s += fmt::format("| chips with missing codes | {} | {} |\n",
                     summary.at("chips_with_missing_codes").at("before_trim").get<long long>(),
                     summary.at("chips_with_missing_codes").at("after_trim").get<long long>());
    s += fmt::format("| max \\|INL\\| (LSB): mean / p95 / max | {} | {} |\n",
                     stats_cell(summary.at("max_abs_inl_lsb").at("before_trim")),
                     stats_cell(summary.at("max_abs_inl_lsb").at("after_trim")));
    s += fmt::format("| max \\|DNL\\|: mean / p95 / max | {} | {} |\n", stats_cell(summary.at("max_abs_dnl").at("before_trim")),
                     stats_cell(summary.at("max_abs_dnl").at("after_trim")));
    s += fmt::format("| SQNR (dB), mean; ideal level set {:.2f} dB | {:.2f} | {:.2f} |\n\n",
                     summary.at("ideal").at("sqnr_db").get<double>(),
                     summary.at("sqnr_db").at("before_trim").at("mean").get<double>(),
                     summary.at("sqnr_db").at("after_trim").at("mean").get<double>());
    s += "| k | target | mean | σ (LSB) | mean error (LSB) |\n|---|---|---|---|---|\n";
    for (const auto& th : summary.at("thresholds"))
        s += fmt::format("| {} | {:.5g} | {:.5g} | {:.3f} | {:+.3f} |\n", th.at("k").get<int>(), th.at("target").get<double>(),
                         th.at("mean").get<double>(), th.at("sigma_lsb").get<double>(),
                         th.at("mean_error_lsb").get<double>());
    s += "\n" + image(root, dir / "threshold_histograms.png", "Monte Carlo histograms of T[k]");
    s += image(root, dir / "yield.png", "yield before and after trim");
    if (spice) {
        s += fmt::format("### SPICE Monte Carlo\n\nThe first {} chips, their very samples written into netlists: max "
                         "\\|T_behav − T_spice\\| = {:.4f} LSB ({} simulations, {:.0f} s; [spice_mc.csv]({})).\n\n",
                         spice->trials.size(), spice->max_difference_lsb, spice->simulations, spice->wall_s,
                         link(root, dir / "spice_mc.csv"));
        for (const auto& [trial, error] : spice->failed)
            s += fmt::format("Chip {} failed in SPICE and is left out: {}\n\n", trial, error);
        s += "| k | σ behavioral (LSB) | σ SPICE (LSB) | KS statistic |\n|---|---|---|---|\n";
        const double lsb = engine.inputs().design.levels.lsb();
        for (std::size_t k = 0; k < spice->thresholds.size(); ++k) {
            const SpiceMcThreshold& t = spice->thresholds[k];
            s += fmt::format("| {} | {:.3f} | {:.3f} | {:.2f} |\n", k + 1, t.behavioral_sigma / lsb, t.spice_sigma / lsb,
                             t.ks_statistic);
        }
        s += "\n" + image(root, dir / "spice_mc.png", "sigma of T[k], behavioral and SPICE");
    }
    io::write_file_atomic(dir / "section.md", s);
}

void characterize_stage(const FlowConfig& config, const fs::path& root, const fs::path& design_file,
                        const fs::path& calibration_file, const fs::path& study_dir, const fs::path& dir)
{
    const io::DesignRecord record = io::read_design(design_file);
    CharacterizeOptions options;
    if (!calibration_file.empty()) options.adc.calibration = io::read_calibration(calibration_file);
    options.ramp_points = static_cast<std::size_t>(config.ramp_points);
    options.study_dir = study_dir.string();
    options.spice_energy = config.spice.enabled && config.spice.circuit == "transistor";
    options.spice_workers = config.spice.workers;
    const Characterization c = characterize(record.design, record.design.tech, record.hash, options);
    write_characterization(c, dir);
    std::string s = "## Characterization\n\n";
    s += fmt::format("Nominal chip{}: transition levels by bisection and a {}-point code-density ramp (max difference "
                     "{:.4f} LSB), [characterization.json]({}), [transition.csv]({}).\n\n",
                     calibration_file.empty() ? "" : " (calibrated model)", options.ramp_points,
                     c.max_density_vs_bisection_lsb, link(root, dir / "characterization.json"),
                     link(root, dir / "transition.csv"));
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
    const ArrayLoad load = array_load(record.design.tech);
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
    io::write_file_atomic(dir / "section.md", s);
}

void export_stage(const FlowConfig& config, const fs::path& root, const fs::path& characterization_dir,
                  const fs::path& dir)
{
    const AdcModel model = model_from_characterization(characterization_dir);
    std::string s = "## Exported models\n\n";
    s += fmt::format("Thresholds: {}{}.\n\n", model.source,
                     model.trials ? fmt::format(" over {} chips (seed {})", model.trials, model.seed) : "");
    s += "| format | file | check |\n|---|---|---|\n";
    for (const std::string& format : config.exports) {
        std::string text, file, check;
        if (format == "json") {
            text = model_json(model);
            file = "adc_model.json";
        } else if (format == "csv") {
            text = model_csv(model);
            file = "adc_model.csv";
            check = "NeuroSim `output,mean,std` per code";
        } else if (format == "spice") {
            text = model_spice(model);
            file = "adc_model.sp";
            const SpiceModelCheck c = check_spice_model(model, text);
            if (c.max_error_lsb > 0.01)
                throw Error(fmt::format("the exported SPICE model misses its thresholds by {:.4f} LSB", c.max_error_lsb));
            check = fmt::format("ngspice DC sweep: thresholds within {:.4f} LSB", c.max_error_lsb);
        } else {
            text = model_veriloga(model);
            file = "adc_model.va";
            check = "module `nladc_adc(in, code, level)`";
        }
        io::write_file_atomic(dir / file, text);
        if (format == "json") {
            const AdcModel back = read_adc_model(dir / file);  // the reader accepts what we write
            check = fmt::format("read back: {} thresholds", back.mean.size());
        }
        s += fmt::format("| {} | [{}]({}) | {} |\n", format, file, link(root, dir / file), check);
    }
    io::write_file_atomic(dir / "section.md", s + "\n");
}

void area_stage(const FlowConfig& config, const fs::path& root, const fs::path& dir)
{
    const Technology tech = config.technology.empty() ? Technology{} : io::read_technology(config.technology);
    std::string s = "## Area, energy and latency against other ADCs\n\n";
    const AreaReport report = compare_adc_costs(tech, config.area_bits, spice::find_circuits());
    write_area_report(report, dir);
    s += "Per column; formulas and sources in docs/area.md. Ratios are ours / the other ADC.\n\n";
    s += area_table_markdown(report) + "\n";
    s += image(root, dir / "area.png", "area per column versus bits");
    io::write_file_atomic(dir / "section.md", s);
}

/// Network-level accuracy (dnn/study.hpp): the study's own outputs plus its summary as the section.
void dnn_stage(const dnn::DnnConfig& study, const fs::path& root, const fs::path& dir, const StageRunner& runner)
{
    dnn::DnnOptions options;
    options.progress = [&](const std::string& message) { runner.note(message); };
    const dnn::DnnResult result = dnn::run_dnn(study, dir, options);
    io::write_file_atomic(dir / "section.md", dnn::summary_markdown(study, result, link(root, dir) + "/", 2) + "\n");
}

/// The layers to design for, each with a file that holds only its samples.
std::vector<LayerPaths> resolve_layers(const FlowConfig& config, const fs::path& dir, const fs::path& data_dir)
{
    std::vector<LayerPaths> layers;
    if (config.activations.empty()) {
        layers.push_back({"", data_dir / "activations.npy", dir});
        return layers;
    }
    std::vector<std::string> names = config.layers.empty() ? layer_names(config.activations) : config.layers;
    const auto available = layer_names(config.activations);
    for (const std::string& name : names)
        if (std::find(available.begin(), available.end(), name) == available.end())
            throw InputError(config.activations, "", fmt::format("no layer \"{}\" (the file has: {})", name,
                                                                 fmt::join(available, ", ")));
    const bool npz = fs::path(config.activations).extension() == ".npz";
    for (const std::string& name : names) {
        LayerPaths layer;
        layer.name = npz ? name : "";
        layer.activations = npz ? data_dir / (name + ".npy") : fs::path(config.activations);
        layer.root = npz && names.size() > 1 ? dir / "layers" / name : dir;
        layers.push_back(layer);
    }
    return layers;
}

}  // namespace

FlowResult run_flow(const FlowConfig& config, const fs::path& dir, const FlowOptions& options)
{
    const auto start = Clock::now();
    FlowResult result;
    StageRunner runner(dir, options, result);
    const fs::path data_dir = dir / "data";
    const std::vector<LayerPaths> layers = resolve_layers(config, dir, data_dir);  // may fail: before any output
    fs::create_directories(dir);
    const io::OrderedJson config_json = io::flow_config_to_json(config);
    io::write_file_atomic(dir / "config.json", io::dump_json(config_json));

    // Data: the synthetic default written out, or the layers of an npz split into files.
    const std::string input_hash = config.activations.empty() ? std::string("embedded synthetic default")
                                                              : sha256_file(config.activations);
    const std::string data_key_material =
        fmt::format("{}\n{}\n{}", input_hash, config.drop_nonfinite, fmt::join(config.layers, ","));
    const std::string data_key = runner.run("data", data_dir, data_key_material, [&] {
        std::string s = "## Activations\n\n";
        if (config.activations.empty()) {
            const std::vector<float> values = generate_synthetic(SyntheticSpec{});
            io::write_npy(data_dir / "activations.npy", values, {values.size()});
            s += fmt::format("The embedded default: {} samples of a ReLU-and-clamp mixture (`nladc synth` defaults), "
                             "[activations.npy]({}).\n\n",
                             values.size(), link(dir, data_dir / "activations.npy"));
        } else {
            s += fmt::format("`{}` (SHA-256 {}).\n\n", fs::path(config.activations).filename().string(),
                             input_hash.substr(0, 16));
            for (const LayerPaths& layer : layers) {
                if (layer.activations == fs::path(config.activations)) continue;
                std::uint64_t dropped = 0;
                const std::vector<double> values =
                    io::read_samples(config.activations, layer.name, policy(config), &dropped);
                const std::vector<float> narrow(values.begin(), values.end());
                io::write_npy(layer.activations, narrow, {narrow.size()});
                s += fmt::format("- layer {}: {} samples{}\n", layer.name, narrow.size(),
                                 dropped ? fmt::format(" ({} non-finite dropped)", dropped) : "");
            }
        }
        io::write_file_atomic(data_dir / "section.md", s + "\n");
    });

    runner.run("compare", dir / "compare", fmt::format("{}\n{}\n{}\n{}\n{}", data_key, fmt::join(config.compare_bits, ","),
                                                           config.range_given, config.lo, config.hi),
                   [&] { compare_stage(config, layers, dir, dir / "compare"); });

    const std::string tech_hash = config.technology.empty() ? std::string("defaults") : sha256_file(config.technology);
    // The subcircuit library goes into the netlists, the SPICE runs and the comparator's area.
    std::vector<fs::path> circuit_files;
    for (const auto& entry : fs::recursive_directory_iterator(spice::find_circuits()))
        if (entry.is_regular_file()) circuit_files.push_back(entry.path());
    std::sort(circuit_files.begin(), circuit_files.end());  // a stable key whatever the directory order
    std::string circuits_hash = "circuits";
    for (const fs::path& file : circuit_files) circuits_hash += "\n" + sha256_file(file);
    for (const LayerPaths& layer : layers) {
        const fs::path root = layer.root;
        const std::string prefix = layer.name.empty() || layers.size() == 1 ? "" : layer.name + "/";
        const std::string levels_key = runner.run(
            prefix + "levels", root / "levels",
            fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}", data_key, layer.name, config.bits, config.method, config.variant,
                        config.range_given, fmt::format("{} {}", config.lo, config.hi)),
            [&] { levels_stage(config, layer, dir, root / "levels"); });
        const std::string mapping_key =
            runner.run(prefix + "mapping", root / "mapping",
                       fmt::format("{}\n{}\n{}\n{}", levels_key, tech_hash, config.calibration_cells, config.compensate),
                       [&] { mapping_stage(config, layer, dir, root / "levels", root / "mapping"); });
        const fs::path design_file = root / "mapping" / "design.json";
        const std::string spice_material = io::dump_json(io::flow_config_to_json(config)["spice"]) + circuits_hash;
        runner.run(prefix + "netlists", root / "netlists", mapping_key + "\n" + spice_material,
                   [&] { netlist_stage(config, dir, design_file, root / "netlists"); });
        std::string calibration_key = "no calibration";
        fs::path calibration_file;
        if (config.spice.enabled) {
            calibration_key = runner.run(prefix + "calibration", root / "calibration", mapping_key + "\n" + spice_material,
                                         [&] { calibration_stage(config, dir, design_file, root / "calibration", runner); });
            calibration_file = root / "calibration" / "calibrated.json";
        }
        StudySpec spec = config.monte_carlo;
        spec.design = design_file.string();
        spec.calibration = calibration_file.string();
        spec.activations = layer.activations.string();
        io::OrderedJson study = io::study_to_json(spec);
        for (const char* key : {"design", "calibration", "activations"}) study.erase(key);
        const std::string mc_key =
            runner.run(prefix + "monte carlo", root / "monte_carlo",
                       fmt::format("{}\n{}\n{}\n{}", mapping_key, calibration_key, data_key, study.dump()),
                       [&] { monte_carlo_stage(config, dir, spec, root / "monte_carlo", runner); }, true);
        const std::string characterization_key =
            runner.run(prefix + "characterization", root / "characterization",
                       fmt::format("{}\n{}\n{}", mc_key, calibration_key, config.ramp_points), [&] {
                           characterize_stage(config, dir, design_file, calibration_file, root / "monte_carlo",
                                              root / "characterization");
                       });
        runner.run(prefix + "export", root / "models",
                   fmt::format("{}\n{}", characterization_key, fmt::join(config.exports, ",")),
                   [&] { export_stage(config, dir, root / "characterization", root / "models"); });
    }
    runner.run("area", dir / "area", fmt::format("{}\n{}\n{}", tech_hash, circuits_hash, fmt::join(config.area_bits, ",")),
               [&] { area_stage(config, dir, dir / "area"); });
    if (config.dnn_enabled) {
        dnn::DnnConfig study = config.dnn;
        if (study.technology.empty()) study.technology = config.technology;  // the flow's technology by default
        runner.run("dnn", dir / "dnn",
                   fmt::format("{}\n{}", io::dump_json(io::dnn_config_to_json(study)),
                               study.technology.empty() ? std::string("defaults") : sha256_file(study.technology)),
                   [&] { dnn_stage(study, dir, dir / "dnn", runner); });
    }

    // The report: a header and every stage's section, in order.
    std::string report = "# nladc flow report\n\n";
    report += fmt::format("nladc {}; configuration [config.json](config.json). Stages: ", version());
    std::vector<std::string> stage_notes;
    for (const FlowStageRun& s : result.stages)
        stage_notes.push_back(fmt::format("{} ({:.1f} s{})", s.name, s.seconds, s.reused ? ", reused" : ""));
    report += fmt::format("{}.\n\n", fmt::join(stage_notes, ", "));
    for (const fs::path& section : runner.sections()) report += io::read_file(section);
    result.report = dir / "report.md";
    io::write_file_atomic(result.report, report);
    result.seconds = seconds_since(start);
    return result;
}

}  // namespace nladc
