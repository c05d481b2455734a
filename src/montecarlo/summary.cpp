#include "summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <charconv>
#include <limits>
#include <cmath>
#include <sstream>

#include "nladc/core/error.hpp"
#include "nladc/io/atomic_file.hpp"
#include "nladc/io/json.hpp"
#include "nladc/io/plot.hpp"

namespace nladc {

namespace detail {

std::vector<TrialResult> parse_trials(const std::filesystem::path& file)
{
    const std::string text = io::read_file(file);
    // Lines and fields as views into `text`: a 10^6-trial file is 750 MB, and a copy of
    // it per stream would double the merge's peak memory (docs/scale.md).
    std::string_view rest = text;
    auto next_line = [&rest](std::string_view& line) {
        if (rest.empty()) return false;
        const auto end = rest.find('\n');
        line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        return true;
    };
    auto split = [](std::string_view line, std::vector<std::string_view>& fields) {
        fields.clear();
        for (std::size_t start = 0;;) {
            const auto comma = line.find(',', start);
            fields.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
            if (comma == std::string_view::npos) return;
            start = comma + 1;
        }
    };
    std::string_view line;
    if (!next_line(line)) throw InputError(file.string(), "line 1", "empty trials file");
    std::vector<std::string_view> header;
    split(line, header);
    const auto thresholds = static_cast<std::size_t>(std::count_if(header.begin(), header.end(), [](std::string_view f) {
        return f.size() > 1 && f[0] == 'T' && f.find("_trim") == std::string_view::npos;
    }));
    if (header.size() != 7 + thresholds + 7 + thresholds + 6)
        throw InputError(file.string(), "line 1", fmt::format("unexpected header with {} columns", header.size()));
    std::vector<TrialResult> trials;
    int line_number = 1;
    std::vector<std::string_view> f;
    while (next_line(line)) {
        ++line_number;
        split(line, f);
        if (f.size() != header.size())
            throw InputError(file.string(), fmt::format("line {}", line_number),
                             fmt::format("{} fields, the header has {}", f.size(), header.size()));
        std::size_t i = 0;
        // Reals; an unreachable threshold is written "inf" or "-inf".
        auto num = [&]() {
            const std::string_view s = f[i++];
            double value = 0;
            const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
            if (s.empty() || error != std::errc() || end != s.data() + s.size())
                throw InputError(file.string(), fmt::format("line {}, field {}", line_number, i),
                                 fmt::format("'{}' is not a number", s));
            return value;
        };
        // Counts, flags, trial indices and seeds are exact unsigned integers (a seed may
        // exceed 2^53, so never through a double).
        auto integer = [&]() -> std::uint64_t {
            const std::string_view s = f[i++];
            std::uint64_t value = 0;
            const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
            if (s.empty() || error != std::errc() || end != s.data() + s.size())
                throw InputError(file.string(), fmt::format("line {}, field {}", line_number, i),
                                 fmt::format("'{}' is not an unsigned integer", s));
            return value;
        };
        TrialResult r;
        r.trial = integer();
        r.seed = integer();
        r.stuck_off = static_cast<int>(integer());
        r.stuck_on = static_cast<int>(integer());
        r.comparator_offset_V = num();
        r.v_read_V = num();
        r.wire_resistance_ohm = num();
        for (std::size_t k = 0; k < thresholds; ++k) r.levels.push_back(num());
        r.linearity.max_abs_inl_lsb = num();
        r.linearity.max_abs_dnl = num();
        r.linearity.missing_codes.resize(static_cast<std::size_t>(integer()));
        r.linearity.code_errors = static_cast<int>(integer());
        r.effective_mse = num();
        r.pass = integer() != 0;
        r.trimmed = integer() != 0;
        for (std::size_t k = 0; k < thresholds; ++k) r.levels_trimmed.push_back(num());
        r.linearity_trimmed.max_abs_inl_lsb = num();
        r.linearity_trimmed.max_abs_dnl = num();
        r.linearity_trimmed.missing_codes.resize(static_cast<std::size_t>(integer()));
        r.linearity_trimmed.code_errors = static_cast<int>(integer());
        r.effective_mse_trimmed = num();
        r.pass_trimmed = integer() != 0;
        trials.push_back(std::move(r));
    }
    return trials;
}

}  // namespace detail

namespace {

ChipStats stats_of(std::vector<double> values)
{
    values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }), values.end());
    ChipStats s;
    if (values.empty()) return s;
    double sum = 0, square = 0;
    for (double v : values) sum += v;
    s.mean = sum / static_cast<double>(values.size());
    for (double v : values) square += (v - s.mean) * (v - s.mean);
    s.sigma = values.size() > 1 ? std::sqrt(square / static_cast<double>(values.size() - 1)) : 0.0;
    std::sort(values.begin(), values.end());
    auto quantile = [&](double q) { return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))]; };
    s.p50 = quantile(0.5);
    s.p95 = quantile(0.95);
    s.p99 = quantile(0.99);
    s.max = values.back();
    return s;
}

std::uint64_t finite_count(const std::vector<double>& values)
{
    return static_cast<std::uint64_t>(std::count_if(values.begin(), values.end(), [](double v) { return std::isfinite(v); }));
}

}  // namespace

void write_summary(const std::filesystem::path& dir, const StudySpec& spec)
{
    const std::vector<TrialResult> trials = detail::parse_trials(dir / "trials.csv");
    const io::Json identity = io::read_json_file(dir / "study.json");
    const auto target = identity["target_thresholds"].get<std::vector<double>>();
    const double lsb = identity["lsb"].get<double>();
    const std::size_t n = trials.size(), thresholds = target.size();

    McSummary summary;
    summary.trials = n;
    summary.seed = spec.seed;
    summary.study_hash = identity.value("study_hash", std::string());
    std::size_t pass = 0, pass_trim = 0, trimmed = 0, missing = 0, missing_trim = 0;
    std::vector<double> inl, dnl, mse, inl_t, dnl_t, mse_t;
    for (const TrialResult& r : trials) {
        pass += r.pass;
        pass_trim += r.pass_trimmed;
        trimmed += r.trimmed;
        missing += !r.linearity.missing_codes.empty();
        missing_trim += !r.linearity_trimmed.missing_codes.empty();
        inl.push_back(r.linearity.max_abs_inl_lsb);
        dnl.push_back(r.linearity.max_abs_dnl);
        mse.push_back(r.effective_mse);
        inl_t.push_back(r.linearity_trimmed.max_abs_inl_lsb);
        dnl_t.push_back(r.linearity_trimmed.max_abs_dnl);
        mse_t.push_back(r.effective_mse_trimmed);
    }
    const double count = static_cast<double>(std::max<std::size_t>(n, 1));
    summary.inl_spec_lsb = spec.trim.inl_spec_lsb;
    summary.dnl_spec = spec.trim.dnl_spec;
    summary.trim_policy = spec.trim.policy;
    summary.yield_before_trim = static_cast<double>(pass) / count;
    summary.yield_after_trim = static_cast<double>(pass_trim) / count;
    summary.trimmed_fraction = static_cast<double>(trimmed) / count;
    summary.missing_codes_before_trim = missing;
    summary.missing_codes_after_trim = missing_trim;
    summary.max_abs_inl_lsb = {stats_of(inl), stats_of(inl_t)};
    summary.max_abs_dnl = {stats_of(dnl), stats_of(dnl_t)};
    summary.effective_mse = {stats_of(mse), stats_of(mse_t)};
    // SQNR = 10 log10(E[x^2] / MSE) (BRIEF §3), against the target level set's own.
    const double ideal_mse = identity.value("ideal_mse", 0.0), power = identity.value("activation_mean_square", 0.0);
    auto sqnr = [power](std::vector<double> values) {
        for (double& v : values) v = v > 0 ? 10 * std::log10(power / v) : std::numeric_limits<double>::infinity();
        return values;
    };
    summary.ideal_mse = ideal_mse;
    summary.ideal_sqnr_db = ideal_mse > 0 ? 10 * std::log10(power / ideal_mse) : 0.0;
    summary.sqnr_db = {stats_of(sqnr(mse)), stats_of(sqnr(mse_t))};
    for (std::size_t k = 0; k < thresholds; ++k) {
        std::vector<double> before, after;
        for (const TrialResult& r : trials) {
            before.push_back(r.levels[k]);
            after.push_back(r.levels_trimmed[k]);
        }
        const ChipStats b = stats_of(before), a = stats_of(after);
        summary.thresholds.push_back({static_cast<int>(k + 1), target[k], b.mean, b.sigma, (b.mean - target[k]) / lsb,
                                      b.sigma / lsb, n - finite_count(before), a.mean, a.sigma, a.sigma / lsb});
    }
    io::write_mc_summary(dir / "summary.json", summary);

    // Histograms of the threshold deviations (LSB), every threshold in one plot.
    io::PlotSpec histogram;
    histogram.title = fmt::format("Monte Carlo transition levels, {} chips (before trim)", n);
    histogram.x_label = "T[k] - T_target[k] (LSB)";
    histogram.y_label = "chips";
    for (std::size_t k = 0; k < thresholds; ++k) {
        std::vector<double> d;
        for (const TrialResult& r : trials)
            if (std::isfinite(r.levels[k])) d.push_back((r.levels[k] - target[k]) / lsb);
        if (d.empty()) continue;
        const auto [lo_it, hi_it] = std::minmax_element(d.begin(), d.end());
        const double lo = *lo_it, hi = std::max(*hi_it, lo + 1e-9);
        const int bins = 40;
        std::vector<double> counts(bins, 0.0);
        for (double v : d) counts[std::min(bins - 1, static_cast<int>((v - lo) / (hi - lo) * bins))] += 1;
        io::PlotSeries series{fmt::format("T{}", k + 1), {}, {}, "steps"};
        for (int b = 0; b < bins; ++b) {
            series.x.push_back(lo + (hi - lo) * (b + 0.5) / bins);
            series.y.push_back(counts[static_cast<std::size_t>(b)]);
        }
        histogram.series.push_back(series);
    }
    // gnuplot renders it while the yield curve is computed and rendered (~0.1 s each).
    auto histogram_png = std::async(std::launch::async,
                                    [&histogram, &dir] { io::plot_png(histogram, dir / "threshold_histograms.png"); });

    // Yield against the INL spec, before and after trim (DNL spec and no missing codes kept).
    io::PlotSpec yield;
    yield.title = fmt::format("Yield versus INL spec (DNL spec {:g}), {} chips", spec.trim.dnl_spec, n);
    yield.x_label = "INL spec (LSB)";
    yield.y_label = "yield";
    io::PlotSeries before{"before trim", {}, {}, "lines"}, after{"after trim", {}, {}, "lines"};
    for (int i = 0; i <= 60; ++i) {
        const double spec_lsb = 0.05 * i;
        std::size_t ok = 0, ok_t = 0;
        for (const TrialResult& r : trials) {
            ok += r.linearity.max_abs_inl_lsb <= spec_lsb && r.linearity.max_abs_dnl <= spec.trim.dnl_spec &&
                  r.linearity.missing_codes.empty();
            ok_t += r.linearity_trimmed.max_abs_inl_lsb <= spec_lsb &&
                    r.linearity_trimmed.max_abs_dnl <= spec.trim.dnl_spec && r.linearity_trimmed.missing_codes.empty();
        }
        before.x.push_back(spec_lsb);
        before.y.push_back(static_cast<double>(ok) / count);
        after.x.push_back(spec_lsb);
        after.y.push_back(static_cast<double>(ok_t) / count);
    }
    yield.series = {before, after};
    yield.extra = "set yrange [0:1.02]";
    io::plot_png(yield, dir / "yield.png");
    histogram_png.get();  // rethrows its error, if any
}

}  // namespace nladc
