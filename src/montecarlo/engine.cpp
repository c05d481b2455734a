#include "nladc/montecarlo/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "nladc/core/error.hpp"
#include "nladc/core/random.hpp"
#include "nladc/core/sha256.hpp"
#include "nladc/device/rram.hpp"
#include "nladc/documents/calibration_file.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/io/atomic_file.hpp"
#include "summary.hpp"

namespace nladc {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------- samples

SortedSamples::SortedSamples(std::vector<double> samples) : values_(std::move(samples))
{
    std::sort(values_.begin(), values_.end());
    sum_.assign(values_.size() + 1, 0.0L);
    sum_sq_.assign(values_.size() + 1, 0.0L);
    for (std::size_t i = 0; i < values_.size(); ++i) {
        sum_[i + 1] = sum_[i] + values_[i];
        sum_sq_[i + 1] = sum_sq_[i] + static_cast<long double>(values_[i]) * values_[i];
    }
}

double SortedSamples::mse(const std::vector<double>& thresholds, const std::vector<double>& levels) const
{
    if (values_.empty()) return 0.0;
    long double sse = 0.0L;
    std::size_t begin = 0;
    for (std::size_t k = 0; k < levels.size(); ++k) {
        // Code k holds (T_k, T_{k+1}]: an input on a threshold takes the lower code.
        std::size_t end = values_.size();
        if (k < thresholds.size()) {
            const double t = thresholds[k];
            end = std::isfinite(t) ? static_cast<std::size_t>(std::upper_bound(values_.begin(), values_.end(), t) -
                                                             values_.begin())
                                   : (t > 0 ? values_.size() : 0);
        }
        end = std::max(end, begin);
        const long double n = static_cast<long double>(end - begin), c = levels[k];
        sse += (sum_sq_[end] - sum_sq_[begin]) - 2 * c * (sum_[end] - sum_[begin]) + c * c * n;
        begin = end;
    }
    return static_cast<double>(std::max(0.0L, sse) / static_cast<long double>(values_.size()));
}

double SortedSamples::mean_square() const
{
    return values_.empty() ? 0.0 : static_cast<double>(sum_sq_.back() / static_cast<long double>(values_.size()));
}

// ---------------------------------------------------------------------------- chips

namespace {

struct ChipSample {
    ChipInstance chip;
    std::vector<CellState> states;
};

/// The device the chips are drawn from: the study's technology, overrides applied
/// (load_study_inputs), exactly as `nladc dnn` draws its crossbars.
const DeviceParams& varied_device(const StudyInputs& inputs) { return inputs.tech.device; }

ChipSample sample_chip(const StudyInputs& inputs, std::uint64_t trial)
{
    // Fixed draw order: the chip-level quantities, then every cell in design order.
    RandomStream random(inputs.spec.seed, trial);
    const VariationParams& v = inputs.spec.variation;
    const Technology& tech = inputs.tech;
    const double drift = tech.device.drift_factor * std::max(0.0, 1.0 + v.drift_factor_sigma * random.normal());
    const double offset = tech.comparator.offset_V + tech.comparator.offset_sigma_V * random.normal();
    const double v_read = tech.array.v_read_V * std::max(0.05, 1.0 + v.v_read_sigma_rel * random.normal());
    const double wire = tech.array.wire_resistance_ohm * std::max(0.0, 1.0 + v.wire_resistance_sigma_rel * random.normal());
    const DeviceParams& device = varied_device(inputs);
    ChipSample sample;
    ChipInstance& chip = sample.chip;
    chip.comparator_offset_V = offset;
    chip.v_read_V = v_read;
    chip.drift_factor = drift;
    chip.wire_resistance_ohm = wire;
    for (const ReplicaCell& cell : inputs.design.cells) {
        const CellSample c = sample_cell(cell.target_S, device, drift, random);
        chip.replica_conductance_S.push_back(c.conductance_S);
        sample.states.push_back(c.state);
    }
    return sample;
}

/// One measure-and-trim round (see docs/montecarlo.md): spare calibration cells fill
/// conductance deficits from the step where they start; step cells are reprogrammed
/// down for excesses. Returns whether anything changed.
bool trim_round(const StudyInputs& inputs, const std::vector<double>& measured, ReplicaDesign& design, ChipSample& chip,
                RandomStream& random)
{
    const DeviceParams& device = varied_device(inputs);
    const double g_min = device.g_min_S, g_max = device.g_max_S, s = design.scale_per_S;
    const auto& target = design.levels.thresholds;
    bool changed = false;
    double adjusted = 0.0;  // conductance added (or removed) this round at the steps passed so far
    for (std::size_t k = 0; k < target.size(); ++k) {
        const int step = static_cast<int>(k) + 1;
        if (!std::isfinite(measured[k])) continue;
        const double need = (target[k] - measured[k]) / s - adjusted;
        if (need > 0.5 * g_min) {
            for (std::size_t c = 0; c < design.cells.size(); ++c) {
                ReplicaCell& cell = design.cells[c];
                if (cell.role != "calibration" || cell.step >= 0 || chip.states[c] != CellState::ok) continue;
                const double want = std::clamp(need, g_min, g_max);
                const ProgramResult p = program_and_verify(want, device, random);
                cell.step = step;
                cell.target_S = want;
                chip.chip.replica_conductance_S[c] = p.conductance_S * chip.chip.drift_factor;
                adjusted += chip.chip.replica_conductance_S[c];
                changed = true;
                break;
            }
        } else if (need < -0.5 * g_min) {
            // Lower the working cells of this step, never below g_min.
            std::vector<std::size_t> own;
            for (std::size_t c = 0; c < design.cells.size(); ++c)
                if (design.cells[c].step == step && chip.states[c] == CellState::ok &&
                    design.cells[c].target_S > g_min)
                    own.push_back(c);
            double excess = -need;
            for (std::size_t c : own) {
                ReplicaCell& cell = design.cells[c];
                const double lower = std::min(excess / static_cast<double>(own.size()), cell.target_S - g_min);
                if (lower <= 0) continue;
                cell.target_S -= lower;
                const ProgramResult p = program_and_verify(cell.target_S, device, random);
                const double before = chip.chip.replica_conductance_S[c];
                chip.chip.replica_conductance_S[c] = p.conductance_S * chip.chip.drift_factor;
                adjusted += chip.chip.replica_conductance_S[c] - before;
                changed = true;
            }
        }
    }
    return changed;
}

bool passes(const Linearity& linearity, const TrimParams& trim)
{
    return linearity.max_abs_inl_lsb <= trim.inl_spec_lsb && linearity.max_abs_dnl <= trim.dnl_spec &&
           linearity.missing_codes.empty() && linearity.narrow_codes.empty();
}

}  // namespace

ChipInstance draw_chip(const StudyInputs& inputs, std::uint64_t trial, int* stuck_off, int* stuck_on)
{
    ChipSample sample = sample_chip(inputs, trial);
    if (stuck_off) *stuck_off = static_cast<int>(std::count(sample.states.begin(), sample.states.end(), CellState::stuck_off));
    if (stuck_on) *stuck_on = static_cast<int>(std::count(sample.states.begin(), sample.states.end(), CellState::stuck_on));
    return sample.chip;
}

MonteCarlo::MonteCarlo(std::shared_ptr<const StudyInputs> inputs)
    : inputs_(std::move(inputs)),
      nominal_(inputs_->design, inputs_->tech, nominal_chip(inputs_->design, inputs_->tech), inputs_->options)
{
}

TrialResult MonteCarlo::run_trial(std::uint64_t trial) const
{
    const StudyInputs& in = *inputs_;
    const LevelSet& target = in.design.levels;
    const double tolerance = target.lsb() * 1e-6;
    ChipSample sample = sample_chip(in, trial);
    TrialResult r;
    r.trial = trial;
    r.seed = in.spec.seed;
    r.stuck_off = static_cast<int>(std::count(sample.states.begin(), sample.states.end(), CellState::stuck_off));
    r.stuck_on = static_cast<int>(std::count(sample.states.begin(), sample.states.end(), CellState::stuck_on));
    r.comparator_offset_V = sample.chip.comparator_offset_V;
    r.v_read_V = sample.chip.v_read_V;
    r.wire_resistance_ohm = sample.chip.wire_resistance_ohm;
    r.levels = nominal_.with_chip(sample.chip).transition_levels(tolerance);
    r.linearity = nonlinear_linearity(target, r.levels);
    r.effective_mse = in.activations->mse(r.levels, target.levels);
    r.pass = passes(r.linearity, in.spec.trim);

    r.levels_trimmed = r.levels;
    if (in.spec.trim.policy == "spares") {
        ReplicaDesign design = in.design;
        // Trim draws come from their own key, so they never reuse a chip's stream.
        RandomStream random(in.spec.seed ^ 0x9E3779B97F4A7C15ull, trial);
        for (int round = 0; round < in.spec.trim.rounds; ++round) {
            if (passes(nonlinear_linearity(target, r.levels_trimmed), in.spec.trim) && round > 0) break;
            if (!trim_round(in, r.levels_trimmed, design, sample, random)) break;
            r.trimmed = true;
            r.levels_trimmed = nominal_.with_design(design, sample.chip).transition_levels(tolerance);
        }
    }
    r.linearity_trimmed = nonlinear_linearity(target, r.levels_trimmed);
    r.effective_mse_trimmed = in.activations->mse(r.levels_trimmed, target.levels);
    r.pass_trimmed = passes(r.linearity_trimmed, in.spec.trim);
    return r;
}

// ---------------------------------------------------------------------------- files

namespace {

/// Shortest round-trip form; an unreachable threshold is "inf" or "-inf".
std::string number(double v) { return fmt::format("{}", v); }

std::string block_name(std::uint64_t block) { return fmt::format("block_{:06d}.csv", block); }

/// The content of a block file without its checksum line, or empty when missing;
/// throws when the checksum does not match.
std::optional<std::string> read_block(const fs::path& file)
{
    std::error_code ec;
    if (!fs::exists(file, ec)) return std::nullopt;
    const std::string text = io::read_file(file);
    const auto marker = text.rfind("# sha256 ");
    if (marker == std::string::npos || text.back() != '\n')
        throw Error(fmt::format("{}: no checksum line (truncated or edited); delete it to recompute that block",
                                file.string()));
    const std::string content = text.substr(0, marker);
    const std::string stored = text.substr(marker + 9, 64);
    if (sha256_hex(content) != stored)
        throw Error(fmt::format("{}: checksum mismatch (corrupt or edited); delete it to recompute that block",
                                file.string()));
    return content;
}

void write_study_identity(const StudyInputs& in, const fs::path& dir)
{
    const fs::path file = dir / "study.json";
    if (fs::exists(file)) {
        const io::Json existing = io::read_json_file(file);
        const std::string hash = existing.value("study_hash", std::string());
        if (hash != in.study_hash)
            throw Error(fmt::format("{} holds another study (study_hash {} vs {}); use a new directory",
                                    dir.string(), hash.substr(0, 12), in.study_hash.substr(0, 12)));
        return;
    }
    io::OrderedJson j;
    j["format"] = "nladc-study-run";
    j["version"] = 1;
    j["study_hash"] = in.study_hash;
    j["design_hash"] = in.design_hash;
    j["activations_sha256"] = in.activations_sha256;
    // The circuit the chips vary around, for `nladc characterize` to check against.
    j["technology"] = io::technology_to_json(in.tech);
    j["calibration"] = io::calibration_params_to_json(in.options.calibration);
    j["study"] = io::study_to_json(in.spec);
    j["thresholds"] = in.design.levels.thresholds.size();
    j["target_thresholds"] = in.design.levels.thresholds;
    j["lsb"] = in.design.levels.lsb();
    // The quantization error of the target level set itself: the floor for every chip.
    j["ideal_mse"] = in.activations->mse(in.design.levels.thresholds, in.design.levels.levels);
    j["activation_mean_square"] = in.activations->mean_square();
    io::write_file_atomic(file, io::dump_json(j));
}

}  // namespace

std::string trial_csv_header(int thresholds)
{
    std::string h = "trial,seed,stuck_off,stuck_on,comparator_offset_V,v_read_V,wire_resistance_ohm";
    for (int k = 1; k <= thresholds; ++k) h += fmt::format(",T{}", k);
    h += ",max_abs_inl_lsb,max_abs_dnl,missing_codes,code_errors,effective_mse,pass,trimmed";
    for (int k = 1; k <= thresholds; ++k) h += fmt::format(",T{}_trim", k);
    h += ",max_abs_inl_lsb_trim,max_abs_dnl_trim,missing_codes_trim,code_errors_trim,effective_mse_trim,pass_trim\n";
    return h;
}

std::string trial_csv_line(const TrialResult& r)
{
    std::string line = fmt::format("{},{},{},{},{},{},{}", r.trial, r.seed, r.stuck_off, r.stuck_on,
                                   number(r.comparator_offset_V), number(r.v_read_V), number(r.wire_resistance_ohm));
    for (double t : r.levels) {
        line += ',';
        line += number(t);
    }
    line += fmt::format(",{},{},{},{},{},{},{}", number(r.linearity.max_abs_inl_lsb), number(r.linearity.max_abs_dnl),
                        r.linearity.missing_codes.size(), r.linearity.code_errors, number(r.effective_mse),
                        r.pass ? 1 : 0, r.trimmed ? 1 : 0);
    for (double t : r.levels_trimmed) {
        line += ',';
        line += number(t);
    }
    line += fmt::format(",{},{},{},{},{},{}\n", number(r.linearity_trimmed.max_abs_inl_lsb),
                        number(r.linearity_trimmed.max_abs_dnl), r.linearity_trimmed.missing_codes.size(),
                        r.linearity_trimmed.code_errors, number(r.effective_mse_trimmed), r.pass_trimmed ? 1 : 0);
    return line;
}

RunOutcome run_blocks(const MonteCarlo& engine, const fs::path& dir, const RunOptions& options)
{
    const StudyInputs& in = engine.inputs();
    if (options.shards < 1 || options.shard < 1 || options.shard > options.shards)
        throw UsageError(fmt::format("--shard {}/{}: expected i/N with 1 <= i <= N", options.shard, options.shards));
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    fs::create_directories(dir / "blocks", ec);
    if (ec) throw OutputError((dir / "blocks").string(), ec.message());
    write_study_identity(in, dir);

    RunOutcome outcome;
    outcome.blocks_total = block_count(in.spec);
    outcome.blocks_in_shard = (outcome.blocks_total + static_cast<std::uint64_t>(options.shards - options.shard)) /
                              static_cast<std::uint64_t>(options.shards);
    std::vector<std::uint64_t> pending;
    std::uint64_t pending_trials = 0;
    for (std::uint64_t b = 0; b < outcome.blocks_total; ++b) {
        if (b % static_cast<std::uint64_t>(options.shards) != static_cast<std::uint64_t>(options.shard - 1)) continue;
        if (read_block(dir / "blocks" / block_name(b))) {
            ++outcome.blocks_done_before;
            continue;
        }
        pending.push_back(b);
        const std::uint64_t first = b * static_cast<std::uint64_t>(in.spec.block_size);
        pending_trials += std::min<std::uint64_t>(in.spec.block_size, in.spec.trials - first);
    }

    std::atomic<std::size_t> next{0};
    std::atomic<std::uint64_t> done{0};
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    std::string error_message;
    auto worker = [&] {
        try {
            while (!failed) {
                if (options.stop && options.stop->load()) return;
                const std::size_t i = next++;
                if (i >= pending.size()) return;
                const std::uint64_t b = pending[i];
                const std::uint64_t first = b * static_cast<std::uint64_t>(in.spec.block_size);
                const std::uint64_t last = std::min<std::uint64_t>(first + in.spec.block_size, in.spec.trials);
                std::string content;
                for (std::uint64_t t = first; t < last; ++t) {
                    if (options.stop && options.stop->load()) return;  // the block is abandoned, not written
                    content += trial_csv_line(engine.run_trial(t));
                    ++done;
                }
                const std::string checksum = fmt::format("# sha256 {}\n", sha256_hex(content));
                content.append(checksum);
                io::write_file_atomic(dir / "blocks" / block_name(b), content);
            }
        } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!failed.exchange(true)) error_message = e.what();
        }
    };
    const int threads = std::max(1, options.threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    while (options.progress) {
        const bool finished = next.load() >= pending.size() && done.load() >= pending_trials;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        options.progress(done.load(), pending_trials, seconds);
        if (finished || failed || (options.stop && options.stop->load())) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (next.load() >= pending.size() + static_cast<std::size_t>(threads)) break;
    }
    for (auto& t : pool) t.join();
    if (failed) throw Error(error_message);
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.progress) options.progress(done.load(), pending_trials, outcome.seconds);
    outcome.interrupted = options.stop && options.stop->load();
    std::uint64_t present = 0;
    for (std::uint64_t b = 0; b < outcome.blocks_total; ++b) present += read_block(dir / "blocks" / block_name(b)) ? 1 : 0;
    outcome.blocks_run = present - outcome.blocks_done_before;
    outcome.complete = present == outcome.blocks_total;
    return outcome;
}

std::uint64_t block_count(const StudySpec& spec)
{
    return (static_cast<std::uint64_t>(spec.trials) + static_cast<std::uint64_t>(spec.block_size) - 1) /
           static_cast<std::uint64_t>(spec.block_size);
}

StudySpec study_of_run(const fs::path& dir)
{
    const fs::path file = dir / "study.json";
    const io::Json identity = io::read_json_file(file);
    return io::study_from_json(io::require(identity, io::JsonPlace(file.string(), ""), "study"),
                               io::JsonPlace(file.string(), "study"));
}

std::vector<std::uint64_t> missing_blocks(const StudySpec& spec, const fs::path& dir, int shard, int shards)
{
    std::vector<std::uint64_t> missing;
    for (std::uint64_t b = static_cast<std::uint64_t>(shard - 1); b < block_count(spec); b += static_cast<std::uint64_t>(shards))
        if (!read_block(dir / "blocks" / block_name(b))) missing.push_back(b);
    return missing;
}

int recorded_shard_count(const std::vector<fs::path>& dirs)
{
    for (const fs::path& dir : dirs) {
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            int shard = 0, shards = 0;
            char tail[8] = {};
            // run_<i>of<N>.json, written by steps::run_mc for every shard it runs
            if (std::sscanf(it->path().filename().c_str(), "run_%dof%d%7s", &shard, &shards, tail) == 3 &&
                std::string(tail) == ".json" && shards >= 1)
                return shards;
        }
    }
    return 0;
}

void merge_blocks(const std::vector<fs::path>& sources, const fs::path& dir)
{
    if (sources.empty()) throw UsageError("mc merge: no study directories given");
    const io::Json identity = io::read_json_file(sources.front() / "study.json");
    const std::string hash = identity.value("study_hash", std::string());
    for (const auto& source : sources) {
        const io::Json other = io::read_json_file(source / "study.json");
        const std::string other_hash = other.value("study_hash", std::string());
        if (other_hash != hash)
            throw Error(fmt::format("mc merge: {} (study_hash {}) and {} (study_hash {}) hold different studies; "
                                    "merge only the shards of one study",
                                    sources.front().string(), hash.substr(0, 12), source.string(), other_hash.substr(0, 12)));
    }
    const StudySpec spec = study_of_run(sources.front());
    const int thresholds = identity["thresholds"].get<int>();
    // Which directory holds each block, before anything is created.
    std::vector<fs::path> holder(block_count(spec));
    for (std::uint64_t b = 0; b < holder.size(); ++b) {
        for (const auto& source : sources) {
            std::error_code ignored;
            if (fs::exists(source / "blocks" / block_name(b), ignored)) {
                holder[b] = source / "blocks" / block_name(b);
                break;
            }
        }
        if (holder[b].empty()) {
            const int shards = recorded_shard_count(sources);
            const std::string owner =
                shards > 0 ? fmt::format(" (it belongs to shard {}/{})", b % static_cast<std::uint64_t>(shards) + 1, shards)
                           : std::string();
            throw Error(fmt::format("mc merge: block {} ({}) is missing from every given directory{}; run the shard "
                                    "that owns it",
                                    b, block_name(b), owner));
        }
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw OutputError(dir.string(), ec.message());
    {
        // Streamed block by block (each checked against its checksum): the merge holds one
        // block, not the whole file.
        io::AtomicFile trials(dir / "trials.csv");
        trials.stream() << trial_csv_header(thresholds);
        for (const fs::path& block : holder) {
            const std::optional<std::string> content = read_block(block);
            if (!content) throw Error(fmt::format("mc merge: {} disappeared during the merge", block.string()));
            trials.stream() << *content;
        }
        if (!fs::exists(dir / "study.json"))
            io::write_file_atomic(dir / "study.json", io::read_file(sources.front() / "study.json"));
        trials.commit();
    }
    write_summary(dir, spec);
}

std::vector<TrialResult> read_trials(const fs::path& dir) { return detail::parse_trials(dir / "trials.csv"); }

}  // namespace nladc
