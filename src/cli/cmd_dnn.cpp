// Network-level accuracy on Fashion-MNIST: dnn.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "nladc/core/error.hpp"
#include "nladc/steps/study_steps.hpp"

namespace nladc::cli {

Command add_dnn(CLI::App& parent)
{
    struct Flags {
        std::string config, out;
        bool example = false, describe = false;
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand(
        "dnn", "Fashion-MNIST MLP accuracy with NL-ADC hidden layers per method and bit width: ideal, Monte Carlo "
               "chips, fine-tuned (docs/dnn.md)");
    app->add_option("--config", flags->config, "nladc-dnn config JSON (default: the built-in study; see --example-config)");
    app->add_option("--out", flags->out, "Output directory: accuracy.csv, accuracy.png, summary.md, ...");
    app->add_flag("--example-config", flags->example, "Print the default config (every key) and exit");
    app->add_flag("--describe-config", flags->describe, "Print every config key with default and meaning (Markdown)");
    return {app, [flags] {
                if (flags->example) {
                    std::cout << io::dump_json(io::dnn_config_to_json(dnn::DnnConfig{}));
                    return;
                }
                if (flags->describe) {
                    std::cout << io::describe_dnn_config();
                    return;
                }
                if (flags->out.empty()) throw UsageError("dnn: --out DIR is required");
                const dnn::DnnConfig config = flags->config.empty() ? dnn::DnnConfig{} : io::read_dnn_config(flags->config);
                const dnn::DnnResult result = steps::run_dnn_study({config, flags->out, note});
                for (const dnn::AccuracyRow& row : result.rows)
                    if (row.condition == "float" || row.condition == "finetuned" || row.bits == 4)
                        std::cout << fmt::format("{:<10} {:>2} b {:<9} {:.4f} ± {:.4f} ({} trials)\n", row.method,
                                                 row.bits, row.condition, row.mean, row.std, row.trials);
                std::cout << fmt::format("dnn finished in {:.1f} s; table: {}\n", result.seconds,
                                         (std::filesystem::path(flags->out) / "accuracy.csv").string());
            }};
}

}  // namespace nladc::cli
