// The embedded default data generator.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "nladc/core/error.hpp"
#include "nladc/data/synthetic.hpp"

using namespace nladc;

TEST_CASE("synthetic mix has exact boundary fractions and an open interior", "[data]")
{
    SyntheticSpec spec;
    spec.samples = 100000;
    spec.distribution = GENERATE(std::string("halfnormal"), std::string("lognormal"), std::string("uniform"));
    const auto x = generate_synthetic(spec);
    REQUIRE(x.size() == 100000);
    const auto zeros = std::count(x.begin(), x.end(), 0.0f);
    const auto clamped = std::count(x.begin(), x.end(), 6.0f);
    CHECK(zeros == 40000);
    CHECK(clamped == 5000);
    for (float v : x) REQUIRE((v == 0.0f || v == 6.0f || (v > 0.0f && v < 6.0f)));
    // Shuffled: the boundary samples are spread over the file, not in a block.
    const auto first_tenth_zeros = std::count(x.begin(), x.begin() + 10000, 0.0f);
    CHECK(first_tenth_zeros == Approx(4000).epsilon(0.1));
}

TEST_CASE("synthetic half-normal interior has the truncated half-normal mean", "[data]")
{
    SyntheticSpec spec;
    spec.samples = 400000;
    spec.zeros_fraction = 0;
    spec.clamp_fraction = 0;
    const auto x = generate_synthetic(spec);
    double sum = 0;
    for (float v : x) sum += v;
    // E[|Z| sigma | |Z| sigma < 6] for sigma = 2: sigma*sqrt(2/pi)*(1-exp(-4.5)) / erf(3/sqrt2)
    const double sigma = 2, c = 6;
    const double expected = sigma * std::sqrt(2 / M_PI) * (1 - std::exp(-c * c / (2 * sigma * sigma))) /
                            std::erf(c / (sigma * std::sqrt(2.0)));
    CHECK(sum / 400000 == Approx(expected).epsilon(0.005));
}

TEST_CASE("synthetic data is reproducible from the seed", "[data]")
{
    SyntheticSpec spec;
    spec.samples = 1000;
    const auto a = generate_synthetic(spec);
    const auto b = generate_synthetic(spec);
    spec.seed = 2;
    const auto c = generate_synthetic(spec);
    CHECK(a == b);
    CHECK(a != c);
}

TEST_CASE("bad synthetic specs are usage errors", "[data]")
{
    SyntheticSpec spec;
    spec.zeros_fraction = 0.7;
    spec.clamp_fraction = 0.5;
    CHECK_THROWS_AS(generate_synthetic(spec), UsageError);
    spec = {};
    spec.sigma = -1;
    CHECK_THROWS_WITH(generate_synthetic(spec), Catch::Contains("sigma = -1"));
    spec = {};
    spec.distribution = "gamma";
    CHECK_THROWS_WITH(generate_synthetic(spec), Catch::Contains("gamma"));
}
