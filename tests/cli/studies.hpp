#pragma once
// Monte Carlo studies for the CLI tests: the example study on ideal wires, where a trial
// costs no IR-drop solves (thousands of trials per second).

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../support.hpp"

namespace nladc::test {

/// Writes dir/tech.json (the default technology with wire_resistance_ohm 0) and returns
/// `nladc mc --example-study` with "technology" pointing at it (absolute path).
inline nlohmann::json ideal_wire_study(const ScratchDir& dir)
{
    const auto tech = run_cli({"tech", "--defaults"});
    REQUIRE(tech.exit_code == 0);
    nlohmann::json t = nlohmann::json::parse(tech.out);
    t["array"]["wire_resistance_ohm"] = 0.0;
    write_text(dir / "tech.json", t.dump(2));
    const auto example = run_cli({"mc", "--example-study"});
    REQUIRE(example.exit_code == 0);
    nlohmann::json study = nlohmann::json::parse(example.out);
    study["technology"] = (dir / "tech.json").string();
    return study;
}

}  // namespace nladc::test
