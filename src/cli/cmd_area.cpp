// Area, energy and latency comparison: area.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "nladc/steps/study_steps.hpp"

namespace nladc::cli {

Command add_area(CLI::App& parent)
{
    struct Flags {
        std::string tech, circuits, out;
        std::vector<int> bits = {3, 4, 5, 6};
    };
    auto flags = std::make_shared<Flags>();
    CLI::App* app = parent.add_subcommand(
        "area", "Area, energy and latency per conversion of the in-memory NL-ADC against SAR, flash, Yang 2025 and "
                "ReADC (docs/area.md)");
    app->add_option("--tech", flags->tech, "Technology JSON (default: the built-in technology)");
    app->add_option("--bits", flags->bits, "Comma-separated bit widths")->delimiter(',')->check(int_range(1, 16));
    app->add_option("--circuits", flags->circuits, "circuits/ directory holding nladc_cells.lib");
    app->add_option("--out", flags->out, "Also write area.csv, area.json and area.png into this directory");
    return {app, [flags] {
                const steps::AreaResult result = steps::run_area({flags->tech, flags->bits, flags->circuits, flags->out});
                note(fmt::format("area: {} cells, F = {:g} nm, circuits from {}", result.tech.device.cell_type,
                                 result.tech.array.feature_size_m * 1e9, result.circuits.string()));
                std::cout << area_table_markdown(result.report);
                if (!flags->out.empty()) note(fmt::format("wrote {}/area.csv, area.json, area.png", flags->out));
            }};
}

}  // namespace nladc::cli
