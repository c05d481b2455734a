// SPICE Monte Carlo (montecarlo/spice_mc.hpp): per-chip records, and their summary.
#include "nladc/montecarlo/spice_mc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "nladc/core/choices.hpp"
#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/json.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/spice/extract.hpp"

namespace nladc {

namespace fs = std::filesystem;

namespace {

fs::path chip_file(const fs::path& dir, std::uint64_t trial)
{
    return dir / "spice" / fmt::format("chip_{:06d}.json", trial);
}

bool owns(std::uint64_t trial, int shard, int shards)
{
    return trial % static_cast<std::uint64_t>(shards) == static_cast<std::uint64_t>(shard - 1);
}

/// A chip's record: its transition levels in both simulators, or the error that stopped SPICE.
struct ChipRecord {
    std::uint64_t trial = 0;
    std::string study_hash;
    std::vector<double> behavioral, spice;
    std::string error;  ///< non-empty: SPICE failed on this chip
    int simulations = 0;
    double seconds = 0.0;
};

void write_record(const fs::path& file, const ChipRecord& record)
{
    io::OrderedJson j;
    j["format"] = "nladc-spice-chip";
    j["version"] = 1;
    j["study_hash"] = record.study_hash;
    j["trial"] = record.trial;
    if (!record.error.empty()) {
        j["error"] = record.error;
    } else {
        // Shortest round-trip doubles (read back exactly); unreachable levels as "inf"/"-inf".
        for (const char* key : {"behavioral", "spice"}) {
            const auto& values = std::string(key) == "behavioral" ? record.behavioral : record.spice;
            j[key] = io::OrderedJson::array();
            for (double v : values) j[key].push_back(io::level_to_json(v));
        }
    }
    j["simulations"] = record.simulations;
    j["seconds"] = record.seconds;
    io::write_file_atomic(file, io::dump_json(j));
}

std::optional<ChipRecord> read_record(const fs::path& file, const std::string& study_hash)
{
    std::error_code ec;
    if (!fs::exists(file, ec)) return std::nullopt;
    const io::Json j = io::read_json_file(file);
    const io::JsonPlace place(file.string(), "");
    ChipRecord record;
    record.study_hash = j.value("study_hash", std::string());
    if (record.study_hash != study_hash)
        throw Error(fmt::format("{}: a chip of another study (study_hash {} vs {}); delete it or use another directory",
                                file.string(), record.study_hash.substr(0, 12), study_hash.substr(0, 12)));
    record.trial = io::as_count(io::require(j, place, "trial"), place.key("trial"));
    if (j.contains("error")) record.error = io::as_string(j["error"], place.key("error"));
    if (record.error.empty()) {
        for (const char* key : {"behavioral", "spice"})
            (std::string(key) == "behavioral" ? record.behavioral : record.spice) =
                io::list_of<double>(io::require(j, place, key), place.key(key), io::level_from_json);
    }
    if (j.contains("simulations")) record.simulations = io::as_int(j["simulations"], place.key("simulations"), 0);
    if (j.contains("seconds")) record.seconds = io::as_number(j["seconds"], place.key("seconds"));
    return record;
}

std::string study_hash_of(const fs::path& dir)
{
    return io::read_json_file(dir / "study.json").value("study_hash", std::string());
}

}  // namespace

SpiceChipsOutcome run_spice_chips(const MonteCarlo& engine, const fs::path& dir, const SpiceChipsOptions& options)
{
    const StudyInputs& in = engine.inputs();
    const double lsb = in.design.levels.lsb();
    std::vector<std::uint64_t> todo;
    SpiceChipsOutcome outcome;
    for (std::uint64_t t = 0; t < static_cast<std::uint64_t>(in.spec.spice.trials); ++t) {
        if (!owns(t, options.shard, options.shards)) continue;
        ++outcome.total;
        const auto record = read_record(chip_file(dir, t), in.study_hash);
        if (record && record->error.empty())
            ++outcome.present_before;
        else
            todo.push_back(t);
    }
    if (todo.empty()) return outcome;
    std::error_code ec;
    fs::create_directories(dir / "spice", ec);
    if (ec) throw OutputError((dir / "spice").string(), ec.message());

    spice::WorkerPool pool(options.workers > 0 ? options.workers : in.spec.spice.workers);
    spice::NetlistOptions netlist;
    netlist.corner = in.spec.spice.corner;
    netlist.circuit = in.spec.spice.circuit;
    netlist.design_hash = in.design_hash;
    netlist.seed = in.spec.seed;
    for (std::size_t i = 0; i < todo.size(); ++i) {
        if (options.stop && options.stop->load()) {
            outcome.interrupted = true;
            return outcome;
        }
        const auto start = std::chrono::steady_clock::now();
        ChipRecord record;
        record.trial = todo[i];
        record.study_hash = in.study_hash;
        const ChipInstance chip = draw_chip(in, record.trial);
        spice::SpiceChip spice_chip;
        spice_chip.replica_conductance_S = chip.replica_conductance_S;
        spice_chip.v_read_V = chip.v_read_V;
        spice_chip.wire_resistance_ohm = chip.wire_resistance_ohm;
        spice_chip.drift_factor = chip.drift_factor;
        spice_chip.comparator_offset_V = chip.comparator_offset_V;
        try {
            const spice::FastExtraction x = spice::extract_transitions(in.design, in.tech, spice_chip, pool, netlist);
            record.spice = x.transition_levels;
            record.simulations = x.simulations;
            record.behavioral = engine.nominal().with_chip(chip).transition_levels(lsb * 1e-6);
        } catch (const Error& e) {
            // One chip's simulations failed (crash, timeout, no convergence): record it and go on.
            record.error = e.what();
            ++outcome.failed;
        }
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        write_record(chip_file(dir, record.trial), record);
        ++outcome.run;
        if (options.progress) options.progress(outcome.present_before + static_cast<int>(i) + 1, outcome.total);
    }
    return outcome;
}

std::vector<std::uint64_t> missing_spice_chips(const StudySpec& spec, const fs::path& dir, int shard, int shards)
{
    const std::string hash = study_hash_of(dir);
    std::vector<std::uint64_t> missing;
    for (std::uint64_t t = 0; t < static_cast<std::uint64_t>(spec.spice.trials); ++t) {
        if (!owns(t, shard, shards)) continue;
        if (!read_record(chip_file(dir, t), hash)) missing.push_back(t);
    }
    return missing;
}

SpiceMcResult summarize_spice_mc(const std::vector<fs::path>& sources, const fs::path& dir)
{
    if (sources.empty()) throw UsageError("SPICE Monte Carlo: no study directories given");
    const fs::path identity_file = sources.front() / "study.json";
    const io::Json identity = io::read_json_file(identity_file);
    const std::string hash = identity.value("study_hash", std::string());
    const StudySpec spec = study_of_run(sources.front());
    const double lsb = identity.at("lsb").get<double>();
    const std::size_t thresholds = identity.at("thresholds").get<std::size_t>();
    const int trials = spec.spice.trials;
    const int shards = recorded_shard_count(sources);

    SpiceMcResult result;
    std::string csv = "trial,k,behavioral,spice,difference_lsb\n";
    for (std::uint64_t t = 0; t < static_cast<std::uint64_t>(trials); ++t) {
        std::optional<ChipRecord> record;
        for (const fs::path& source : sources) {
            auto found = read_record(chip_file(source, t), hash);
            if (found && (!record || (found->error.empty() && !record->error.empty()))) record = std::move(found);
            if (record && record->error.empty()) break;
        }
        if (!record) {
            const std::string owner =
                shards > 0 ? fmt::format(" (it belongs to shard {}/{})", t % static_cast<std::uint64_t>(shards) + 1, shards)
                           : std::string();
            throw Error(fmt::format("SPICE chip {} ({}) is missing from every given directory{}; run the shard that owns it",
                                    t, chip_file("", t).string(), owner));
        }
        result.wall_s += record->seconds;
        if (!record->error.empty()) {
            result.failed.emplace_back(t, record->error);
            continue;
        }
        result.simulations += record->simulations;
        SpiceMcTrial trial;
        trial.trial = t;
        trial.behavioral = std::move(record->behavioral);
        trial.spice = std::move(record->spice);
        for (std::size_t k = 0; k < trial.spice.size(); ++k) {
            const double d = (trial.behavioral[k] - trial.spice[k]) / lsb;
            trial.max_difference_lsb = std::max(trial.max_difference_lsb, std::abs(d));
            csv += fmt::format("{},{},{:.12g},{:.12g},{:.6g}\n", t, k + 1, trial.behavioral[k], trial.spice[k], d);
        }
        result.max_difference_lsb = std::max(result.max_difference_lsb, trial.max_difference_lsb);
        result.trials.push_back(std::move(trial));
    }
    if (result.trials.empty())
        throw Error(fmt::format("SPICE Monte Carlo: all {} chips failed; the first: trial {}: {}", trials,
                                result.failed.front().first, result.failed.front().second));
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
    io::OrderedJson j;
    j["format"] = "nladc-spice-mc";
    j["version"] = 1;
    j["trials"] = trials;
    j["corner"] = std::string(choice_name(spec.spice.corner));
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

SpiceMcResult run_spice_mc(const MonteCarlo& engine, const fs::path& dir, const SpiceChipsOptions& options)
{
    SpiceChipsOptions all = options;
    all.shard = all.shards = 1;
    const SpiceChipsOutcome outcome = run_spice_chips(engine, dir, all);
    if (outcome.interrupted) {
        SpiceMcResult result;
        result.interrupted = true;
        return result;
    }
    return summarize_spice_mc({dir}, dir);
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

}  // namespace nladc
