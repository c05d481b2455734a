// Monte Carlo engine: the per-trial work against brute force and against the nominal
// model, the draws against their distributions, and the trim.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "nladc/documents/study_file.hpp"
#include "nladc/montecarlo/engine.hpp"

using namespace nladc;
using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

namespace {

/// The study's inputs with ideal wires (fast).
std::shared_ptr<const StudyInputs> inputs_with(StudySpec spec, const std::string& trim = "spares")
{
    spec.trim.policy = trim;
    auto loaded = load_study_inputs(spec);
    auto inputs = std::make_shared<StudyInputs>(*loaded);
    inputs->tech.array.wire_resistance_ohm = 0.0;
    return inputs;
}

/// A study whose chips do not vary: no chip-level spread, and the technology's cell and
/// comparator spreads overridden to zero (one programming pulse, nothing stuck).
StudySpec no_variation()
{
    StudySpec spec;
    spec.variation.v_read_sigma_rel = 0;
    spec.variation.wire_resistance_sigma_rel = 0;
    spec.technology_overrides = {{"device.program_sigma_S", 0},       {"device.verify_max_iterations", 1},
                                 {"device.read_noise_sigma_S", 0},    {"device.stuck_off_probability", 0},
                                 {"device.stuck_on_probability", 0}, {"comparator.offset_sigma_V", 0}};
    return spec;
}

}  // namespace

TEST_CASE("effective MSE from prefix sums equals quantizing every sample", "[montecarlo]")
{
    std::mt19937_64 random(7);
    std::normal_distribution<double> normal(1.0, 1.5);
    std::vector<double> samples;
    for (int i = 0; i < 5000; ++i) samples.push_back(std::max(0.0, normal(random)));
    samples.push_back(0.5);  // exactly on a threshold below: takes the lower code
    const SortedSamples sorted(samples);
    const std::vector<double> levels = {0.0, 0.4, 1.1, 2.5};
    for (const std::vector<double>& thresholds :
         std::vector<std::vector<double>>{{0.2, 0.5, 1.8},
                                          {0.5, 0.5, 1.8},  // an empty code
                                          {-1.0, 0.7, 9.0},
                                          {0.2, 0.9, std::numeric_limits<double>::infinity()},
                                          {-std::numeric_limits<double>::infinity(), 0.9, 2.0}}) {
        double sse = 0;
        for (double x : samples) {
            std::size_t code = 0;
            for (double t : thresholds) code += t < x;
            sse += (x - levels[code]) * (x - levels[code]);
        }
        CHECK_THAT(sorted.mse(thresholds, levels), WithinRel(sse / samples.size(), 1e-12));
    }
    double power = 0;
    for (double x : samples) power += x * x;
    CHECK_THAT(sorted.mean_square(), WithinRel(power / samples.size(), 1e-12));
}

TEST_CASE("a trial without variation is the nominal chip", "[montecarlo]")
{
    const auto inputs = inputs_with(no_variation());
    const MonteCarlo engine(inputs);
    const TrialResult r = engine.run_trial(3);
    const std::vector<double> nominal = engine.nominal().transition_levels(inputs->design.levels.lsb() * 1e-6);
    const double lsb = inputs->design.levels.lsb();
    REQUIRE(r.levels.size() == nominal.size());
    for (std::size_t k = 0; k < nominal.size(); ++k) CHECK_THAT(r.levels[k], WithinAbs(nominal[k], 1e-5 * lsb));
    CHECK(r.stuck_off == 0);
    CHECK(r.stuck_on == 0);
    // The effective MSE is that of the nominal thresholds on the activations.
    CHECK_THAT(r.effective_mse, WithinRel(inputs->activations->mse(r.levels, inputs->design.levels.levels), 1e-12));
}

TEST_CASE("a trial is a pure function of (seed, trial)", "[montecarlo]")
{
    const auto inputs = inputs_with(StudySpec{});
    const MonteCarlo engine(inputs);
    const TrialResult first = engine.run_trial(11);
    (void)engine.run_trial(5);  // no hidden state between trials
    const TrialResult again = engine.run_trial(11);
    CHECK(trial_csv_line(first) == trial_csv_line(again));
    CHECK(trial_csv_line(engine.run_trial(12)) != trial_csv_line(first));

    auto reseeded = std::make_shared<StudyInputs>(*inputs);
    reseeded->spec.seed = 2;
    CHECK(trial_csv_line(MonteCarlo(reseeded).run_trial(11)) != trial_csv_line(first));
}

TEST_CASE("chip draws follow the study's distributions", "[montecarlo]")
{
    StudySpec spec = no_variation();
    spec.variation.v_read_sigma_rel = 0.05;
    spec.technology_overrides.emplace_back("comparator.offset_sigma_V", 3e-3);  // later entries win
    spec.technology_overrides.emplace_back("device.stuck_off_probability", 0.01);
    const auto inputs = inputs_with(spec);
    const int n = 4000;
    double sum = 0, square = 0, vr_sum = 0, vr_square = 0;
    long stuck = 0;
    for (int t = 0; t < n; ++t) {
        int off = 0;
        const ChipInstance chip = draw_chip(*inputs, static_cast<std::uint64_t>(t), &off);
        const double offset = chip.comparator_offset_V - inputs->tech.comparator.offset_V;
        sum += offset;
        square += offset * offset;
        const double rel = chip.v_read_V / inputs->tech.array.v_read_V - 1;
        vr_sum += rel;
        vr_square += rel * rel;
        stuck += off;
    }
    // Sample sigma of a normal has relative standard error 1/sqrt(2n) = 1.1 %; allow 5 %.
    CHECK_THAT(std::sqrt(square / n - (sum / n) * (sum / n)), WithinRel(3e-3, 0.05));
    CHECK(std::abs(sum / n) < 4 * 3e-3 / std::sqrt(n));
    CHECK_THAT(std::sqrt(vr_square / n - (vr_sum / n) * (vr_sum / n)), WithinRel(0.05, 0.05));
    // Stuck-at-OFF cells: binomial, within 5 sigma.
    const double cells = static_cast<double>(inputs->design.cells.size()) * n;
    const double expected = 0.01 * cells, sd = std::sqrt(cells * 0.01 * 0.99);
    CHECK(std::abs(static_cast<double>(stuck) - expected) < 5 * sd);
}

TEST_CASE("trim with the spare cells raises yield and never touches an untrimmed chip", "[montecarlo]")
{
    StudySpec spec;  // the technology's spreads, more stuck cells
    spec.technology_overrides.emplace_back("device.stuck_off_probability", 0.01);
    const auto spares = inputs_with(spec, "spares");
    const auto none = inputs_with(spec, "none");
    const MonteCarlo with_trim(spares), without(none);
    int pass = 0, pass_trimmed = 0;
    for (std::uint64_t t = 0; t < 150; ++t) {
        const TrialResult r = with_trim.run_trial(t);
        const TrialResult n = without.run_trial(t);
        // Same chip either way: trim only acts after the measurement.
        REQUIRE(r.levels == n.levels);
        CHECK_FALSE(n.trimmed);
        CHECK(n.levels_trimmed == n.levels);
        if (!r.trimmed) CHECK(r.levels_trimmed == r.levels);
        pass += r.pass;
        pass_trimmed += r.pass_trimmed;
        // A trimmed chip ends closer to the target than it started.
        if (r.trimmed) CHECK(r.linearity_trimmed.max_abs_inl_lsb <= r.linearity.max_abs_inl_lsb + 0.05);
    }
    CHECK(pass_trimmed > pass);
    CHECK(pass_trimmed >= 140);  // 93 %: the spares fix nearly every chip
}

TEST_CASE("chips vary as the technology says; a study overrides it; version-1 files keep their meaning",
          "[montecarlo]")
{
    // Version 2: no override, the technology's spreads (the same that `nladc dnn` draws from).
    const StudySpec plain = io::study_from_json(io::Json::parse(R"({"trials": 20})"), io::JsonPlace("v2"));
    CHECK(plain.technology_overrides.empty());
    const auto plain_inputs = inputs_with(plain);
    CHECK(plain_inputs->tech.device.program_sigma_S == Technology{}.device.program_sigma_S);

    // An override changes the chips, and only through the technology the engine draws from.
    const StudySpec wider = io::study_from_json(
        io::Json::parse(R"({"trials": 20, "technology_overrides": {"device.program_sigma_S": 6e-6}})"),
        io::JsonPlace("v2"));
    const auto wider_inputs = inputs_with(wider);
    CHECK(wider_inputs->tech.device.program_sigma_S == 6e-6);
    const MonteCarlo plain_engine(plain_inputs), wider_engine(wider_inputs);
    CHECK(trial_csv_line(plain_engine.run_trial(3)) != trial_csv_line(wider_engine.run_trial(3)));

    // Version 1 held the spreads in "variation": every one becomes an override (given or
    // defaulted), so the same file draws the same chips whatever the technology says.
    const StudySpec legacy = io::study_from_json(
        io::Json::parse(R"({"version": 1, "trials": 20, "variation": {"program_sigma_S": 6e-6}})"),
        io::JsonPlace("v1"));
    CHECK(legacy.technology_overrides.size() == 8);
    const MonteCarlo legacy_engine(inputs_with(legacy));
    for (std::uint64_t trial : {0u, 3u, 11u})
        CHECK(trial_csv_line(legacy_engine.run_trial(trial)) == trial_csv_line(wider_engine.run_trial(trial)));
    // "verify_tolerance_S": 0 meant one programming pulse.
    const StudySpec single = io::study_from_json(
        io::Json::parse(R"({"version": 1, "variation": {"verify_tolerance_S": 0}})"), io::JsonPlace("v1"));
    CHECK(inputs_with(single)->tech.device.verify_max_iterations == 1);
}
