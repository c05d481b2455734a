// Resolving a study's inputs, and the SPICE Monte Carlo on the same samples.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/core/sha256.hpp"
#include "nladc/documents/calibration_file.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/montecarlo/engine.hpp"
#include "nladc/spice/extract.hpp"
#include "nladc/study/defaults.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc {

std::shared_ptr<const StudyInputs> load_study_inputs(const StudySpec& spec, const io::DesignRecord* design)
{
    auto inputs = std::make_shared<StudyInputs>();
    inputs->spec = spec;
    if (design) {
        inputs->design = design->design;
        inputs->design_hash = io::design_to_json(*design)["design_hash"].get<std::string>();
    } else if (spec.design.empty()) {
        inputs->design = default_design();
        io::DesignRecord record{inputs->design, {}, {}, {}};
        inputs->design_hash = io::design_to_json(record)["design_hash"].get<std::string>();
    } else {
        const io::DesignRecord record = io::read_design(spec.design);
        inputs->design = record.design;
        inputs->design_hash = record.hash;
    }
    inputs->tech = inputs->design.tech;
    if (!spec.technology.empty()) {
        inputs->tech = io::read_technology(spec.technology);
        adapt_technology(inputs->design, inputs->tech);
    }
    // The nominal chip's technology (recorded in study.json for characterize's check), then
    // the study's overrides of how chips vary.
    const Technology nominal = inputs->tech;
    for (const auto& [key, value] : spec.technology_overrides) set_technology_number(inputs->tech, key, value);
    if (!spec.calibration.empty()) inputs->options.calibration = io::read_calibration(spec.calibration);
    if (spec.activations.empty()) {
        const std::vector<float> samples = default_activations();
        inputs->activations = std::make_shared<SortedSamples>(std::vector<double>(samples.begin(), samples.end()));
        inputs->activations_sha256 = "embedded synthetic default (nladc synth defaults)";
    } else {
        ActivationLayer layer(spec.activations, "", io::NonFinitePolicy::error);
        inputs->activations = std::make_shared<SortedSamples>(layer.load());
        inputs->activations_sha256 = sha256_file(spec.activations);
    }
    // Everything that changes a trial's numbers (paths do not: their contents do).
    io::OrderedJson identity = io::study_to_json(spec);
    for (const char* key : {"design", "technology", "calibration", "activations"}) identity.erase(key);
    identity["design_hash"] = inputs->design_hash;
    identity["technology"] = io::technology_to_json(nominal);
    identity["activations"] = inputs->activations_sha256;
    identity["calibration"] = io::calibration_params_to_json(inputs->options.calibration);
    inputs->study_hash = sha256_hex(identity.dump());
    return inputs;
}

double ks_statistic(std::vector<double> a, std::vector<double> b)
{
    auto finite = [](std::vector<double>& v) {
        v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
        std::sort(v.begin(), v.end());
    };
    finite(a);
    finite(b);
    if (a.empty() || b.empty()) return 1.0;
    std::size_t i = 0, j = 0;
    double d = 0;
    while (i < a.size() && j < b.size()) {
        const double x = std::min(a[i], b[j]);
        while (i < a.size() && a[i] <= x) ++i;
        while (j < b.size() && b[j] <= x) ++j;
        d = std::max(d, std::abs(static_cast<double>(i) / a.size() - static_cast<double>(j) / b.size()));
    }
    return d;
}

SpiceMcResult run_spice_mc(const MonteCarlo& engine, int trials, const std::filesystem::path& dir,
                           const std::function<void(int, int)>& progress, const std::atomic<bool>* stop)
{
    const auto start = std::chrono::steady_clock::now();
    const StudyInputs& in = engine.inputs();
    const double lsb = in.design.levels.lsb();
    spice::WorkerPool pool(in.spec.spice.workers);
    spice::NetlistOptions options;
    options.corner = in.spec.spice.corner;
    options.circuit = in.spec.spice.circuit;
    options.design_hash = in.design_hash;
    SpiceMcResult result;
    std::string csv = "trial,k,behavioral,spice,difference_lsb\n";
    for (int t = 0; t < trials; ++t) {
        if (stop && stop->load()) {
            result.interrupted = true;
            return result;
        }
        const ChipInstance chip = draw_chip(in, static_cast<std::uint64_t>(t));
        spice::SpiceChip spice_chip;
        spice_chip.replica_conductance_S = chip.replica_conductance_S;
        spice_chip.v_read_V = chip.v_read_V;
        spice_chip.wire_resistance_ohm = chip.wire_resistance_ohm;
        spice_chip.drift_factor = chip.drift_factor;
        spice_chip.comparator_offset_V = chip.comparator_offset_V;
        options.seed = in.spec.seed;
        spice::FastExtraction x;
        try {
            x = spice::extract_transitions(in.design, in.tech, spice_chip, pool, options);
        } catch (const Error& e) {
            // One chip's simulations failed (crash, timeout, no convergence): report it and go on.
            result.failed.emplace_back(static_cast<std::uint64_t>(t), e.what());
            if (progress) progress(t + 1, trials);
            continue;
        }
        result.simulations += x.simulations;
        SpiceMcTrial trial;
        trial.trial = static_cast<std::uint64_t>(t);
        trial.behavioral = engine.nominal().with_chip(chip).transition_levels(lsb * 1e-6);
        trial.spice = x.transition_levels;
        for (std::size_t k = 0; k < trial.spice.size(); ++k) {
            const double d = (trial.behavioral[k] - trial.spice[k]) / lsb;
            trial.max_difference_lsb = std::max(trial.max_difference_lsb, std::abs(d));
            csv += fmt::format("{},{},{:.12g},{:.12g},{:.6g}\n", t, k + 1, trial.behavioral[k], trial.spice[k], d);
        }
        result.max_difference_lsb = std::max(result.max_difference_lsb, trial.max_difference_lsb);
        result.trials.push_back(std::move(trial));
        if (progress) progress(t + 1, trials);
    }
    if (result.trials.empty())
        throw Error(fmt::format("SPICE Monte Carlo: all {} chips failed; the first: trial {}: {}", trials,
                                result.failed.front().first, result.failed.front().second));
    const std::size_t thresholds = in.design.levels.thresholds.size();
    io::OrderedJson per = io::OrderedJson::array();
    for (std::size_t k = 0; k < thresholds; ++k) {
        std::vector<double> b, s;
        for (const auto& trial : result.trials) {
            b.push_back(trial.behavioral[k]);
            s.push_back(trial.spice[k]);
        }
        auto mean_sigma = [](const std::vector<double>& v) {
            double mean = 0, square = 0;
            for (double x : v) mean += x;
            mean /= static_cast<double>(v.size());
            for (double x : v) square += (x - mean) * (x - mean);
            return std::pair{mean, v.size() > 1 ? std::sqrt(square / static_cast<double>(v.size() - 1)) : 0.0};
        };
        SpiceMcThreshold th;
        std::tie(th.behavioral_mean, th.behavioral_sigma) = mean_sigma(b);
        std::tie(th.spice_mean, th.spice_sigma) = mean_sigma(s);
        th.ks_statistic = ks_statistic(b, s);
        result.thresholds.push_back(th);
        per.push_back({{"k", k + 1},
                       {"behavioral_mean", th.behavioral_mean},
                       {"behavioral_sigma_lsb", th.behavioral_sigma / lsb},
                       {"spice_mean", th.spice_mean},
                       {"spice_sigma_lsb", th.spice_sigma / lsb},
                       {"ks_statistic", th.ks_statistic}});
    }
    result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    io::OrderedJson j;
    j["format"] = "nladc-spice-mc";
    j["version"] = 1;
    j["trials"] = trials;
    j["corner"] = std::string(choice_name(in.spec.spice.corner));
    j["max_difference_lsb"] = result.max_difference_lsb;
    j["failed_trials"] = io::OrderedJson::array();
    for (const auto& [trial, error] : result.failed) j["failed_trials"].push_back({{"trial", trial}, {"error", error}});
    j["thresholds"] = per;
    j["simulations"] = result.simulations;
    io::write_file_atomic(dir / "spice_mc.csv", csv);
    io::write_file_atomic(dir / "spice_mc.json", io::dump_json(j));

    io::PlotSpec plot;
    plot.title = fmt::format("Transition-level spread, behavioral vs SPICE on the same {} chips", trials);
    plot.x_label = "threshold k";
    plot.y_label = "sigma of T[k] (LSB)";
    io::PlotSeries behavioral{"behavioral", {}, {}, "linespoints"}, spice_series{"SPICE", {}, {}, "linespoints"};
    for (std::size_t k = 0; k < thresholds; ++k) {
        behavioral.x.push_back(static_cast<double>(k + 1));
        behavioral.y.push_back(result.thresholds[k].behavioral_sigma / lsb);
        spice_series.x.push_back(static_cast<double>(k + 1));
        spice_series.y.push_back(result.thresholds[k].spice_sigma / lsb);
    }
    plot.series = {behavioral, spice_series};
    io::plot_png(plot, dir / "spice_mc.png");
    return result;
}

}  // namespace nladc
