// libFuzzer harness: design files (nladc-design): the embedded level set and technology,
// the replica cells and the derived realized thresholds. An accepted design must hold a
// valid level set and technology, cells on distinct rows inside the column, finite
// realized thresholds and errors, and survive a write / read round trip unchanged.
#include "fuzz_common.hpp"

#include <set>

#include "nladc/core/error.hpp"
#include "nladc/documents/design_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace nladc::io;
    const auto file = nladc::fuzz::write_input("input.json", data, size);
    DesignRecord record;
    try {
        record = read_design(file);
    } catch (const nladc::Error&) {
        return 0;
    }
    const nladc::ReplicaDesign& d = record.design;
    nladc::fuzz::check_levelset(d.levels);
    NLADC_FUZZ_CHECK(nladc::find_technology_violation(d.tech).first.empty());
    NLADC_FUZZ_CHECK(std::isfinite(d.scale_per_S) && d.scale_per_S > 0);
    NLADC_FUZZ_CHECK(d.rows_available <= d.tech.array.rows);
    std::set<int> rows;
    for (const nladc::ReplicaCell& cell : d.cells) {
        NLADC_FUZZ_CHECK(cell.row >= 0 && cell.row < d.rows_available);
        NLADC_FUZZ_CHECK(rows.insert(cell.row).second);
        NLADC_FUZZ_CHECK(std::isfinite(cell.target_S) && cell.target_S >= 0);
        NLADC_FUZZ_CHECK(cell.step >= -1 && cell.step <= static_cast<int>(d.levels.thresholds.size()));
    }
    NLADC_FUZZ_CHECK(d.realized_thresholds.size() == d.levels.thresholds.size());
    NLADC_FUZZ_CHECK(d.threshold_error_lsb.size() == d.levels.thresholds.size());
    for (const double t : d.realized_thresholds) NLADC_FUZZ_CHECK(std::isfinite(t));
    for (const double e : d.threshold_error_lsb) NLADC_FUZZ_CHECK(std::isfinite(e));

    const std::string text = dump_json(design_to_json(record));
    const DesignRecord back = design_from_json(parse_json(text, "round-trip.json"), JsonPlace("round-trip.json"));
    NLADC_FUZZ_CHECK(dump_json(design_to_json(back)) == text);
    return 0;
}
