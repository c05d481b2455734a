// CDF / equal-probability quantizer, BRIEF §3: threshold i at the quantile i/L,
// level = mean of the cell. On a point mass several quantiles fall on the same
// value; those thresholds coincide and the codes between them stay empty.
#include <algorithm>

#include "methods.hpp"

namespace nladc::detail {

namespace {

class Cdf final : public Quantizer {
public:
    std::string_view method() const override { return "cdf"; }
    std::vector<std::string_view> variants() const override { return {"equal-probability"}; }

    LevelSet fit(const SampleSummary& summary, const QuantizerOptions& options) const override
    {
        const std::size_t count = std::size_t{1} << options.bits;
        const std::size_t n = summary.size();
        if (n < 2) return degenerate(summary, count);
        const double total = summary.total_weight();
        // last_atom[i]: index of the last atom in codes 0..i-1 (the atom where the
        // cumulative weight first reaches i/L), kept below the last atom so that the
        // top code is never empty with a non-degenerate cell.
        std::vector<std::size_t> last_atom(count + 1);
        std::size_t atom = 0;
        for (std::size_t i = 1; i < count; ++i) {
            const double target = total * static_cast<double>(i) / static_cast<double>(count);
            while (atom + 1 < n && summary.weight(0, atom + 1) < target) ++atom;
            last_atom[i] = std::min(atom, n - 2);
        }
        LevelSet set;
        for (std::size_t i = 1; i < count; ++i) set.thresholds.push_back(summary.atoms()[last_atom[i]].max);
        for (std::size_t k = 0; k < count; ++k) {
            const std::size_t begin = k == 0 ? 0 : last_atom[k] + 1;
            const std::size_t end = k + 1 == count ? n : last_atom[k + 1] + 1;
            set.levels.push_back(end > begin ? summary.mean(begin, end) : set.thresholds[k - 1]);
        }
        return set;
    }

private:
    static LevelSet degenerate(const SampleSummary& summary, std::size_t count)
    {
        // One distinct value: every quantile is that value; code 0 holds it.
        const double value = summary.value(0);
        LevelSet set;
        set.levels.assign(count, value);
        set.thresholds.assign(count - 1, value);
        set.levels.back() = std::max(value, summary.hi());
        return set;
    }
};

}  // namespace

std::unique_ptr<Quantizer> make_cdf() { return std::make_unique<Cdf>(); }

}  // namespace nladc::detail
