// The histogram path streams: fitting a 1 GiB activation file keeps the peak
// resident set of the nladc process below 100 MiB (measured with wait4's rusage of nladc alone;
// ulimit -v does not mix with AddressSanitizer's shadow memory).
#include <catch2/catch.hpp>

#include <fstream>

#include "../support.hpp"
#include "nladc/data/synthetic.hpp"
#include "nladc/documents/levelset_file.hpp"

using namespace nladc;

TEST_CASE("fitting a 1 GiB file stays below 100 MiB peak RSS", "[study][slow]")
{
    test::ScratchDir dir;
    const auto file = dir / "big.f32";
    {
        SyntheticSpec spec;
        spec.samples = std::uint64_t{1} << 20;
        const auto block = generate_synthetic(spec);
        std::ofstream out(file, std::ios::binary);
        for (int i = 0; i < 256; ++i)  // 2^28 float32 = 1 GiB
            out.write(reinterpret_cast<const char*>(block.data()),
                      static_cast<std::streamsize>(block.size() * sizeof(float)));
        REQUIRE(out.good());
    }
    REQUIRE(std::filesystem::file_size(file) == (std::uint64_t{1} << 30));
    const auto out = dir / "levels.json";
    const auto result = test::run_cli_peak_rss({"levels", "--input", file.string(), "--bits", "4", "--method", "bs-kmq",
                                       "--lo", "0", "--hi", "6", "--out", out.string()});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    INFO("peak RSS " << result.max_rss_kib << " KiB");
    CHECK(result.max_rss_kib < 100 * 1024);
    const auto record = io::read_levelset(out);
    CHECK(record.input->samples == (std::uint64_t{1} << 28));
    CHECK(record.set.parameter("summary_exact", 1) == 0.0);
}
