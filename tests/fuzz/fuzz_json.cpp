// libFuzzer harness: JSON syntax (io::parse_json: line/column errors) and the typed
// getters every reader uses (require, as_number, as_integer, as_string, as_bool,
// level_from_json, reject_unknown_keys with its did-you-mean hint). An accepted document
// must dump and parse back to an equal document, also through dump_json.
#include "fuzz_common.hpp"

#include "nladc/core/error.hpp"
#include "nladc/io/json.hpp"

namespace {

template <class F>
void expect_error_or_value(F&& f)
{
    try {
        f();
    } catch (const nladc::Error&) {
    }
}

void getters(const nladc::io::Json& value, const nladc::io::JsonPlace& place)
{
    using namespace nladc::io;
    expect_error_or_value([&] { NLADC_FUZZ_CHECK(std::isfinite(as_number(value, place))); });
    expect_error_or_value([&] { (void)as_integer(value, place); });
    expect_error_or_value([&] { (void)as_string(value, place); });
    expect_error_or_value([&] { (void)as_bool(value, place); });
    expect_error_or_value([&] { NLADC_FUZZ_CHECK(!std::isnan(level_from_json(value, place))); });
    expect_error_or_value([&] { (void)require(value, place, "levels"); });
    expect_error_or_value([&] { reject_unknown_keys(value, place, {"format", "version", "levels", "thresholds", "bits"}); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace nladc::io;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    Json document;
    try {
        document = parse_json(text, "input.json");
    } catch (const nladc::Error&) {
        return 0;
    }
    NLADC_FUZZ_CHECK(parse_json(document.dump(), "dump.json") == document);
    const std::string pretty = dump_json(OrderedJson::parse(document.dump()));
    NLADC_FUZZ_CHECK(!pretty.empty() && pretty.back() == '\n');
    (void)parse_json(pretty, "pretty.json");

    const JsonPlace place("input.json");
    getters(document, place);
    if (document.is_structured()) {
        std::size_t i = 0;
        for (const auto& [key, value] : document.items()) {
            if (++i > 64) break;
            getters(value, document.is_object() ? place.key(key) : place.index(i - 1));
        }
    }
    return 0;
}
