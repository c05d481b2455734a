// nladc command-line entry point: dispatch to the commands and map errors to exit codes.
#include <fmt/format.h>

#include <clocale>
#include <cmath>
#include <iostream>

#include "cli.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"

namespace nladc::cli {

CLI::Validator int_range(long long lo, long long hi)
{
    return CLI::Validator(
        [lo, hi](std::string& text) -> std::string {
            long long value = 0;
            std::size_t used = 0;
            try {
                value = std::stoll(text, &used);
            } catch (const std::exception&) {
                return fmt::format("'{}' is not an integer", text);
            }
            if (used != text.size()) return fmt::format("'{}' is not an integer", text);
            if (value < lo || value > hi) return fmt::format("{} is outside [{}, {}]", value, lo, hi);
            return {};
        },
        fmt::format("INT in [{}, {}]", lo, hi));
}

const CLI::Validator finite_number(
    [](std::string& text) -> std::string {
        std::size_t used = 0;
        double value = 0;
        try {
            value = std::stod(text, &used);
        } catch (const std::out_of_range&) {
            return fmt::format("'{}' is outside the range of a double", text);
        } catch (const std::exception&) {
            return {};  // not a number at all: the option's own conversion reports it
        }
        if (used == text.size() && !std::isfinite(value)) return fmt::format("'{}' is not a finite number", text);
        return {};
    },
    "FINITE");

void note(const std::string& message) { std::cerr << message << '\n'; }

namespace {

/// Every floating-point option of `app` and its subcommands must be finite.
void require_finite_numbers(CLI::App& app)
{
    for (CLI::Option* option : app.get_options())
        if (option->get_type_name().find("FLOAT") != std::string::npos) option->check(finite_number);
    for (CLI::App* sub : app.get_subcommands({})) require_finite_numbers(*sub);
}

}  // namespace

}  // namespace nladc::cli

int main(int argc, char** argv)
{
    std::setlocale(LC_ALL, "C");
    CLI::App app{"nladc: design kit for the in-memory nonlinear ADC of analog in-memory-computing accelerators"};
    app.set_version_flag("--version", std::string(nladc::version()));
    app.require_subcommand(1);
    app.failure_message([&app](const CLI::App* failed, const CLI::Error& error) {
        // A validator's error reaches the top-level app: name the command that was given.
        std::string command = failed == &app ? "" : failed->get_name();
        if (command.empty())
            for (const CLI::App* sub : app.get_subcommands())
                if (sub->parsed()) command = sub->get_name();
        return fmt::format("nladc{}{}: {} (see --help)\n", command.empty() ? "" : " ", command, error.what());
    });

    std::vector<nladc::cli::Command> commands = {
        nladc::cli::add_synth(app),
        nladc::cli::add_levels(app),
        nladc::cli::add_compare(app),
        nladc::cli::add_score(app),
        nladc::cli::add_tech(app),
        nladc::cli::add_map(app),
        nladc::cli::add_convert(app),
        nladc::cli::add_transfer(app),
        nladc::cli::add_netlist(app),
        nladc::cli::add_calibrate(app),
        nladc::cli::add_mc(app),
        nladc::cli::add_characterize(app),
        nladc::cli::add_export(app),
        nladc::cli::add_area(app),
        nladc::cli::add_flow(app),
        nladc::cli::add_dnn(app),
    };

    nladc::cli::require_finite_numbers(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        return code == 0 ? 0 : 2;
    }
    try {
        for (const auto& command : commands)
            if (command.app->parsed()) command.run();
        return 0;
    } catch (const nladc::UsageError& error) {
        std::cerr << "nladc: " << error.what() << '\n';
        return 2;
    } catch (const nladc::Error& error) {
        std::cerr << "nladc: " << error.what() << '\n';
        return 1;
    } catch (const std::exception& error) {
        std::cerr << "nladc: internal error: " << error.what() << '\n';
        return 1;
    }
}
