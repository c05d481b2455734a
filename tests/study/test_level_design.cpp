// Level design on realistic data: the histogram path against the raw-data exact
// DP, the honesty property of the comparison, and the BS-KMQ reference ratios.
#include <catch2/catch.hpp>

#include <cmath>

#include "../support.hpp"
#include "nladc/core/random.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/quant/clustering.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/study/compare.hpp"
#include "nladc/study/level_design.hpp"

using namespace nladc;

namespace {

/// The BRIEF §3 reference mix: 40 % zeros, 5 % at 6.0, rest half-normal sigma = 2.
std::filesystem::path write_reference_mix(const test::ScratchDir& dir, std::uint64_t samples, std::uint64_t seed)
{
    SyntheticSpec spec;
    spec.samples = samples;
    spec.seed = seed;
    const auto values = generate_synthetic(spec);
    const auto path = dir / ("mix" + std::to_string(seed) + ".npy");
    io::write_npy(path, values, {values.size()});
    return path;
}

/// MSE of the raw-data exact k-means (every distinct value an atom), scored by the shared scorer.
double raw_exact_kmeans_mse(const std::vector<double>& samples, int bits, double lo, double hi)
{
    const SampleSummary exact = summarize_exact(std::span<const double>(samples), lo, hi);
    REQUIRE(exact.exact());
    QuantizerOptions options;
    options.bits = bits;
    options.method = "kmeans";
    options.variant = "exact";
    const LevelSet set = fit_levels(exact, options);
    REQUIRE(set.parameter("solver_exact_dp", 0) == 1.0);
    return score(set, std::span<const double>(samples)).mse;
}

}  // namespace

TEST_CASE("histogram DP is within 1e-4 of the raw-data exact DP, and nothing beats the exact DP", "[study][slow]")
{
    test::ScratchDir dir;
    const auto file = write_reference_mix(dir, 1000000, 5);
    ActivationLayer layer(file, "", io::NonFinitePolicy::error);
    const std::vector<double> samples = layer.load();
    SummaryOptions summary;
    summary.lo = 0.0;
    summary.hi = 6.0;

    const int bits = GENERATE(3, 4, 5);
    const double exact_mse = raw_exact_kmeans_mse(samples, bits, 0.0, 6.0);

    // Plain histogram DP (no refinement), scored on the raw samples.
    QuantizerOptions kmeans;
    kmeans.bits = bits;
    kmeans.method = "kmeans";
    const LevelSet histogram_set = fit_levels(layer.summarize(bits, summary), kmeans);
    REQUIRE_FALSE(layer.summarize(bits, summary).exact());
    const double histogram_mse = layer.score({histogram_set}).front().mse;
    CHECK(histogram_mse >= exact_mse * (1 - 1e-9));
    CHECK((histogram_mse - exact_mse) / exact_mse < 1e-4);

    // With refinement (what `nladc levels` does) it matches the exact optimum.
    const LevelSet refined = layer.fit(bits, kmeans, summary);
    CHECK(refined.parameter("refine_settled", 0) == 1.0);
    const double refined_mse = layer.score({refined}).front().mse;
    CHECK((refined_mse - exact_mse) / exact_mse < 1e-9);

    // Honesty: every method and variant, scored by the same scorer on the same
    // samples, is at least the exact k-means MSE.
    CompareOptions options;
    options.bits = {bits};
    options.summary = summary;
    for (const CompareRow& row : compare_methods(layer, nullptr, options)) {
        INFO(method_label(row.set) << " at " << bits << " bits: " << row.fit.mse << " vs exact " << exact_mse);
        CHECK(row.fit.mse >= exact_mse * (1 - 1e-9));
    }
}

TEST_CASE("a long-tailed layer (range from the data) still matches the raw-data exact DP", "[study][slow]")
{
    // Real activations often have a few samples far beyond the bulk, so equal-width
    // bins are coarse where the data are; the refinement must recover the optimum.
    test::ScratchDir dir;
    SyntheticSpec spec;
    spec.samples = 600000;
    spec.zeros_fraction = 0.5;
    spec.clamp_fraction = 0.0;
    spec.distribution = "lognormal";
    spec.mu = -1.0;
    spec.sigma = 1.2;
    spec.hi = 500.0;
    spec.seed = 17;
    const auto values = generate_synthetic(spec);
    io::write_npy(dir / "tail.npy", values, {values.size()});
    ActivationLayer layer(dir / "tail.npy", "", io::NonFinitePolicy::error);
    REQUIRE(layer.data_max() > 30.0);  // a long tail: most of the range is nearly empty
    const std::vector<double> samples = layer.load();
    const int bits = GENERATE(3, 4, 5);
    const double exact_mse = raw_exact_kmeans_mse(samples, bits, layer.data_min(), layer.data_max());
    QuantizerOptions kmeans;
    kmeans.method = "kmeans";
    const double mse = layer.score({layer.fit(bits, kmeans, SummaryOptions{})}).front().mse;
    INFO(bits << " bits: " << mse << " vs exact " << exact_mse);
    CHECK(mse >= exact_mse * (1 - 1e-9));
    CHECK((mse - exact_mse) / exact_mse < 1e-6);
}

TEST_CASE("BS-KMQ drop-pin against exact k-means on the reference mix (BRIEF §3)", "[study][slow]")
{
    // BRIEF §3 measured 1.15 / 1.08 / 1.04 / 1.02 at 3 / 4 / 5 / 6 bits.
    test::ScratchDir dir;
    const auto file = write_reference_mix(dir, 1000000, 1);
    ActivationLayer layer(file, "", io::NonFinitePolicy::error);
    SummaryOptions summary;
    summary.lo = 0.0;
    summary.hi = 6.0;
    const auto [bits, expected] = GENERATE(table<int, double>({{3, 1.15}, {4, 1.08}, {5, 1.04}, {6, 1.02}}));
    QuantizerOptions bskmq, kmeans;
    bskmq.method = "bs-kmq";
    kmeans.method = "kmeans";
    const LevelSet bs = layer.fit(bits, bskmq, summary), km = layer.fit(bits, kmeans, summary);
    const auto scores = layer.score({bs, km});
    const double ratio = scores[0].mse / scores[1].mse;
    INFO(bits << " bits: ratio " << ratio);
    CHECK(ratio == Approx(expected).epsilon(0.02));
    // drop-pin keeps lo and hi as exact levels.
    CHECK(bs.levels.front() == 0.0);
    CHECK(bs.levels.back() == 6.0);
    CHECK(bs.parameter("pinned", 0) == 2.0);
}

TEST_CASE("held-out scoring uses the fit data's levels unchanged", "[study]")
{
    test::ScratchDir dir;
    const auto fit_file = write_reference_mix(dir, 50000, 21);
    const auto eval_file = write_reference_mix(dir, 50000, 22);
    ActivationLayer fit(fit_file, "", io::NonFinitePolicy::error), eval(eval_file, "", io::NonFinitePolicy::error);
    CompareOptions options;
    options.bits = {4};
    options.summary.lo = 0.0;
    options.summary.hi = 6.0;
    const auto rows = compare_methods(fit, &eval, options);
    REQUIRE(rows.size() == 10);
    for (const CompareRow& row : rows) {
        REQUIRE(row.eval.has_value());
        CHECK(row.eval->mse == Approx(score(row.set, std::span<const double>(eval.load())).mse).epsilon(1e-12));
        CHECK(row.eval->samples == 50000);
    }
}

TEST_CASE("a multi-layer npz gives one layer per member", "[study]")
{
    test::ScratchDir dir;
    SyntheticSpec spec;
    spec.samples = 1000;
    std::vector<io::NamedArray> arrays;
    for (const char* name : {"fc1", "fc2"}) {
        spec.seed++;
        arrays.push_back({name, generate_synthetic(spec), {1000}});
    }
    io::write_npz(dir / "acts.npz", arrays);
    CHECK(layer_names(dir / "acts.npz") == std::vector<std::string>{"fc1", "fc2"});
    ActivationLayer layer(dir / "acts.npz", "fc2", io::NonFinitePolicy::error);
    CHECK(layer.samples() == 1000);
    CHECK(layer.label().ends_with("acts.npz[fc2]"));
}

TEST_CASE("level design clamps samples outside [lo, hi] to the range, exact and histogram paths alike", "[study][levels]")
{
    // Samples above hi are what an ADC saturates: they must fit like samples at hi.
    for (const std::size_t n : {std::size_t{20000}, std::size_t{400000}}) {
        RandomStream random(11, n);
        std::vector<float> raw(n), clamped(n);
        for (std::size_t i = 0; i < n; ++i) {
            const double u = random.uniform();
            raw[i] = u < 0.4 ? 0.0f : static_cast<float>(std::abs(2.0 * random.normal()));  // ReLU with a long tail
            clamped[i] = std::clamp(raw[i], 0.0f, 3.0f);
        }
        REQUIRE(*std::max_element(raw.begin(), raw.end()) > 3.5f);
        SummaryOptions summary;
        summary.lo = 0.0;
        summary.hi = 3.0;
        for (const char* method : {"linear", "lloyd-max", "kmeans", "bs-kmq"}) {
            INFO(method << ", " << n << " samples");
            QuantizerOptions options;
            options.method = method;
            options.bits = 3;
            const LevelSet from_raw = fit_in_memory(raw, options, summary);
            const LevelSet from_clamped = fit_in_memory(clamped, options, summary);
            REQUIRE(from_raw.levels.size() == from_clamped.levels.size());
            for (std::size_t k = 0; k < from_raw.levels.size(); ++k)
                CHECK(from_raw.levels[k] == Approx(from_clamped.levels[k]).margin(1e-12));
            if (std::string(method) == "bs-kmq") CHECK(from_raw.parameter("pinned", 0) == 2);  // lo and hi
        }
    }
}
