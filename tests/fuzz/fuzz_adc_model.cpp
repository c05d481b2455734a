// libFuzzer harness: exported ADC models (nladc-adc-model, read_adc_model). An accepted
// model must hold a valid target level set, one entry per threshold in every
// per-threshold list, no NaN (a threshold may be +-inf: unreachable), finite sigma >= 0,
// codes inside the level set, writers that do not fail, and a JSON export that reads
// back to the same export.
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"
#include "nladc/export/export.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto file = nladc::fuzz::write_input("input.json", data, size);
    nladc::AdcModel m;
    try {
        m = nladc::read_adc_model(file);
    } catch (const nladc::Error&) {
        return 0;
    }
    nladc::fuzz::check_levelset(m.target);
    const std::size_t n = m.target.thresholds.size();
    NLADC_FUZZ_CHECK(m.measured.size() == n && m.mean.size() == n && m.sigma.size() == n && m.inl_lsb.size() == n);
    for (std::size_t k = 0; k < n; ++k) {
        NLADC_FUZZ_CHECK(!std::isnan(m.measured[k]) && !std::isnan(m.mean[k]) && !std::isnan(m.inl_lsb[k]));
        NLADC_FUZZ_CHECK(std::isfinite(m.sigma[k]) && m.sigma[k] >= 0);
    }
    for (const double x : m.dnl) NLADC_FUZZ_CHECK(std::isfinite(x));
    NLADC_FUZZ_CHECK(std::isfinite(m.energy_J) && std::isfinite(m.latency_s));
    for (const double x : {m.target.lo, m.target.hi, m.target.levels.front(), m.target.levels.back()}) {
        const int code = m.code(x);
        NLADC_FUZZ_CHECK(code >= 0 && static_cast<std::size_t>(code) < m.target.levels.size());
        NLADC_FUZZ_CHECK(std::isfinite(m.output(x)));
    }
    (void)nladc::model_csv(m);
    (void)nladc::model_spice(m);
    (void)nladc::model_veriloga(m);

    const std::string text = nladc::model_json(m);
    const auto again = nladc::fuzz::write_input("round-trip.json", text);
    NLADC_FUZZ_CHECK(nladc::model_json(nladc::read_adc_model(again)) == text);
    return 0;
}
