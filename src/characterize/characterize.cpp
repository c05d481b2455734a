#include "nladc/characterize/characterize.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/adc/calibration_params.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"
#include "nladc/core/version.hpp"
#include "nladc/documents/calibration_file.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/documents/mc_summary.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/json.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/spice/ngspice.hpp"
#include "nladc/study/calibration.hpp"

namespace nladc {

namespace fs = std::filesystem;

Characterization characterize(const ReplicaDesign& design, const Technology& tech, const std::string& design_hash,
                              const CharacterizeOptions& options)
{
    Characterization c;
    c.design = design;
    c.tech = tech;
    c.design_hash = design_hash;
    c.adc = options.adc;
    const LevelSet& set = design.levels;
    const double lsb = set.lsb(), span = set.hi - set.lo;
    const int steps = static_cast<int>(set.thresholds.size());
    ChipInstance chip = nominal_chip(design, tech);
    c.stuck_off_step = options.stuck_off_step;
    if (options.stuck_off_step != 0) {
        if (options.stuck_off_step < 1 || options.stuck_off_step > steps)
            throw Error(fmt::format("stuck-off step {}: the design has steps 1 .. {}", options.stuck_off_step, steps));
        std::size_t cell = 0;
        while (cell < design.cells.size() && design.cells[cell].step != options.stuck_off_step) ++cell;
        if (cell == design.cells.size())
            throw Error(fmt::format("stuck-off step {}: no replica cell realizes that step", options.stuck_off_step));
        chip.replica_conductance_S[cell] = tech.device.g_off_S;
    }
    const BehavioralAdc adc(design, tech, chip, options.adc);
    c.bisection = adc.transition_levels(lsb * 1e-7);

    // Code-density test: evenly spaced inputs over the range and a margin; T[k] is the
    // start plus the step times the number of inputs below code k. The ramp also covers
    // thresholds that the nonidealities pushed outside [lo, hi].
    const std::size_t n = std::max<std::size_t>(options.ramp_points, 1000);
    double ramp_lo = set.lo, ramp_hi = set.hi;
    for (double t : c.bisection)
        if (std::isfinite(t)) {
            ramp_lo = std::min(ramp_lo, t);
            ramp_hi = std::max(ramp_hi, t);
        }
    c.ramp_start = ramp_lo - 0.1 * span;
    c.ramp_step = (ramp_hi - ramp_lo + 0.2 * span) / static_cast<double>(n);
    const int codes = static_cast<int>(set.levels.size());
    c.histogram.assign(static_cast<std::size_t>(codes), 0);
    double energy = 0, latency = 0;
    std::size_t inside = 0;
    c.histogram_noisy.assign(static_cast<std::size_t>(codes), 0);
    c.noise_seed = options.noise_seed;
    c.noise_sigma_V = options.adc.ideal.comparator ? 0.0 : tech.comparator.noise_sigma_V;
    RandomStream noise(options.noise_seed, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = c.ramp_start + (static_cast<double>(i) + 0.5) * c.ramp_step;
        ++c.histogram[static_cast<std::size_t>(adc.convert(x))];
        ++c.histogram_noisy[static_cast<std::size_t>(adc.convert(x, &noise))];
        if (x >= set.lo && x <= set.hi && i % 997 == 0) {  // energy on a subsample
            const ConversionEnergy e = adc.energy(x);
            energy += e.total_J;
            latency += e.latency_s;
            ++inside;
        }
    }
    std::size_t below = 0, below_noisy = 0;
    for (int k = 1; k < codes; ++k) {
        below += static_cast<std::size_t>(c.histogram[static_cast<std::size_t>(k - 1)]);
        below_noisy += static_cast<std::size_t>(c.histogram_noisy[static_cast<std::size_t>(k - 1)]);
        // A code never reached leaves its threshold at the ramp's edge.
        c.code_density.push_back(c.ramp_start + static_cast<double>(below) * c.ramp_step);
        c.code_density_noisy.push_back(c.ramp_start + static_cast<double>(below_noisy) * c.ramp_step);
    }
    for (int k = 1; k + 1 < codes; ++k) {
        const double width = c.histogram_noisy[static_cast<std::size_t>(k)] * c.ramp_step;
        const double target = set.thresholds[static_cast<std::size_t>(k)] - set.thresholds[static_cast<std::size_t>(k - 1)];
        c.code_width_lsb.push_back(width / lsb);
        if (c.histogram_noisy[static_cast<std::size_t>(k)] == 0)
            c.missing_codes.push_back(k);
        else if (width < kNarrowCodeLsb * lsb && target >= kNarrowCodeLsb * lsb)
            c.narrow_codes.push_back(k);
    }
    for (std::size_t k = 0; k < c.bisection.size(); ++k)
        if (std::isfinite(c.bisection[k]))
            c.max_density_vs_bisection_lsb =
                std::max(c.max_density_vs_bisection_lsb, std::abs(c.code_density[k] - c.bisection[k]) / lsb);

    c.linearity = nonlinear_linearity(set, c.bisection);
    if (is_linear_levelset(set)) {
        bool reachable = true;
        for (double t : c.bisection) reachable = reachable && std::isfinite(t);
        if (reachable)
            c.ieee = ieee_linearity(c.bisection, set.thresholds.front(),
                                    (set.thresholds.back() - set.thresholds.front()) /
                                        static_cast<double>(set.thresholds.size() - 1));
    }
    // Offset and gain: least squares of the measured against the target thresholds.
    double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
    for (std::size_t k = 0; k < c.bisection.size(); ++k) {
        if (!std::isfinite(c.bisection[k])) continue;
        const double x = set.thresholds[k], y = c.bisection[k];
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        m += 1;
    }
    if (m >= 2 && m * sxx - sx * sx > 0) {
        c.gain = (m * sxy - sx * sy) / (m * sxx - sx * sx);
        c.offset = (sy - c.gain * sx) / m;
    }
    c.energy_mid = adc.energy(set.lo + 0.5 * span);
    if (options.spice_energy) {
        spice::WorkerPool pool(options.spice_workers);
        c.spice_energy = spice::conversion_energy(design, tech, spice::nominal_spice_chip(design, tech),
                                                  set.lo + 0.5 * span, tech.counter.energy_per_clock_J, pool, {});
    }
    c.mean_energy_J = inside ? energy / static_cast<double>(inside) : c.energy_mid.total_J;
    c.mean_latency_s = inside ? latency / static_cast<double>(inside) : c.energy_mid.latency_s;

    if (!options.study_dir.empty()) {
        const fs::path dir = options.study_dir;
        if (!fs::exists(dir / "trials.csv"))
            throw Error(fmt::format("{}: no trials.csv (run `nladc mc` to completion, or `nladc mc merge`)", dir.string()));
        const io::Json identity = io::read_json_file(dir / "study.json");
        if (const std::string hash = identity.value("design_hash", std::string()); hash != design_hash)
            throw Error(fmt::format("{}: the study ran design {} but this is design {}", dir.string(),
                                    hash.substr(0, 12), design_hash.substr(0, 12)));
        // The study's chips vary around its own technology; aggregating them with another
        // technology's nominal chip would mix two circuits.
        if (identity.value("technology", io::Json()) != io::Json::parse(io::technology_to_json(tech).dump()))
            throw Error(fmt::format("{}: the study ran another technology than this one (pass the study's "
                                    "technology file with --tech)",
                                    dir.string()));
        if (identity.value("calibration", io::Json()) !=
            io::Json::parse(io::calibration_params_to_json(options.adc.calibration).dump()))
            throw Error(fmt::format("{}: the study ran with other calibration parameters than these (pass the "
                                    "study's calibration file with --calibration)",
                                    dir.string()));
        // summary.json is written from trials.csv in the same step (mc and mc merge).
        const McSummary summary = io::read_mc_summary(dir / "summary.json");
        c.study_trials = summary.trials;
        c.study_seed = summary.seed;
        c.inl_spec_lsb = summary.inl_spec_lsb;
        c.dnl_spec = summary.dnl_spec;
        c.yield_before_trim = summary.yield_before_trim;
        c.yield_after_trim = summary.yield_after_trim;
        c.study_mse_mean = summary.effective_mse.before_trim.mean;
        c.study_mse_p95 = summary.effective_mse.before_trim.p95;
        c.study_mse_trimmed_mean = summary.effective_mse.after_trim.mean;
        c.ideal_mse = summary.ideal_mse;
        c.ideal_sqnr_db = summary.ideal_sqnr_db;
        // SQNR falls as MSE rises: the worst 5 % of chips have the 95th-percentile MSE.
        const double power = identity.value("activation_mean_square", 0.0);
        c.study_sqnr_mean_db = summary.sqnr_db.before_trim.mean;
        c.study_sqnr_p5_db = c.study_mse_p95 > 0 ? 10 * std::log10(power / c.study_mse_p95) : 0.0;
        for (const McThresholdSummary& th : summary.thresholds) {
            c.study_mean.push_back(th.mean);
            c.study_sigma.push_back(th.sigma);
        }
        if (c.study_mean.size() != set.thresholds.size())
            throw Error(fmt::format("{}: the study has {} thresholds, the design {}", dir.string(), c.study_mean.size(),
                                    set.thresholds.size()));
    }
    return c;
}

void write_characterization(const Characterization& c, const fs::path& dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw OutputError(dir.string(), ec.message());
    const LevelSet& set = c.design.levels;
    const double lsb = set.lsb();
    io::OrderedJson j;
    j["format"] = "nladc-characterization";
    j["version"] = 1;
    j["nladc_version"] = std::string(version());
    j["design_hash"] = c.design_hash;
    io::LevelSetRecord levels;
    levels.set = set;
    j["levelset"] = io::levelset_to_json(levels);
    j["conditions"] = {{"mode", std::string(choice_name(c.adc.mode))},
                       {"ideal", c.adc.ideal.any()},
                       {"v_read_V", c.tech.array.v_read_V},
                       {"clock_hz", c.tech.counter.clock_hz},
                       {"cell_type", c.tech.device.cell_type},
                       {"wire_resistance_ohm", c.tech.array.wire_resistance_ohm}};
    io::OrderedJson calibration = io::OrderedJson::object();
    for (const auto& name : calibration_parameter_names())
        calibration[name] = get_calibration_parameter(c.adc.calibration, name);
    j["calibration"] = calibration;
    j["lsb"] = lsb;
    io::OrderedJson thresholds = io::OrderedJson::array();
    for (std::size_t k = 0; k < set.thresholds.size(); ++k) {
        io::OrderedJson t = {{"k", k + 1},
                             {"target", set.thresholds[k]},
                             {"bisection", io::level_to_json(c.bisection[k])},
                             {"code_density", c.code_density[k]},
                             {"inl_lsb", c.linearity.inl_lsb[k]},
                             {"inl_local", c.linearity.inl_local[k]}};
        if (!c.study_mean.empty()) {
            t["mc_mean"] = c.study_mean[k];
            t["mc_sigma"] = c.study_sigma[k];
        }
        thresholds.push_back(t);
    }
    j["thresholds"] = thresholds;
    j["max_code_density_vs_bisection_lsb"] = c.max_density_vs_bisection_lsb;
    // Missing and narrow codes come from the noisy ramp (comparator noise per decision).
    j["missing_codes"] = c.missing_codes;
    j["narrow_codes"] = c.narrow_codes;
    j["code_density_noise"] = {{"comparator_noise_sigma_V", c.noise_sigma_V},
                               {"seed", c.noise_seed},
                               {"narrow_below_lsb", kNarrowCodeLsb},
                               {"code_width_lsb", c.code_width_lsb},
                               {"transition_levels", c.code_density_noisy}};
    if (c.stuck_off_step) j["stuck_off_step"] = c.stuck_off_step;
    j["linearity"] = {{"definition", c.ieee ? "IEEE 1241 (linear level set) and the nonlinear generalization"
                                             : "nonlinear generalization (docs/montecarlo.md)"},
                      {"max_abs_inl_lsb", c.linearity.max_abs_inl_lsb},
                      {"max_abs_dnl", c.linearity.max_abs_dnl},
                      {"dnl", c.linearity.dnl},
                      {"missing_codes", c.linearity.missing_codes},
                      {"narrow_codes", c.linearity.narrow_codes},
                      {"code_errors", c.linearity.code_errors}};
    if (c.ieee)
        j["ieee1241"] = {{"code_width", c.ieee->code_width},
                         {"terminal_width", c.ieee->terminal_width},
                         {"dnl_lsb", c.ieee->dnl_lsb},
                         {"inl_terminal_lsb", c.ieee->inl_terminal_lsb},
                         {"inl_best_fit_lsb", c.ieee->inl_best_fit_lsb},
                         {"offset", c.ieee->offset},
                         {"gain", c.ieee->gain},
                         {"missing_codes", c.ieee->missing_codes}};
    j["offset"] = c.offset;
    j["gain"] = c.gain;
    io::OrderedJson terms = io::OrderedJson::object();
    for (const auto& term : c.energy_mid.terms) terms[term.name + "_J"] = term.joules;
    if (c.spice_energy) {
        // One conversion at the range middle in both simulators, term by term (the
        // accounting of spice/energy.hpp, which mirrors the behavioral model's).
        const spice::SpiceEnergy& s = *c.spice_energy;
        j["energy_per_conversion_J_spice"] = s.total_J;
        j["energy_per_conversion_J_model"] = c.energy_mid.total_J;
        io::OrderedJson spice_terms = io::OrderedJson::object(), model_terms = io::OrderedJson::object(),
                        sources = io::OrderedJson::object();
        for (const auto& term : s.terms) {
            spice_terms[term.name + "_J"] = term.joules;
            sources[term.name] = term.source;
        }
        for (const auto& term : c.energy_mid.terms) model_terms[term.name + "_J"] = term.joules;
        j["energy_comparison"] = {{"mac_value", s.mac_value},
                                  {"code_spice", s.code},
                                  {"decisions_spice", s.decisions},
                                  {"decisions_model", c.energy_mid.clocks},
                                  {"terms_spice", spice_terms},
                                  {"terms_model", model_terms},
                                  {"source", sources},
                                  {"comparator_per_decision_J_spice", s.comparator_per_decision_J},
                                  {"integrator_replica_unshared_J_spice", s.integrator_replica_J},
                                  {"background_read_J_spice", s.background_J},
                                  {"relative_difference", (c.energy_mid.total_J - s.total_J) / s.total_J}};
    }
    const ArrayLoad load = array_load(c.tech);
    j["array_load"] = {{"background_columns", load.background_columns},
                       {"background_cell_S", load.cell_S},
                       {"background_column_current_A_full_drive", load.column_current_A},
                       {"background_row_current_A_full_drive", load.row_current_A}};
    j["energy"] = {{"at_range_middle_J", c.energy_mid.total_J},
                   {"terms_at_range_middle", terms},
                   {"mean_over_range_J", c.mean_energy_J},
                   {"latency_at_range_middle_s", c.energy_mid.latency_s},
                   {"mean_latency_s", c.mean_latency_s}};
    if (c.study_trials) {
        j["monte_carlo"] = {{"trials", c.study_trials},
                            {"seed", c.study_seed},
                            {"yield_before_trim", c.yield_before_trim},
                            {"yield_after_trim", c.yield_after_trim},
                            {"spec", {{"inl_lsb", c.inl_spec_lsb}, {"dnl", c.dnl_spec}}},
                            {"effective_mse_mean", c.study_mse_mean},
                            {"effective_mse_p95", c.study_mse_p95},
                            {"effective_mse_trimmed_mean", c.study_mse_trimmed_mean},
                            {"sqnr_mean_db", c.study_sqnr_mean_db},
                            {"sqnr_p5_db", c.study_sqnr_p5_db},
                            {"ideal_mse", c.ideal_mse},
                            {"ideal_sqnr_db", c.ideal_sqnr_db}};
    }
    io::write_file_atomic(dir / "characterization.json", io::dump_json(j));

    std::string csv = "k,target,bisection,code_density,inl_lsb,inl_local,mc_mean,mc_sigma\n";
    for (std::size_t k = 0; k < set.thresholds.size(); ++k)
        csv += fmt::format("{},{:.12g},{:.12g},{:.12g},{:.6g},{:.6g},{},{}\n", k + 1, set.thresholds[k], c.bisection[k],
                           c.code_density[k], c.linearity.inl_lsb[k], c.linearity.inl_local[k],
                           c.study_mean.empty() ? "" : fmt::format("{:.12g}", c.study_mean[k]),
                           c.study_sigma.empty() ? "" : fmt::format("{:.6g}", c.study_sigma[k]));
    io::write_file_atomic(dir / "transition.csv", csv);

    // Transfer curve from the code-density histogram, with the target level set.
    io::PlotSpec transfer;
    transfer.title = fmt::format("Transfer curve: {} {} bits (target thresholds dashed)", method_label(set), set.bits);
    transfer.x_label = "MAC value (input units)";
    transfer.y_label = "output level";
    transfer.vertical_lines = set.thresholds;
    io::PlotSeries measured{"measured (code density)", {}, {}, "steps"}, target{"target", {}, {}, "steps"};
    double x = c.ramp_start;
    for (std::size_t code = 0; code < c.histogram.size(); ++code) {
        measured.x.push_back(x);
        measured.y.push_back(set.levels[code]);
        x += c.histogram[code] * c.ramp_step;
    }
    measured.x.push_back(x);
    measured.y.push_back(set.levels.back());
    target.x.push_back(c.ramp_start);
    target.y.push_back(set.levels.front());
    for (std::size_t k = 0; k < set.thresholds.size(); ++k) {
        target.x.push_back(set.thresholds[k]);
        target.y.push_back(set.levels[k + 1]);
    }
    target.x.push_back(x);
    target.y.push_back(set.levels.back());
    transfer.series = {target, measured};
    io::plot_png(transfer, dir / "transfer.png");

    io::PlotSpec bars;
    bars.title = "INL (LSB) per threshold and DNL per code";
    bars.x_label = "threshold k / code k";
    bars.y_label = "INL (LSB) / DNL";
    io::PlotSeries inl{"INL (LSB)", {}, {}, "boxes"}, dnl{"DNL (relative)", {}, {}, "impulses"};
    for (std::size_t k = 0; k < c.linearity.inl_lsb.size(); ++k) {
        inl.x.push_back(static_cast<double>(k + 1));
        inl.y.push_back(c.linearity.inl_lsb[k]);
    }
    for (std::size_t k = 0; k < c.linearity.dnl.size(); ++k) {
        dnl.x.push_back(static_cast<double>(k + 1));
        dnl.y.push_back(c.linearity.dnl[k]);
    }
    bars.series = {inl, dnl};
    bars.extra = "set boxwidth 0.6";
    io::plot_png(bars, dir / "inl_dnl.png");
}

}  // namespace nladc
