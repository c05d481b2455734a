// `nladc flow` (flow/flow.hpp): the stages in order, their keys and the report. Each
// stage calls one step (steps/) and writes its section (sections.cpp).
#include "nladc/flow/flow.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "nladc/core/error.hpp"
#include "nladc/core/sha256.hpp"
#include "nladc/core/version.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/plot.hpp"
#include "nladc/spice/netlist.hpp"
#include "sections.hpp"
#include "stage_runner.hpp"

namespace nladc {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
using flow_detail::link;
using flow_detail::seconds_since;
using flow_detail::StageRunner;

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

steps::DataSelection selection(const FlowConfig& config, const LayerPaths& layer)
{
    return {layer.activations.string(), "", policy(config), summary_options(config), nullptr};
}

// ---------------------------------------------------------------------------------------
// Stages. Each runs its step into `dir` and writes section.md there.

void compare_stage(const FlowConfig& config, const std::vector<LayerPaths>& layers, const fs::path& root,
                   const fs::path& dir)
{
    std::string csv;
    std::vector<CompareRow> all;
    std::vector<flow_detail::ComparedLayer> compared;
    for (const LayerPaths& layer : layers) {
        steps::CompareRequest request;
        request.data = selection(config, layer);
        request.options.bits = config.compare_bits;
        request.options.summary = request.data.summary;
        steps::CompareLayer result = steps::run_compare(request).front();
        csv += compare_to_csv(result.rows, layer.name, csv.empty());
        all.insert(all.end(), result.rows.begin(), result.rows.end());
        compared.push_back({layer.title(), std::move(result)});
    }
    io::write_file_atomic(dir / "compare.csv", csv);
    plot_compare(all, "Quantization MSE versus ADC bits", dir / "compare.png");
    io::write_file_atomic(dir / "section.md", flow_detail::compare_section(compared, root, dir));
}

void levels_stage(const FlowConfig& config, const LayerPaths& layer, const fs::path& root, const fs::path& dir)
{
    QuantizerOptions q;
    q.bits = config.bits;
    q.method = config.method;
    q.variant = config.variant;
    const auto designed = steps::run_levels({selection(config, layer), q, (dir / "levels.json").string()});
    io::write_file_atomic(dir / "section.md", flow_detail::levels_section(layer.title(), designed.front().designed, root, dir));
}

void mapping_stage(const FlowConfig& config, const LayerPaths& layer, const fs::path& root, const fs::path& levels_dir,
                   const fs::path& dir)
{
    steps::MapRequest request;
    request.levels_file = (levels_dir / "levels.json").string();
    request.tech_file = config.technology;
    request.mapping.calibration_cells = config.calibration_cells;
    request.compensate = config.compensate;
    request.input = layer.activations.string();
    request.nonfinite = policy(config);
    request.out = (dir / "design.json").string();
    const steps::MapResult mapped = steps::run_map(request);
    io::write_file_atomic(dir / "section.md", flow_detail::mapping_section(layer.title(), mapped, root, dir));
}

void netlist_stage(const FlowConfig& config, const fs::path& root, const fs::path& design_file, const fs::path& dir)
{
    steps::NetlistRequest request;
    request.design_file = design_file.string();
    request.options.corner = config.spice.corner;
    request.options.temperature_C = config.spice.temperature_C;
    request.options.circuit = config.spice.circuit;
    request.options.inline_library = true;
    request.out = (dir / "conversion.cir").string();
    const steps::NetlistResult conversion = steps::run_netlist(request);
    request.options.kind = "mac";
    request.out = (dir / "mac.cir").string();
    steps::run_netlist(request);
    io::write_file_atomic(dir / "section.md", flow_detail::netlist_section(config, conversion.mac, root, dir));
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
    steps::CalibrateRequest request;
    request.design_file = design_file.string();
    request.out = (dir / "calibrated.json").string();
    CalibrationOptions& options = request.options;
    options.netlist.corner = config.spice.corner;
    options.netlist.temperature_C = config.spice.temperature_C;
    options.netlist.circuit = config.spice.circuit;
    options.agreement_samples = config.spice.agreement_samples;
    options.near_threshold_samples = config.spice.near_threshold_samples;
    options.bisection_thresholds = config.spice.bisection_thresholds;
    options.validations = split_list(config.spice.validations);
    options.ablation = config.spice.ablation;
    options.workers = config.spice.workers;
    options.progress = [&runner](const std::string& message) { runner.note("calibration: " + message); };
    const steps::CalibrateResult result = steps::run_calibrate(request);
    io::write_file_atomic(dir / "section.md", flow_detail::calibration_section(config, result.report, root, dir));
}

void monte_carlo_stage(const FlowConfig& config, const fs::path& root, const StudySpec& spec, const fs::path& dir,
                       const StageRunner& runner)
{
    steps::McRequest request;
    request.spec = spec;
    request.out = dir;
    request.threads = config.threads;
    request.run_record = false;
    double last_note = -10;
    request.progress = [&](std::uint64_t done, std::uint64_t total, double seconds) {
        if (seconds - last_note < 5 && done < total) return;
        last_note = seconds;
        runner.note(fmt::format("monte carlo: {}/{} trials, {:.0f}/s", done, total, seconds > 0 ? done / seconds : 0.0));
    };
    request.spice_progress = [&runner](int done, int total) {
        runner.note(fmt::format("SPICE monte carlo: {}/{} chips", done, total));
    };
    const steps::McResult result = steps::run_mc(request);
    if (!result.summary) throw Error(fmt::format("{}: the Monte Carlo study did not complete", dir.string()));
    io::write_file_atomic(dir / "section.md", flow_detail::monte_carlo_section(spec, result, root, dir));
}

void characterize_stage(const FlowConfig& config, const fs::path& root, const fs::path& design_file,
                        const fs::path& calibration_file, const fs::path& study_dir, const fs::path& dir)
{
    steps::CharacterizeRequest request;
    request.evaluation.design_file = design_file.string();
    request.evaluation.calibration_file = calibration_file.string();
    request.options.ramp_points = static_cast<std::size_t>(config.ramp_points);
    request.options.study_dir = study_dir.string();
    request.options.spice_energy = config.spice.enabled && config.spice.circuit == "transistor";
    request.options.spice_workers = config.spice.workers;
    request.out = dir;
    const steps::CharacterizeResult result = steps::run_characterize(request);
    io::write_file_atomic(dir / "section.md",
                          flow_detail::characterization_section(result.characterization, result.array_load,
                                                                !calibration_file.empty(), request.options.ramp_points,
                                                                root, dir));
}

void export_stage(const FlowConfig& config, const fs::path& root, const fs::path& characterization_dir,
                  const fs::path& dir)
{
    const AdcModel model = model_from_characterization(characterization_dir);
    std::vector<ExportFormat> formats;
    for (const std::string& name : config.exports) formats.push_back(parse_export_format(name));
    const auto files = steps::export_all(model, formats, dir);
    io::write_file_atomic(dir / "section.md", flow_detail::export_section(model, files, root, dir));
}

void area_stage(const FlowConfig& config, const fs::path& root, const fs::path& dir)
{
    const steps::AreaResult result = steps::run_area({config.technology, config.area_bits, "", dir.string()});
    io::write_file_atomic(dir / "section.md", flow_detail::area_section(result.report, root, dir));
}

/// Network-level accuracy (dnn/study.hpp): the study's own outputs plus its summary as the section.
void dnn_stage(const dnn::DnnConfig& study, const fs::path& root, const fs::path& dir, const StageRunner& runner)
{
    const dnn::DnnResult result =
        steps::run_dnn_study({study, dir, [&runner](const std::string& message) { runner.note(message); }});
    io::write_file_atomic(dir / "section.md", dnn::summary_markdown(study, result, link(root, dir) + "/", 2) + "\n");
}

/// A technology file's identity in stage keys: its effective values (steps::load_technology),
/// so reformatting the file or spelling out a default redoes nothing.
std::string technology_key(const std::string& file)
{
    return file.empty() ? std::string("defaults")
                        : sha256_hex(io::dump_json(io::technology_to_json(steps::load_technology(file))));
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

    const std::string tech_hash = technology_key(config.technology);
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
                   fmt::format("{}\n{}", io::dump_json(io::dnn_config_to_json(study)), technology_key(study.technology)),
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
