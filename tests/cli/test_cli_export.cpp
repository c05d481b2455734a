// `nladc characterize` on a Monte Carlo study and `nladc export` in every format, each
// exported model loaded back (JSON reader, CSV parse and NeuroSim contract, ngspice, admsXml) and checked.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "../support.hpp"
#include "nladc/core/error.hpp"
#include "nladc/export/export.hpp"

using namespace nladc;
using test::run_cli;
namespace fs = std::filesystem;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

const fs::path kSource = NLADC_SOURCE_DIR;
const fs::path kDesign4 = kSource / "netlists" / "bskmq4_design.json";

std::string capture(const std::string& command)
{
    std::string out;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    ::pclose(pipe);
    return out;
}

/// A 2000-chip study of the 4-bit example design (ideal wires, for speed) and its characterization.
struct Characterized {
    test::ScratchDir dir;
    fs::path tech, study, characterization;
    Characterized()
    {
        const auto defaults = run_cli({"tech", "--defaults"});
        REQUIRE(defaults.exit_code == 0);
        nlohmann::json t = nlohmann::json::parse(defaults.out);
        t["array"]["wire_resistance_ohm"] = 0.0;
        tech = dir / "tech.json";
        test::write_text(tech, t.dump(2));
        const auto example = run_cli({"mc", "--example-study"});
        REQUIRE(example.exit_code == 0);
        nlohmann::json s = nlohmann::json::parse(example.out);
        s["design"] = kDesign4.string();
        s["technology"] = tech.string();
        s["trials"] = 2000;
        test::write_text(dir / "study.json", s.dump(2));
        study = dir / "mc";
        const auto mc = run_cli({"mc", "--study", (dir / "study.json").string(), "--out", study.string()});
        INFO(mc.err);
        REQUIRE(mc.exit_code == 0);
        characterization = dir / "ch";
        const auto ch = run_cli({"characterize", "--no-spice-energy", "--design", kDesign4.string(), "--tech", tech.string(), "--study",
                                 study.string(), "--ramp-points", "200000", "--out", characterization.string()});
        INFO(ch.err);
        REQUIRE(ch.exit_code == 0);
    }
};

/// Mean of each T<k> column of trials.csv (the chips' thresholds before trim).
std::vector<double> threshold_means(const fs::path& trials_csv)
{
    const auto rows = test::parse_csv(test::slurp(trials_csv));
    REQUIRE(rows.size() > 1);
    std::vector<std::size_t> columns;
    for (std::size_t c = 0; c < rows[0].size(); ++c)
        if (std::regex_match(rows[0][c], std::regex("T[0-9]+"))) columns.push_back(c);
    std::vector<double> means(columns.size(), 0.0);
    for (std::size_t r = 1; r < rows.size(); ++r)
        for (std::size_t i = 0; i < columns.size(); ++i) means[i] += std::stod(rows[r][columns[i]]);
    for (double& m : means) m /= static_cast<double>(rows.size() - 1);
    return means;
}

}  // namespace

TEST_CASE("characterize + export: every format carries the Monte Carlo mean thresholds", "[cli][export]")
{
    Characterized c;
    const std::vector<double> means = threshold_means(c.study / "trials.csv");
    REQUIRE(means.size() == 15);

    SECTION("json: read back, thresholds and code()")
    {
        const fs::path file = c.dir / "model.json";
        const auto r = run_cli({"export", "--from", c.characterization.string(), "--format", "json", "--out",
                                file.string()});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const AdcModel model = read_adc_model(file);
        CHECK(model.source == "monte carlo");
        CHECK(model.trials == 2000);
        REQUIRE(model.mean.size() == 15);
        const double lsb = model.target.lsb();
        for (std::size_t k = 0; k < 15; ++k) {
            CHECK_THAT(model.mean[k], WithinRel(means[k], 1e-9));
            CHECK(model.sigma[k] > 0);
            CHECK(model.code(model.mean[k] - 1e-6 * lsb) == static_cast<int>(k));
            CHECK(model.code(model.mean[k] + 1e-6 * lsb) == static_cast<int>(k) + 1);
        }
        CHECK(model.code(model.target.lo - lsb) == 0);
        CHECK(model.code(model.target.hi + 10 * lsb) == 15);
        CHECK(model.energy_J > 0);
    }
    SECTION("csv: NeuroSim's table, partial sums 0..16, --check and --partial-sum-scale")
    {
        const fs::path file = c.dir / "model.csv";
        const auto r = run_cli({"export", "--from", c.characterization.string(), "--format", "csv", "--check", "--out",
                                file.string()});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("NeuroSim reader contract: 17 rows") != std::string::npos);
        const auto rows = test::parse_csv(test::slurp(file));
        REQUIRE(rows.size() == 18);  // header + partial sums 0..16
        CHECK(rows[0] == std::vector<std::string>{"partial_sum", "input", "output", "mean", "std"});
        const AdcModel model = model_from_characterization(c.characterization);
        const double lsb = model.target.lsb();
        CHECK(r.out.find(fmt::format("partial sum i is the input i * {:g}", lsb)) != std::string::npos);
        const auto table = partial_sum_table(model, lsb);
        for (std::size_t i = 0; i <= 16; ++i) {
            REQUIRE(rows[i + 1].size() == 5);
            CHECK(std::stoi(rows[i + 1][0]) == static_cast<int>(i));
            CHECK_THAT(std::stod(rows[i + 1][1]), WithinRel(static_cast<double>(i) * lsb, 1e-15));
            CHECK_THAT(std::stod(rows[i + 1][2]), WithinRel(model.output(static_cast<double>(i) * lsb) / lsb, 1e-15));
            CHECK(std::stod(rows[i + 1][3]) == table[i].mean);
            CHECK(std::stod(rows[i + 1][4]) == table[i].stddev);
        }
        // A linear-ish ADC maps partial sum i near i counts; the table is in counts.
        CHECK(std::stod(rows[17][3]) > 14);
        CHECK(std::stod(rows[17][3]) <= 16);

        const fs::path scaled = c.dir / "scaled.csv";
        REQUIRE(run_cli({"export", "--from", c.characterization.string(), "--format", "csv", "--partial-sum-scale",
                         fmt::format("{}", 2 * lsb), "--out", scaled.string()})
                    .exit_code == 0);
        const auto rows2 = test::parse_csv(test::slurp(scaled));
        REQUIRE(rows2.size() == 18);
        CHECK_THAT(std::stod(rows2[9][1]), WithinRel(16 * lsb, 1e-15));  // partial sum 8 is the input 8 * 2 LSB
        CHECK(std::stod(rows2[9][3]) == partial_sum_table(model, 2 * lsb)[8].mean);
    }
    SECTION("spice: --check, and an independent ngspice operating-point run around each threshold")
    {
        const fs::path file = c.dir / "model.sp";
        const auto r = run_cli({"export", "--from", c.characterization.string(), "--format", "spice", "--out",
                                file.string(), "--check"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const std::smatch m = [&] {
            std::smatch match;
            REQUIRE(std::regex_search(r.out, match, std::regex("max \\|T_spice - T_model\\| = ([0-9.]+) LSB")));
            return match;
        }();
        CHECK(std::stod(m[1]) <= 0.01);

        const AdcModel model = model_from_characterization(c.characterization);
        const double lsb = model.target.lsb();
        std::string points;
        for (double t : means) points += fmt::format(" {:.12g} {:.12g}", t - 0.01 * lsb, t + 0.01 * lsb);
        test::write_text(c.dir / "tb.cir", fmt::format("* exported model around its thresholds\n.include {}\n"
                                                       "Vin in 0 0\nXadc in code level nladc_adc\n.control\n"
                                                       "foreach x{}\n  alter Vin dc = $x\n  op\n  print v(code) "
                                                       "v(level)\nend\n.endc\n.end\n",
                                                       file.string(), points));
        const std::string out = capture(fmt::format("cd '{}' && ngspice -b tb.cir 2>&1", c.dir.path().string()));
        std::vector<double> codes, levels;
        const std::regex value("v\\((code|level)\\) = ([-+0-9.eE]+)");
        for (auto it = std::sregex_iterator(out.begin(), out.end(), value); it != std::sregex_iterator(); ++it)
            ((*it)[1] == "code" ? codes : levels).push_back(std::stod((*it)[2]));
        INFO(out);
        REQUIRE(codes.size() == 30);
        REQUIRE(levels.size() == 30);
        for (std::size_t k = 0; k < 15; ++k) {
            CHECK(codes[2 * k] == static_cast<double>(k));
            CHECK(codes[2 * k + 1] == static_cast<double>(k + 1));
            CHECK_THAT(levels[2 * k + 1], WithinAbs(model.target.levels[k + 1], 1e-6));
        }
    }
    SECTION("veriloga: parameters are the thresholds and levels; admsXml parses it")
    {
        const fs::path file = c.dir / "model.va";
        REQUIRE(run_cli({"export", "--from", c.characterization.string(), "--format", "veriloga", "--name", "adc4",
                         "--out", file.string()})
                    .exit_code == 0);
        const std::string text = test::slurp(file);
        CHECK(text.find("module adc4(in, code, level);") != std::string::npos);
        for (std::size_t k = 0; k < 15; ++k) {
            std::smatch m;
            const std::string key = fmt::format("parameter real t{} = ([-+0-9.eE]+);", k + 1);
            REQUIRE(std::regex_search(text, m, std::regex(key)));
            CHECK_THAT(std::stod(m[1]), WithinRel(means[k], 1e-9));
        }
        if (std::system("command -v admsXml >/dev/null 2>&1") == 0) {
            test::write_text(c.dir / "null.xml",
                             "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!DOCTYPE admst SYSTEM \"admst.dtd\">\n"
                             "<admst version=\"2.3.0\" "
                             "xmlns:admst=\"http://mot-adms.sourceforge.net/xml-files/admst\">\n</admst>\n");
            const auto parse = [&](const std::string& name) {
                return std::system(fmt::format("cd '{}' && admsXml {} -e null.xml >/dev/null 2>&1",
                                               c.dir.path().string(), name)
                                       .c_str());
            };
            CHECK(parse("model.va") == 0);
            // The check can fail: a syntax error is reported.
            std::string broken = text;
            broken.replace(broken.find("if (x > t3)"), 11, "if (x > > t3)");
            test::write_text(c.dir / "broken.va", broken);
            CHECK(parse("broken.va") != 0);
        } else {
            WARN("admsXml not installed: Verilog-A parse check skipped");
        }
    }
    SECTION("characterization.json holds the Monte Carlo statistics")
    {
        const nlohmann::json j = nlohmann::json::parse(test::slurp(c.characterization / "characterization.json"));
        CHECK(fs::file_size(c.characterization / "transfer.png") > 1000);
        CHECK(fs::file_size(c.characterization / "inl_dnl.png") > 1000);
        const nlohmann::json summary = nlohmann::json::parse(test::slurp(c.study / "summary.json"));
        CHECK(j.dump().find("yield") != std::string::npos);
        CHECK(summary.at("trials") == 2000);
    }
}

TEST_CASE("characterize and export refuse mismatched or missing inputs", "[cli][export][errors]")
{
    Characterized c;
    SECTION("study of another design")
    {
        const auto r = run_cli({"characterize", "--no-spice-energy", "--design", (kSource / "netlists" / "bskmq3_design.json").string(),
                                "--study", c.study.string(), "--out", (c.dir / "never").string()});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("design") != std::string::npos);
        CHECK_FALSE(fs::exists(c.dir / "never"));
    }
    SECTION("study with another technology")
    {
        const auto r = run_cli({"characterize", "--no-spice-energy", "--design", kDesign4.string(), "--study", c.study.string(), "--out",
                                (c.dir / "never").string()});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("technology") != std::string::npos);
        CHECK_FALSE(fs::exists(c.dir / "never"));
    }
    SECTION("export from a directory without characterization.json")
    {
        const auto r = run_cli({"export", "--from", c.study.string(), "--format", "json", "--out",
                                (c.dir / "never.json").string()});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("characterization.json") != std::string::npos);
        CHECK_FALSE(fs::exists(c.dir / "never.json"));
    }
    SECTION("unknown format, --check on a format without one, a bad or misplaced --partial-sum-scale")
    {
        CHECK(run_cli({"export", "--from", c.characterization.string(), "--format", "ibis", "--out",
                       (c.dir / "never").string()})
                  .exit_code == 2);
        CHECK(run_cli({"export", "--from", c.characterization.string(), "--format", "veriloga", "--check", "--out",
                       (c.dir / "never").string()})
                  .exit_code == 2);
        for (const char* scale : {"0", "-0.5", "inf", "nan"}) {
            const auto r = run_cli({"export", "--from", c.characterization.string(), "--format", "csv",
                                    "--partial-sum-scale", scale, "--out", (c.dir / "never").string()});
            INFO(scale << ": " << r.err);
            CHECK(r.exit_code == 2);
        }
        const auto r = run_cli({"export", "--from", c.characterization.string(), "--format", "json",
                                "--partial-sum-scale", "0.5", "--out", (c.dir / "never").string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("only the csv format") != std::string::npos);
        CHECK_FALSE(fs::exists(c.dir / "never"));
    }
    SECTION("an edited model JSON is rejected naming the key")
    {
        REQUIRE(run_cli({"export", "--from", c.characterization.string(), "--format", "json", "--out",
                         (c.dir / "model.json").string()})
                    .exit_code == 0);
        const nlohmann::json model = nlohmann::json::parse(test::slurp(c.dir / "model.json"));
        struct Edit {
            std::string pointer, needle;
            nlohmann::json value;
        };
        for (const Edit& edit : {Edit{"/thresholds/3/sigma", "sigma", -0.1}, Edit{"/thresholds/4/k", "k", 4},
                                 Edit{"/thresholds/2/mean", "mean", "high"}, Edit{"/format", "format", "other"},
                                 Edit{"/monte_carlo/trials", "trials", -3}}) {
            INFO(edit.pointer);
            nlohmann::json j = model;
            j[nlohmann::json::json_pointer(edit.pointer)] = edit.value;
            test::write_text(c.dir / "edited.json", j.dump(2));
            try {
                read_adc_model(c.dir / "edited.json");
                FAIL("edited model accepted");
            } catch (const InputError& e) {
                const std::string message = e.what();
                INFO(message);
                CHECK(message.find("edited.json") != std::string::npos);
                CHECK(message.find(edit.needle) != std::string::npos);
            }
        }
    }
}

TEST_CASE("characterize: a stuck-off step cell leaves its code narrow or missing under comparator noise",
          "[cli][characterize]")
{
    test::ScratchDir dir;
    const std::string design = (kSource / "netlists" / "bskmq3_design.json").string();
    const auto healthy = run_cli({"characterize", "--design", design, "--ramp-points", "200000", "--out",
                                  (dir / "ok").string()});
    REQUIRE(healthy.exit_code == 0);
    const nlohmann::json ok = nlohmann::json::parse(test::slurp(dir / "ok" / "characterization.json"));
    // One transistor-level conversion measured the energy too (tests/spice/test_energy.cpp
    // compares the terms).
    CHECK(ok.at("energy_per_conversion_J_spice").get<double>() > 1e-12);
    CHECK(ok.at("energy_per_conversion_J_model").get<double>() > 1e-12);
    CHECK(ok.at("energy_comparison").at("terms_spice").size() == 6);
    CHECK(ok.at("missing_codes").empty());
    CHECK(ok.at("narrow_codes").empty());
    CHECK(ok.at("code_density_noise").at("comparator_noise_sigma_V").get<double>() > 0);
    // Every inner code is hit in proportion to its width (noise moves edges, not widths).
    const auto widths = ok.at("code_density_noise").at("code_width_lsb");
    REQUIRE(widths.size() == 6);
    for (const auto& w : widths) CHECK(w.get<double>() > 0.1);

    // Step 2 bounds code 1 (between T[1] and T[2]): one cell, stuck off, closes it.
    const auto stuck = run_cli({"characterize", "--no-spice-energy", "--design", design, "--stuck-off-step", "2", "--ramp-points", "200000",
                                "--out", (dir / "stuck").string()});
    REQUIRE(stuck.exit_code == 0);
    const nlohmann::json bad = nlohmann::json::parse(test::slurp(dir / "stuck" / "characterization.json"));
    CHECK(bad.at("stuck_off_step") == 2);
    std::vector<int> flagged = bad.at("missing_codes").get<std::vector<int>>();
    for (int code : bad.at("narrow_codes").get<std::vector<int>>()) flagged.push_back(code);
    CHECK(std::find(flagged.begin(), flagged.end(), 1) != flagged.end());
    CHECK(stuck.out.find("narrow codes") != std::string::npos);

    const auto beyond = run_cli({"characterize", "--no-spice-energy", "--design", design, "--stuck-off-step", "8", "--out",
                                 (dir / "x").string()});
    CHECK(beyond.exit_code == 1);
    CHECK(beyond.err.find("stuck-off step 8: the design has steps 1 .. 7") != std::string::npos);
}
