// Numeric robustness (issue 7): degenerate data give a sensible level set or a clear
// nladc::Error, never NaN or Inf — for every method and variant, through the real file
// path (float32 .npy -> ActivationLayer -> design_levels) and through the CLI.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "../support.hpp"
#include "nladc/core/error.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/study/level_design.hpp"

using namespace nladc;

namespace {

struct Dataset {
    std::string name;
    std::vector<float> values;
};

std::vector<Dataset> degenerate_datasets()
{
    std::vector<Dataset> sets;
    sets.push_back({"all equal", std::vector<float>(1000, 3.0f)});
    sets.push_back({"all zeros", std::vector<float>(1000, 0.0f)});
    std::vector<float> two(1000, 0.0f);
    for (std::size_t i = 0; i < two.size(); i += 3) two[i] = 1.0f;
    sets.push_back({"two distinct values", two});
    sets.push_back({"fewer samples than levels", {0.5f, 1.5f, 4.0f}});
    sets.push_back({"one sample", {2.0f}});
    std::vector<float> wide;
    for (int e = -30; e <= 30; ++e) wide.push_back(std::pow(10.0f, static_cast<float>(e)));
    sets.push_back({"1e-30 .. 1e30", wide});
    std::vector<float> denormal;
    for (int i = 1; i <= 200; ++i) denormal.push_back(static_cast<float>(i) * std::numeric_limits<float>::denorm_min());
    sets.push_back({"denormals", denormal});
    std::vector<float> tiny_spread(500, 1.0f);
    for (std::size_t i = 0; i < tiny_spread.size(); i += 2) tiny_spread[i] = std::nextafter(1.0f, 2.0f);
    sets.push_back({"two adjacent floats", tiny_spread});
    return sets;
}

void require_finite(const std::vector<double>& v, const char* what)
{
    for (std::size_t i = 0; i < v.size(); ++i) {
        INFO(what << "[" << i << "] = " << v[i]);
        REQUIRE(std::isfinite(v[i]));
    }
}

}  // namespace

TEST_CASE("degenerate data: every method gives a finite level set or a clear error", "[quant][errors]")
{
    test::ScratchDir dir;
    for (const Dataset& data : degenerate_datasets()) {
        const auto file = dir / "data.npy";
        io::write_npy(file, data.values, {data.values.size()});
        for (const auto& q : quantizers())
            for (std::string_view variant : q->variants())
                for (int bits : {1, 3, 6}) {
                    INFO(data.name << ": " << q->method() << "/" << variant << ", " << bits << " bits");
                    QuantizerOptions options;
                    options.bits = bits;
                    options.method = std::string(q->method());
                    options.variant = std::string(variant);
                    try {
                        ActivationLayer layer(file, "", io::NonFinitePolicy::error);
                        const DesignedLevels d = design_levels(layer, options, {});
                        require_finite(d.set.levels, "levels");
                        require_finite(d.set.thresholds, "thresholds");
                        CHECK(d.set.levels.size() == (std::size_t{1} << bits));
                        CHECK(std::is_sorted(d.set.levels.begin(), d.set.levels.end()));
                        CHECK(std::is_sorted(d.set.thresholds.begin(), d.set.thresholds.end()));
                        CHECK(std::isfinite(d.metrics.mse));
                        CHECK(d.metrics.mse >= 0);
                        CHECK(std::isfinite(d.set.lo));
                        CHECK(std::isfinite(d.set.hi));
                        CHECK(d.set.lo < d.set.hi);
                    } catch (const Error& e) {
                        // A clear error: one line that says what is wrong.
                        const std::string message = e.what();
                        CHECK_FALSE(message.empty());
                        CHECK(message.find('\n') == std::string::npos);
                    }
                }
    }
}

TEST_CASE("degenerate data through the CLI: exit 0 with finite JSON or exit 1 with one line", "[cli][quant][errors]")
{
    test::ScratchDir dir;
    for (const Dataset& data : degenerate_datasets()) {
        INFO(data.name);
        io::write_npy(dir / "data.npy", data.values, {data.values.size()});
        for (const char* method : {"linear", "lloyd-max", "cdf", "kmeans", "bs-kmq"}) {
            INFO(method);
            std::filesystem::remove(dir / "levels.json");
            const auto r = test::run_cli({"levels", "--input", (dir / "data.npy").string(), "--bits", "4", "--method",
                                          method, "--out", (dir / "levels.json").string()});
            INFO(r.err);
            if (r.exit_code == 0) {
                const std::string json = test::slurp(dir / "levels.json");
                // dump_json writes NaN/Inf as null: a null here would be a NaN that got through.
                CHECK(json.find("null") == std::string::npos);
                CHECK(json.find("nan") == std::string::npos);
            } else {
                CHECK(r.exit_code == 1);
                CHECK(test::count_lines(r.err) == 1);
                CHECK_FALSE(std::filesystem::exists(dir / "levels.json"));
            }
        }
    }
}
