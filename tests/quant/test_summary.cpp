// SampleSummary: moments, histogram atoms, and refinement.
#include <catch2/catch.hpp>

#include <cmath>

#include "nladc/core/random.hpp"
#include "nladc/quant/summary.hpp"

using namespace nladc;

TEST_CASE("exact summary: one atom per distinct value, boundary atoms flagged", "[quant]")
{
    const std::vector<double> x = {0, 0, 0, 1.5, 2.5, 2.5, 6, 6};
    const SampleSummary s = summarize_exact(std::span<const double>(x), 0.0, 6.0);
    REQUIRE(s.size() == 4);
    CHECK(s.atoms()[0].boundary == Boundary::lo);
    CHECK(s.atoms()[0].weight == 3);
    CHECK(s.atoms()[3].boundary == Boundary::hi);
    CHECK(s.value(2) == 2.5);
    CHECK(s.mean(0, 4) == Approx(18.5 / 8));
    // SSE of all samples about their mean, computed directly.
    double mean = 18.5 / 8, sse = 0;
    for (double v : x) sse += (v - mean) * (v - mean);
    CHECK(s.sse(0, 4) == Approx(sse));
    CHECK(s.sse_about(1, 3, 2.0) == Approx(0.25 + 2 * 0.25));
    CHECK(s.mean_square() == Approx((2.25 + 2 * 6.25 + 72) / 8));
    CHECK(s.interior().size() == 2);
}

TEST_CASE("boundary tolerance merges near-boundary samples into the point mass", "[quant]")
{
    const std::vector<double> x = {0, 1e-7, 0.5, 5.9999999, 6};
    const SampleSummary s = summarize_exact(std::span<const double>(x), 0.0, 6.0, 1e-6);
    REQUIRE(s.size() == 3);
    CHECK(s.atoms()[0].weight == 2);
    CHECK(s.atoms()[2].weight == 2);
}

TEST_CASE("histogram summary keeps exact moments per bin", "[quant]")
{
    RandomStream random(3, 0);
    std::vector<float> x;
    for (int i = 0; i < 10000; ++i) x.push_back(i % 3 == 0 ? 0.0f : static_cast<float>(random.uniform() * 4.0));
    HistogramBuilder builder(0.0, 4.0, 0.0, 4.0, 64);
    builder.add(std::span<const float>(x));
    const SampleSummary s = builder.finish();
    CHECK_FALSE(s.exact());
    CHECK(s.atoms()[0].boundary == Boundary::lo);
    CHECK(s.total_weight() == 10000);
    double sum = 0, square = 0;
    for (float v : x) {
        sum += v;
        square += static_cast<double>(v) * v;
    }
    CHECK(s.mean(0, s.size()) == Approx(sum / 10000).epsilon(1e-12));
    CHECK(s.mean_square() == Approx(square / 10000).epsilon(1e-12));
    for (std::size_t i = 1; i < s.size(); ++i) CHECK(s.value(i) > s.value(i - 1));
}

TEST_CASE("histogram of float32 samples (AVX2 binning) equals the scalar binning of the same values", "[quant]")
{
    // The double path bins one sample at a time; float samples go through the AVX2 lanes
    // where the CPU has them. The same values (float -> double is exact) must give the same
    // atoms bit for bit: samples below, at, near and above both ends, on bin edges, a
    // block length that is not a multiple of four.
    RandomStream random(5, 0);
    const double lo = 0.5, hi = 3.5, tolerance = 1e-3;
    std::vector<float> x;
    for (int i = 0; i < 20003; ++i) {
        const int kind = i % 7;
        double v = random.uniform() * 5.0 - 1.0;
        if (kind == 0) v = lo;
        if (kind == 1) v = hi + (random.uniform() - 0.5) * 3e-3;
        if (kind == 2) v = lo + 3.0 * std::floor(random.uniform() * 100) / 100;  // bin edges
        x.push_back(static_cast<float>(v));
    }
    const std::vector<double> as_double(x.begin(), x.end());
    HistogramBuilder lanes(lo, hi, lo, hi, 100, tolerance), scalar(lo, hi, lo, hi, 100, tolerance);
    lanes.add(std::span<const float>(x));
    scalar.add(std::span<const double>(as_double));
    const SampleSummary a = lanes.finish(), b = scalar.finish();
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() > 90);
    int different = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const Atom &p = a.atoms()[i], &q = b.atoms()[i];
        different += p.weight != q.weight || p.sum != q.sum || p.sum_sq != q.sum_sq || p.boundary != q.boundary;
    }
    CHECK(different == 0);
    CHECK(a.atoms().front().boundary == Boundary::lo);
    CHECK(a.atoms().back().boundary == Boundary::hi);
}

TEST_CASE("a NaN sample is refused by name, on the lane and the scalar binning", "[quant]")
{
    std::vector<float> x(1000, 1.5f);
    x[300] = std::nanf("");
    const std::vector<double> as_double(x.begin(), x.end());
    HistogramBuilder lanes(0.0, 4.0, 0.0, 4.0, 64), scalar(0.0, 4.0, 0.0, 4.0, 64);
    CHECK_THROWS_WITH(lanes.add(std::span<const float>(x)), "sample 300 is nan: cannot bin it");
    CHECK_THROWS_WITH(scalar.add(std::span<const double>(as_double)), "sample 300 is nan: cannot bin it");
}

TEST_CASE("refining bins to exact atoms or sub-bins preserves the totals", "[quant]")
{
    RandomStream random(4, 0);
    std::vector<double> x;
    for (int i = 0; i < 5000; ++i) x.push_back(random.uniform() * 10.0);
    for (int i = 0; i < 3000; ++i) x.push_back(5.7 + 0.1 * random.uniform());  // a dense bin: 57
    HistogramBuilder builder(0.0, 10.0, 0.0, 10.0, 100);
    builder.add(std::span<const double>(x));
    const SampleSummary base = builder.finish();
    std::vector<bool> flagged(100, false);
    flagged[10] = flagged[11] = flagged[57] = true;
    std::size_t sparse = 0;
    for (double v : x) {
        const auto bin = base.grid().bin_of(v);
        sparse += bin == 10 || bin == 11;
    }
    BinRefiner refiner(base, flagged, 0.0, 256, 64);
    refiner.add(std::span<const double>(x).first(4000));  // chunks in any split
    refiner.add(std::span<const double>(x).subspan(4000));
    const SampleSummary refined = refiner.finish();
    // Bins 10 and 11 become exact atoms; bin 57 (> 256 samples) becomes at most 64 sub-bins.
    CHECK(refined.size() > base.size() - 3 + sparse);
    CHECK(refined.size() <= base.size() - 3 + sparse + 64);
    CHECK(refined.total_weight() == base.total_weight());
    CHECK(refined.sse(0, refined.size()) == Approx(base.sse(0, base.size())).epsilon(1e-10));
    for (std::size_t i = 1; i < refined.size(); ++i) CHECK(refined.value(i) > refined.value(i - 1));
}
