// `nladc flow` from the outside: a small config end to end (real ngspice), the report and
// everything it links to, stage reuse, and configs that must fail before any work.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "../support.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/flow/flow.hpp"
#include "nladc/io/activations.hpp"

using namespace nladc;
using test::run_cli;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = NLADC_SOURCE_DIR;

/// A flow small enough for the test suite: 3 bits, 400 chips, 1 SPICE chip.
nlohmann::json small_config(const fs::path& activations)
{
    return nlohmann::json::parse(fmt::format(R"({{
        "activations": "{}", "bits": 3, "range": [0, 6], "compare_bits": [3, 4], "area_bits": [3, 4, 5],
        "ramp_points": 20000,
        "spice": {{"agreement_samples": 0, "bisection_thresholds": 1, "validations": ""}},
        "monte_carlo": {{"trials": 400, "block_size": 100, "spice": {{"trials": 1}}}}
    }})",
                                             activations.string()));
}

/// stage name -> reused, from the stage.json files and the CLI's progress lines.
std::map<std::string, bool> stages_reused(const std::string& err)
{
    std::map<std::string, bool> reused;
    const std::regex line("\\] ([a-z /]+): (reused|running)");
    for (auto it = std::sregex_iterator(err.begin(), err.end(), line); it != std::sregex_iterator(); ++it)
        reused[(*it)[1]] = (*it)[2] == "reused";
    return reused;
}

bool is_png(const fs::path& file)
{
    const std::string head = test::slurp(file).substr(0, 8);
    return head == std::string("\x89PNG\r\n\x1a\n", 8);
}

}  // namespace

TEST_CASE("flow: a small config end to end, then reused stage by stage", "[cli][flow][ngspice][long]")
{
    test::ScratchDir dir;
    REQUIRE(run_cli({"synth", "--n", "20000", "--out", (dir / "acts.npy").string()}).exit_code == 0);
    test::write_text(dir / "flow.json", small_config(dir / "acts.npy").dump(2));
    const std::vector<std::string> args = {"flow", "--config", (dir / "flow.json").string(), "--out",
                                           (dir / "out").string()};
    const auto first = run_cli(args);
    INFO(first.err);
    REQUIRE(first.exit_code == 0);

    const std::string report = test::slurp(dir / "out" / "report.md");
    for (const char* heading : {"## Quantizer comparison", "## Level set", "## Replica column", "## Netlists",
                                "## Behavioral model against SPICE", "## Monte Carlo", "### SPICE Monte Carlo",
                                "## Characterization", "## Exported models", "## Area, energy and latency"})
        CHECK(report.find(heading) != std::string::npos);
    CHECK(report.find("yield") != std::string::npos);
    // The area table has a ratio for every bit width asked for.
    for (const char* bits : {"| 3 ", "| 4 ", "| 5 "}) CHECK(report.find(bits) != std::string::npos);

    // Every link resolves; every image is a PNG.
    std::set<std::string> targets;
    const std::regex link("\\]\\(([^)]+)\\)");
    for (auto it = std::sregex_iterator(report.begin(), report.end(), link); it != std::sregex_iterator(); ++it)
        targets.insert((*it)[1]);
    CHECK(targets.size() >= 15);
    for (const std::string& target : targets) {
        INFO(target);
        REQUIRE(fs::exists(dir / "out" / target));
        if (fs::path(target).extension() == ".png") CHECK(is_png(dir / "out" / target));
    }
    // The netlist the flow wrote runs in ngspice as it stands (self-contained) and gives
    // the code the behavioral model gives at the same MAC value.
    {
        std::string out;
        std::FILE* pipe = ::popen(fmt::format("cd '{}' && ngspice -b conversion.cir 2>&1",
                                              (dir / "out" / "netlists").string()).c_str(), "r");
        REQUIRE(pipe);
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
        ::pclose(pipe);
        std::smatch match;
        INFO(out.substr(0, 2000));
        REQUIRE(std::regex_search(out, match, std::regex(R"(\ncode\s*=\s*([0-9.e+-]+))")));
        const auto convert = run_cli({"convert", "--design", (dir / "out" / "mapping" / "design.json").string(),
                                      "--mac", "3"});
        REQUIRE(convert.exit_code == 0);
        std::smatch code;
        REQUIRE(std::regex_search(convert.out, code, std::regex(R"(code\D*([0-9]+))")));
        CHECK(std::lround(std::stod(match[1])) == std::stol(code[1]));
    }

    // The exported JSON model loads and carries the Monte Carlo mean.
    const nlohmann::json model = nlohmann::json::parse(test::slurp(dir / "out" / "models" / "adc_model.json"));
    CHECK(model.at("thresholds").size() == 7);
    CHECK(model.at("monte_carlo").at("trials") == 400);

    // The same config again reuses every stage.
    {
        const auto second = run_cli(args);
        REQUIRE(second.exit_code == 0);
        const auto reused = stages_reused(second.err);
        CHECK(reused.size() == 10);
        for (const auto& [stage, was_reused] : reused) {
            INFO(stage);
            CHECK(was_reused);
        }
        CHECK(second.out.find("10 reused") != std::string::npos);
    }
    // A Monte Carlo knob redoes that stage and those after it only (no SPICE chip this time,
    // to keep it short).
    {
        nlohmann::json config = small_config(dir / "acts.npy");
        config["monte_carlo"]["trials"] = 300;
        config["monte_carlo"]["spice"]["trials"] = 0;
        test::write_text(dir / "flow.json", config.dump(2));
        const auto again = run_cli(args);
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        const auto reused = stages_reused(again.err);
        for (const char* stage : {"data", "compare", "levels", "mapping", "netlists", "calibration", "area"})
            CHECK(reused.at(stage));
        for (const char* stage : {"monte carlo", "characterization", "export"}) CHECK_FALSE(reused.at(stage));
        CHECK(nlohmann::json::parse(test::slurp(dir / "out" / "models" / "adc_model.json"))
                  .at("monte_carlo")
                  .at("trials") == 300);
    }
    // A changed activation file redoes everything that reads it (SPICE off to keep this short).
    {
        REQUIRE(run_cli({"synth", "--n", "20000", "--seed", "2", "--out", (dir / "acts.npy").string()}).exit_code == 0);
        nlohmann::json config = small_config(dir / "acts.npy");
        config["spice"]["enabled"] = false;
        test::write_text(dir / "flow.json", config.dump(2));
        const auto again = run_cli(args);
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        const auto reused = stages_reused(again.err);
        for (const char* stage : {"data", "compare", "levels", "mapping", "monte carlo", "export"})
            CHECK_FALSE(reused.at(stage));
        CHECK(reused.at("area"));
        CHECK(reused.count("calibration") == 0);
        CHECK(test::slurp(dir / "out" / "report.md").find("## Behavioral model against SPICE") == std::string::npos);
    }
}

TEST_CASE("flow: an npz of two layers designs one ADC per layer", "[cli][flow]")
{
    test::ScratchDir dir;
    SyntheticSpec spec;
    spec.samples = 20000;
    const std::vector<float> fc1 = generate_synthetic(spec);
    spec.distribution = "lognormal";
    spec.sigma = 0.8;
    spec.seed = 3;
    const std::vector<float> fc2 = generate_synthetic(spec);
    io::write_npz(dir / "acts.npz", {{"fc1", fc1, {fc1.size()}}, {"fc2", fc2, {fc2.size()}}});
    nlohmann::json config = small_config(dir / "acts.npz");
    config["spice"]["enabled"] = false;
    config["exports"] = {"json"};
    test::write_text(dir / "flow.json", config.dump(2));
    const auto r = run_cli({"flow", "--config", (dir / "flow.json").string(), "--out", (dir / "out").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string report = test::slurp(dir / "out" / "report.md");
    for (const char* layer : {"fc1", "fc2"}) {
        INFO(layer);
        CHECK(report.find(fmt::format("## Level set (layer {})", layer)) != std::string::npos);
        const nlohmann::json model =
            nlohmann::json::parse(test::slurp(dir / "out" / "layers" / layer / "models" / "adc_model.json"));
        CHECK(model.at("thresholds").size() == 7);
    }
    // Different data, different level sets.
    CHECK(test::slurp(dir / "out" / "layers" / "fc1" / "levels" / "levels.json") !=
          test::slurp(dir / "out" / "layers" / "fc2" / "levels" / "levels.json"));
    // The comparison covers both layers in one table file.
    const std::string csv = test::slurp(dir / "out" / "compare" / "compare.csv");
    CHECK(csv.find("fc1,") != std::string::npos);
    CHECK(csv.find("fc2,") != std::string::npos);

    nlohmann::json unknown = config;
    unknown["layers"] = {"fc3"};
    test::write_text(dir / "bad.json", unknown.dump(2));
    const auto bad = run_cli({"flow", "--config", (dir / "bad.json").string(), "--out", (dir / "never").string()});
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("fc3") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "never"));
}

TEST_CASE("flow: bad configs fail at once, before any stage, naming the key", "[cli][flow][errors]")
{
    test::ScratchDir dir;
    REQUIRE(run_cli({"synth", "--n", "2000", "--out", (dir / "acts.npy").string()}).exit_code == 0);
    struct Case {
        std::string what, needle;
        nlohmann::json config;
    };
    std::vector<Case> cases;
    auto good = small_config(dir / "acts.npy");
    {
        auto c = good;
        c["bitz"] = 4;
        cases.push_back({"misspelt key", "bitz", c});
    }
    {
        auto c = good;
        c["activations"] = (dir / "missing.npy").string();
        cases.push_back({"missing activation file", "missing.npy", c});
    }
    {
        auto c = good;
        c["bits"] = 9;
        cases.push_back({"bits above 8", "bits", c});
    }
    {
        auto c = good;
        c["monte_carlo"]["technology_overrides"]["device.program_sigma_S"] = -1;
        cases.push_back({"negative sigma", "device.program_sigma_S", c});
    }
    {
        auto c = good;
        c["monte_carlo"]["design"] = "x.json";
        cases.push_back({"study file key set by the flow", "monte_carlo.design", c});
    }
    {
        auto c = good;
        c["exports"] = {"json", "gds"};
        cases.push_back({"unknown export format", "gds", c});
    }
    {
        auto c = good;
        c["range"] = {6, 0};
        cases.push_back({"empty range", "range", c});
    }
    for (const Case& c : cases) {
        INFO(c.what);
        test::write_text(dir / "bad.json", c.config.dump(2));
        const auto r = run_cli({"flow", "--config", (dir / "bad.json").string(), "--out", (dir / "never").string()});
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find(c.needle) != std::string::npos);
        CHECK(r.err.find("bad.json") != std::string::npos);
        CHECK(test::count_lines(r.err) == 1);
        CHECK_FALSE(fs::exists(dir / "never"));
    }
    const auto no_out = run_cli({"flow"});
    CHECK(no_out.exit_code == 2);
}

TEST_CASE("flow: --example-config round-trips and docs/flow-config.md is current", "[flow]")
{
    const auto example = run_cli({"flow", "--example-config"});
    REQUIRE(example.exit_code == 0);
    const nlohmann::json printed = nlohmann::json::parse(example.out);
    const FlowConfig parsed = io::flow_config_from_json(printed, io::JsonPlace("example"));
    CHECK(nlohmann::json::parse(io::flow_config_to_json(parsed).dump()) == printed);
    CHECK(parsed.bits == 4);
    CHECK(parsed.monte_carlo.trials == 10000);
    CHECK(parsed.monte_carlo.spice.trials == 2);
    CHECK(parsed.monte_carlo.spice.circuit == "transistor");
    const std::string page = test::slurp(kSource / "docs" / "flow-config.md");
    CHECK(page.find(io::describe_flow_config()) != std::string::npos);
}
