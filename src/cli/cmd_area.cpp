// Area, energy and latency comparison: area.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "nladc/area/area.hpp"
#include "nladc/documents/technology_file.hpp"
#include "nladc/spice/netlist.hpp"

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
                const Technology tech = flags->tech.empty() ? Technology{} : io::read_technology(flags->tech);
                std::vector<int> bits = flags->bits;
                std::sort(bits.begin(), bits.end());
                bits.erase(std::unique(bits.begin(), bits.end()), bits.end());
                const auto circuits = spice::find_circuits(flags->circuits);
                note(fmt::format("area: {} cells, F = {:g} nm, circuits from {}", tech.device.cell_type,
                                 tech.array.feature_size_m * 1e9, circuits.string()));
                const AreaReport report = compare_adc_costs(tech, bits, circuits);
                std::cout << area_table_markdown(report);
                if (!flags->out.empty()) {
                    write_area_report(report, flags->out);
                    note(fmt::format("wrote {}/area.csv, area.json, area.png", flags->out));
                }
            }};
}

}  // namespace nladc::cli
