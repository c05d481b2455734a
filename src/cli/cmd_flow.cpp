// The main job: nladc flow.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "nladc/core/error.hpp"
#include "nladc/flow/flow.hpp"

namespace nladc::cli {

Command add_flow(CLI::App& parent)
{
    struct Flags {
        std::string config, out;
        bool force = false, example = false, describe = false;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand(
        "flow", "Activations to a characterized ADC model in one command, with a report (docs/flow.md)");
    app->add_option("--config", flags->config, "Flow config JSON (default: the embedded default; see --example-config)");
    app->add_option("--out", flags->out, "Output directory (rerun to reuse finished stages)");
    app->add_flag("--force", flags->force, "Redo every stage");
    app->add_flag("--example-config", flags->example, "Print the default config (every key) and exit");
    app->add_flag("--describe-config", flags->describe, "Print every config key with unit, default and meaning (Markdown)");
    return {app, [flags] {
                if (flags->example) {
                    std::cout << io::dump_json(io::flow_config_to_json(
                        io::flow_config_from_json(io::Json::object(), io::JsonPlace("defaults"))));
                    return;
                }
                if (flags->describe) {
                    std::cout << io::describe_flow_config();
                    return;
                }
                if (flags->out.empty()) throw UsageError("flow: --out DIR is required");
                const FlowConfig config = flags->config.empty()
                                              ? io::flow_config_from_json(io::Json::object(), io::JsonPlace("defaults"))
                                              : io::read_flow_config(flags->config);
                FlowOptions options;
                options.force = flags->force;
                options.progress = note;
                const FlowResult result = run_flow(config, flags->out, options);
                int reused = 0;
                for (const auto& stage : result.stages) reused += stage.reused;
                std::cout << fmt::format("flow finished in {:.1f} s ({} stages, {} reused); report: {}\n", result.seconds,
                                         result.stages.size(), reused, result.report.string());
            }};
}

}  // namespace nladc::cli
