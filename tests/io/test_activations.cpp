// Activation-file readers and writers: .npy, .npz, CSV/text and raw .f32.
// Fixtures in tests/data/io/ are made by scripts/make-test-fixtures.py (real NumPy);
// everything else is built byte by byte here.

#include <catch2/catch.hpp>

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "nladc/core/error.hpp"
#include "nladc/io/activations.hpp"
#include "../../src/io/readers_internal.hpp"

namespace fs = std::filesystem;
using namespace nladc::io;

namespace {

fs::path fixture(const std::string& name) { return fs::path(NLADC_TEST_DATA_DIR) / "io" / name; }

std::string slurp(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void spit(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

/// A fresh temporary directory, removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir()
    {
        static int counter = 0;
        path = fs::temp_directory_path() / ("nladc_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path operator/(const std::string& name) const { return path / name; }
};

/// Every raw value of an array, in file order (non-finite values included).
std::vector<double> read_all(ArrayReader& reader, std::size_t chunk = 7)
{
    std::vector<double> out;
    std::vector<double> buf(chunk);
    for (;;) {
        const std::size_t got = reader.read(buf);
        if (got == 0) break;
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
    }
    return out;
}

std::vector<double> read_all(const fs::path& file, const std::string& name = "")
{
    auto reader = open_array(file, name);
    return read_all(*reader);
}

/// The message of the nladc::InputError `f` throws; fails the test otherwise.
std::string input_error(const std::function<void()>& f)
{
    try {
        f();
    } catch (const nladc::InputError& e) {
        const std::string what = e.what();
        CHECK(what.find('\n') == std::string::npos);
        return what;
    } catch (const std::exception& e) {
        FAIL("expected nladc::InputError, got another exception: " << e.what());
    }
    FAIL("expected nladc::InputError, nothing was thrown");
    return {};
}

/// Opens and reads the file completely (the way a histogram pass would).
void consume(const fs::path& file, const std::string& name = "")
{
    auto reader = open_array(file, name);
    std::vector<double> buf(1000);
    while (reader->read(buf) != 0) {
    }
}

std::string le_bytes(std::uint64_t v, int n)
{
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

/// An .npy file from its parts; the dictionary is used verbatim (padded to 64 bytes).
std::string npy(const std::string& dict, const std::string& data, int major = 1, bool pad = true)
{
    std::string header = dict;
    const std::size_t fixed = major == 1 ? 10 : 12;
    if (pad) {
        while ((fixed + header.size() + 1) % 64 != 0) header += ' ';
        header += '\n';
    }
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    out += le_bytes(header.size(), major == 1 ? 2 : 4);
    return out + header + data;
}

std::string dict(const std::string& descr, bool fortran, const std::string& shape)
{
    return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
           ", }";
}

template <class T>
std::string raw(const std::vector<T>& values)
{
    std::string s(values.size() * sizeof(T), '\0');
    std::memcpy(s.data(), values.data(), s.size());
    return s;
}

std::string swapped(const std::string& data, std::size_t item)
{
    std::string s = data;
    for (std::size_t i = 0; i + item <= s.size(); i += item) std::reverse(s.begin() + static_cast<std::ptrdiff_t>(i), s.begin() + static_cast<std::ptrdiff_t>(i + item));
    return s;
}

// --- zip archives built by hand -----------------------------------------------

std::string deflate_raw(const std::string& data)
{
    z_stream s{};
    REQUIRE(deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&s, static_cast<uLong>(data.size())), '\0');
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    s.avail_in = static_cast<uInt>(data.size());
    s.next_out = reinterpret_cast<Bytef*>(out.data());
    s.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
    out.resize(s.total_out);
    deflateEnd(&s);
    return out;
}

struct ZipEntry {
    std::string name;
    std::string data;  ///< uncompressed
    int method = 0;    ///< 0 stored, 8 deflated, anything else as is
    std::optional<std::uint32_t> crc;           ///< override (corruption)
    std::optional<std::uint64_t> usize, csize;  ///< override (lies)
    std::optional<std::uint64_t> local_offset;  ///< override (lies)
    std::uint16_t flags = 0;
    std::optional<std::string> payload;         ///< override the (compressed) bytes
};

ZipEntry make_entry(std::string name, std::string data, int method)
{
    ZipEntry e;
    e.name = std::move(name);
    e.data = std::move(data);
    e.method = method;
    return e;
}

std::string zip(const std::vector<ZipEntry>& entries, std::optional<std::uint64_t> cd_offset_override = {})
{
    std::string body, central;
    for (const ZipEntry& e : entries) {
        const std::string payload = e.payload ? *e.payload : e.method == 8 ? deflate_raw(e.data) : e.data;
        const auto crc = e.crc.value_or(
            static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size()))));
        const std::uint64_t usize = e.usize.value_or(e.data.size()), csize = e.csize.value_or(payload.size());
        const std::uint64_t offset = body.size();
        std::string common = le_bytes(20, 2) + le_bytes(e.flags, 2) + le_bytes(static_cast<std::uint64_t>(e.method), 2) +
                             le_bytes(0, 2) + le_bytes(0x21, 2) + le_bytes(crc, 4) + le_bytes(csize, 4) +
                             le_bytes(usize, 4) + le_bytes(e.name.size(), 2) + le_bytes(0, 2);
        body += le_bytes(0x04034b50, 4) + common + e.name + payload;
        central += le_bytes(0x02014b50, 4) + le_bytes(20, 2) + common + le_bytes(0, 2) + le_bytes(0, 2) +
                   le_bytes(0, 2) + le_bytes(0, 4) + le_bytes(e.local_offset.value_or(offset), 4) + e.name;
    }
    const std::uint64_t cd_offset = cd_offset_override.value_or(body.size());
    return body + central + le_bytes(0x06054b50, 4) + le_bytes(0, 2) + le_bytes(0, 2) +
           le_bytes(entries.size(), 2) + le_bytes(entries.size(), 2) + le_bytes(central.size(), 4) +
           le_bytes(cd_offset, 4) + le_bytes(0, 2);
}

std::string f4_npy(const std::vector<float>& values)
{
    std::string shape = "(";  // (not "(" + std::to_string(...): a GCC 12 -Wrestrict false positive at -O3)
    shape += std::to_string(values.size());
    shape += ",)";
    return npy(dict("<f4", false, shape), raw(values));
}

const std::vector<double> kMatrixC = {0.5, -1.25, 3.0, 1024.0, -0.0078125, 6.5};
const std::vector<double> kMatrixF = {0.5, 1024.0, -1.25, -0.0078125, 3.0, 6.5};

}  // namespace

// =============================================================================
// .npy

TEST_CASE("npy: every float dtype, byte order and memory order", "[io][npy]")
{
    for (const std::string code : {"f2", "f4", "f8"}) {
        for (const std::string order : {"le", "be"}) {
            for (const std::string layout : {"c", "f"}) {
                const auto file = fixture("m_" + code + "_" + order + "_" + layout + ".npy");
                INFO(file);
                const auto arrays = list_arrays(file);
                REQUIRE(arrays.size() == 1);
                CHECK(arrays[0].name.empty());
                CHECK(arrays[0].shape == std::vector<std::uint64_t>{2, 3});
                CHECK(arrays[0].count == 6);
                CHECK(arrays[0].fortran_order == (layout == "f"));
                auto reader = open_array(file);
                CHECK(reader->source_name() == file.string());
                CHECK(read_all(*reader, 4) == (layout == "f" ? kMatrixF : kMatrixC));
            }
        }
    }
}

TEST_CASE("npy: same data built by hand in every byte order", "[io][npy]")
{
    const std::vector<float> f = {1.5f, -2.0f, 0.1f};
    const std::vector<double> d = {1.5, -2.0, 0.1};
    const std::vector<double> want_f = {1.5, -2.0, static_cast<double>(0.1f)};
    TempDir tmp;
    struct Case {
        std::string descr, data;
        std::vector<double> want;
    };
    const std::vector<Case> cases = {
        {"<f4", raw(f), want_f}, {"=f4", raw(f), want_f}, {">f4", swapped(raw(f), 4), want_f},
        {"<f8", raw(d), d},      {"=f8", raw(d), d},      {">f8", swapped(raw(d), 8), d},
        // 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24 (smallest subnormal)
        {"<f2", std::string("\x00\x3c\x00\xc0\x01\x00", 6), {1.0, -2.0, std::ldexp(1.0, -24)}},
        {">f2", std::string("\x3c\x00\xc0\x00\x00\x01", 6), {1.0, -2.0, std::ldexp(1.0, -24)}},
    };
    for (const Case& c : cases) {
        INFO(c.descr);
        spit(tmp / "a.npy", npy(dict(c.descr, false, "(3,)"), c.data));
        CHECK(read_all(tmp / "a.npy") == c.want);
    }
    // Double quotes, Python 2 long integers, no padding/newline, keys in another order.
    spit(tmp / "b.npy", npy("{\"shape\": (1L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}", raw(f), 1, false));
    CHECK(read_all(tmp / "b.npy") == want_f);
    CHECK(list_arrays(tmp / "b.npy")[0].shape == std::vector<std::uint64_t>{1, 3});
}

TEST_CASE("npy: float16 specials and every bit pattern", "[io][npy]")
{
    const double sub_min = std::ldexp(1.0, -24), sub_max = std::ldexp(1.0, -14) - std::ldexp(1.0, -24);
    for (const std::string order : {"le", "be"}) {
        const auto v = read_all(fixture("f16_specials_" + order + ".npy"));
        REQUIRE(v.size() == 12);
        CHECK(v[0] == 0.0);
        CHECK_FALSE(std::signbit(v[0]));
        CHECK(v[1] == 0.0);
        CHECK(std::signbit(v[1]));
        CHECK(v[2] == sub_min);
        CHECK(v[3] == sub_max);
        CHECK(v[4] == std::ldexp(1.0, -14));
        CHECK(v[5] == 65504.0);
        CHECK(v[6] == -65504.0);
        CHECK(v[7] == std::numeric_limits<double>::infinity());
        CHECK(v[8] == -std::numeric_limits<double>::infinity());
        CHECK(std::isnan(v[9]));
        CHECK(v[10] == 0.333251953125);
        CHECK(v[11] == -std::ldexp(1.0, -20));  // a negative subnormal
    }

    // All 65536 patterns against an independent reference.
    std::string data;
    for (unsigned h = 0; h < 65536; ++h) data += le_bytes(h, 2);
    TempDir tmp;
    spit(tmp / "all.npy", npy(dict("<f2", false, "(65536,)"), data));
    const auto v = read_all(tmp / "all.npy");
    REQUIRE(v.size() == 65536);
    int bad = 0;
    for (unsigned h = 0; h < 65536; ++h) {
        const unsigned e = (h >> 10) & 31, m = h & 1023;
        double ref = e == 0 ? std::ldexp(m, -24)
                     : e == 31 ? (m ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity())
                               : std::ldexp(m + 1024, static_cast<int>(e) - 25);
        if (h & 0x8000) ref = -ref;
        const bool ok = std::isnan(ref) ? std::isnan(v[h]) : (v[h] == ref && std::signbit(v[h]) == std::signbit(ref));
        if (!ok && bad++ < 5) FAIL_CHECK("half 0x" << std::hex << h << " -> " << v[h] << ", expected " << ref);
    }
    CHECK(bad == 0);
}

TEST_CASE("npy: precision, subnormals, 0-d, empty, versions 2.0 and 3.0", "[io][npy]")
{
    CHECK(read_all(fixture("tenth_f4.npy")) ==
          std::vector<double>{static_cast<double>(0.1f), static_cast<double>(-0.1f), static_cast<double>(1e-40f),
                              static_cast<double>(3.4e38f)});
    CHECK(read_all(fixture("tenth_f8.npy")) == std::vector<double>{0.1, -0.1, 5e-324, 1.7976931348623157e308});

    const auto scalar = list_arrays(fixture("scalar_f4.npy"));
    CHECK(scalar[0].shape.empty());
    CHECK(scalar[0].count == 1);
    auto reader = open_array(fixture("scalar_f4.npy"));
    CHECK(reader->describe_element(0) == "element 0");
    CHECK(read_all(*reader) == std::vector<double>{2.5});

    const auto empty = list_arrays(fixture("empty_f4.npy"));
    CHECK(empty[0].shape == std::vector<std::uint64_t>{0, 3});
    CHECK(empty[0].count == 0);
    CHECK(read_samples(fixture("empty_f4.npy"), "", NonFinitePolicy::error).empty());

    CHECK(read_all(fixture("v2_f4.npy")) == std::vector<double>{1, 2, 3});
    CHECK(read_all(fixture("v3_f8.npy")) == std::vector<double>{4, 5});
}

TEST_CASE("npy: describe_element gives the C-order index, also for Fortran files", "[io][npy]")
{
    auto cube = open_array(fixture("cube_f4_f.npy"));  // arange(24).reshape(2, 3, 4), Fortran order
    CHECK(cube->info().fortran_order);
    CHECK(cube->describe_element(0) == "element 0 (index [0, 0, 0])");
    CHECK(cube->describe_element(1) == "element 12 (index [1, 0, 0])");
    CHECK(cube->describe_element(2) == "element 4 (index [0, 1, 0])");
    CHECK(cube->describe_element(6) == "element 1 (index [0, 0, 1])");
    CHECK(cube->describe_element(23) == "element 23 (index [1, 2, 3])");
    // The value at each file position is its C-order flat index.
    const auto values = read_all(*cube);
    REQUIRE(values.size() == 24);
    for (std::uint64_t p = 0; p < 24; ++p) {
        CHECK(cube->describe_element(p).rfind("element " + std::to_string(static_cast<int>(values[p])) + " (", 0) == 0);
    }

    auto f2d = open_array(fixture("m_f4_le_f.npy"));
    CHECK(f2d->describe_element(1) == "element 3 (index [1, 0])");
    CHECK(f2d->describe_element(2) == "element 1 (index [0, 1])");
    auto c2d = open_array(fixture("m_f4_le_c.npy"));
    CHECK(c2d->describe_element(1) == "element 1 (index [0, 1])");
    CHECK(c2d->describe_element(5) == "element 5 (index [1, 2])");
    auto one = open_array(fixture("tenth_f4.npy"));
    CHECK(one->describe_element(3) == "element 3");

    // The NaN error names the C-order element of a Fortran array.
    TempDir tmp;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    spit(tmp / "f.npy", npy(dict("<f4", true, "(2, 3)"), raw(std::vector<float>{1, nan, 2, 3, 4, 5})));
    CHECK(input_error([&] { read_samples(tmp / "f.npy", "", NonFinitePolicy::error); }) ==
          (tmp / "f.npy").string() + ": element 3 (index [1, 0]): is NaN");
}

TEST_CASE("npy: unsupported dtypes", "[io][npy][errors]")
{
    CHECK_THAT(input_error([] { open_array(fixture("bad_i8.npy")); }),
               Catch::EndsWith("bad_i8.npy: header: unsupported dtype '<i8' (expected float16, float32 or float64)"));
    CHECK_THAT(input_error([] { list_arrays(fixture("bad_c8.npy")); }),
               Catch::Contains("unsupported dtype '<c8' (expected float16, float32 or float64)"));
    CHECK_THAT(input_error([] { open_array(fixture("bad_u3.npy")); }), Catch::Contains("unsupported dtype '<U3'"));
    CHECK_THAT(input_error([] { open_array(fixture("bad_struct.npy")); }),
               Catch::Contains("unsupported dtype '[('a', '<f4'), ('b', '<f4')]'"));
    TempDir tmp;
    for (const std::string descr : {"|b1", "<u2", "|u1", "<f16", "<c16", "O", "<M8[s]"}) {
        spit(tmp / "x.npy", npy(dict(descr, false, "(1,)"), std::string(16, '\0')));
        CHECK_THAT(input_error([&] { open_array(tmp / "x.npy"); }), Catch::Contains("unsupported dtype '" + descr + "'"));
    }
    spit(tmp / "x.npy", npy(dict("|f4", false, "(1,)"), std::string(4, '\0')));
    CHECK_THAT(input_error([&] { open_array(tmp / "x.npy"); }), Catch::Contains("invalid dtype '|f4'"));
}

TEST_CASE("npy: truncated data and trailing bytes", "[io][npy][errors]")
{
    TempDir tmp;
    const std::string good = slurp(fixture("m_f4_le_c.npy"));  // 128-byte header + 24 bytes
    spit(tmp / "t.npy", good.substr(0, good.size() - 3));
    const std::string msg = input_error([&] { open_array(tmp / "t.npy"); });
    CHECK_THAT(msg, Catch::Contains("t.npy: data: truncated: header promises 24 bytes of data"));
    CHECK_THAT(msg, Catch::Contains("holds 21"));
    CHECK_THAT(input_error([&] { list_arrays(tmp / "t.npy"); }), Catch::Contains("truncated"));

    spit(tmp / "t.npy", good + "xy");
    CHECK_THAT(input_error([&] { open_array(tmp / "t.npy"); }),
               Catch::Contains("2 unexpected trailing bytes after the 24 bytes of data"));

    spit(tmp / "t.npy", good.substr(0, 100));
    CHECK_THAT(input_error([&] { open_array(tmp / "t.npy"); }), Catch::Contains("header length 118 runs past the end"));

    // Truncation at every length is an InputError, never anything else.
    for (std::size_t n = 1; n < good.size(); ++n) {
        spit(tmp / "t.npy", good.substr(0, n));
        INFO(n);
        input_error([&] { consume(tmp / "t.npy"); });
    }
}

TEST_CASE("npy: corrupt magic, version and header", "[io][npy][errors]")
{
    TempDir tmp;
    const auto p = tmp / "h.npy";
    const auto fails_with = [&](const std::string& bytes, const std::string& part) {
        spit(p, bytes);
        INFO(part);
        CHECK_THAT(input_error([&] { consume(p); }), Catch::Contains(part));
    };
    const std::string data4(4, '\0');
    fails_with("PK\x03\x04 not npy at all", "not a .npy file: bad magic 'PK\\x03\\x04 n'");
    fails_with("\x93NUM", "truncated header");
    std::string v = npy(dict("<f4", false, "(1,)"), data4);
    v[6] = 4;
    fails_with(v, "unsupported .npy format version 4.0 (expected 1.0, 2.0 or 3.0)");
    fails_with(npy("{'descr': '<f4', 'fortran_order': False}", data4), "the header has no 'shape' key");
    fails_with(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", data4),
               "unexpected key 'x' in the header");
    fails_with(npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", data4),
               "duplicate key 'descr'");
    fails_with(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", data4), "'fortran_order' is '0'");
    fails_with(npy(dict("<f4", false, "[1]"), data4), "'shape' is '[1]', expected a tuple");
    fails_with(npy(dict("<f4", false, "(-1,)"), data4), "expected non-negative integers");
    fails_with(npy(dict("<f4", false, "(1.5,)"), data4), "malformed header");
    fails_with(npy(dict("<f4", false, "(4294967296, 4294967296, 16)"), data4),
               "shape (4294967296, 4294967296, 16) is too large");
    fails_with(npy(dict("<f8", false, "(2305843009213693952,)"), data4), "is too large");  // 2^61 * 8 overflows
    fails_with(npy(dict("<f4", false, "(99999999999999999999999,)"), data4), "integer too large");
    fails_with(npy(dict("<f4", false, "(1000000000, 1000000000)"), data4),
               "truncated: header promises 4000000000000000000 bytes of data");
    fails_with(npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(5000, '(') + "}", data4),
               "nested too deeply");
    fails_with(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", data4),
               "unexpected text after the header dictionary");
    fails_with(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", data4), "malformed header");
    fails_with(npy("{'descr: '<f4'}", data4), "malformed header");
    fails_with(npy("", data4), "malformed header");
    std::string huge = "\x93NUMPY\x02";
    huge += '\0';
    huge += le_bytes(0xfffffff0u, 4) + "{}";
    fails_with(huge, "header length 4294967280 runs past the end of the file");
}

TEST_CASE("npy: single-byte corruption never crashes", "[io][npy][errors]")
{
    TempDir tmp;
    const std::string good = slurp(fixture("m_f2_be_f.npy"));
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (const unsigned char b : {0x00, 0x20, 0x27, 0x28, 0x39, 0xff}) {
            std::string bad = good;
            bad[i] = static_cast<char>(b);
            spit(tmp / "m.npy", bad);
            try {
                consume(tmp / "m.npy");
            } catch (const nladc::InputError&) {
            }
        }
    }
    SUCCEED("no crash, no foreign exception");
}

// =============================================================================
// .npz

TEST_CASE("npz: stored members (numpy.savez)", "[io][npz]")
{
    const auto arrays = list_arrays(fixture("stored.npz"));
    REQUIRE(arrays.size() == 2);
    CHECK(arrays[0].name == "conv1");
    CHECK(arrays[0].shape == std::vector<std::uint64_t>{2, 3});
    CHECK(arrays[1].name == "fc");
    CHECK(arrays[1].count == 4);

    auto conv1 = open_array(fixture("stored.npz"), "conv1");
    CHECK(conv1->source_name() == fixture("stored.npz").string() + "[conv1]");
    CHECK(read_all(*conv1) == std::vector<double>{0, 0.25, 0.5, 0.75, 1.0, 1.25});
    conv1->rewind();
    CHECK(read_all(*conv1, 1) == std::vector<double>{0, 0.25, 0.5, 0.75, 1.0, 1.25});

    std::uint64_t dropped = 99;
    CHECK(read_samples(fixture("stored.npz"), "fc", NonFinitePolicy::drop, &dropped) == std::vector<double>{-1.5, 2.0});
    CHECK(dropped == 2);
    CHECK(input_error([] { read_samples(fixture("stored.npz"), "fc", NonFinitePolicy::error); }) ==
          fixture("stored.npz").string() + "[fc]: element 1: is NaN");
}

TEST_CASE("npz: deflated members (numpy.savez_compressed)", "[io][npz]")
{
    const auto arrays = list_arrays(fixture("deflated.npz"));
    REQUIRE(arrays.size() == 3);
    CHECK(arrays[1].name == "big");
    CHECK(arrays[1].count == 3000);
    auto big = open_array(fixture("deflated.npz"), "big");
    for (int pass = 0; pass < 2; ++pass) {
        const auto v = read_all(*big, 1000);
        REQUIRE(v.size() == 3000);
        bool all = true;
        for (int i = 0; i < 3000; ++i) all = all && v[static_cast<std::size_t>(i)] == (i % 17) - 8;
        CHECK(all);
        big->rewind();
    }
    CHECK(read_all(fixture("deflated.npz"), "half") == std::vector<double>{0.5, -0.25});
    CHECK(read_all(fixture("deflated.npz"), "conv1") == std::vector<double>{0, 0.25, 0.5, 0.75, 1.0, 1.25});
}

TEST_CASE("npz: choosing members by name", "[io][npz]")
{
    CHECK(read_all(fixture("single.npz")) == std::vector<double>{7, 8});
    CHECK(read_all(fixture("single.npz"), "only") == std::vector<double>{7, 8});
    CHECK_THAT(input_error([] { open_array(fixture("stored.npz")); }),
               Catch::EndsWith("stored.npz: holds 2 arrays, choose one by name: conv1, fc"));
    CHECK_THAT(input_error([] { open_array(fixture("stored.npz"), "nope"); }),
               Catch::EndsWith("no array named 'nope' (arrays: conv1, fc)"));
    CHECK_THAT(input_error([] { open_array(fixture("stored.npz"), "fc.npy"); }), Catch::Contains("no array named"));

    const auto mixed = list_arrays(fixture("mixed.npz"));  // meta.json is ignored
    REQUIRE(mixed.size() == 1);
    CHECK(mixed[0].name == "layer");
    CHECK(read_all(fixture("mixed.npz")) == std::vector<double>{1, 2});
    CHECK_THAT(input_error([] { open_array(fixture("mixed.npz"), "meta"); }),
               Catch::Contains("no array named 'meta' (arrays: layer)"));
}

TEST_CASE("npz: zip64 records written by Python's zipfile", "[io][npz]")
{
    const auto arrays = list_arrays(fixture("zip64.npz"));
    REQUIRE(arrays.size() == 2);
    CHECK(read_all(fixture("zip64.npz"), "a") == std::vector<double>{1, -1});
    CHECK(read_all(fixture("zip64.npz"), "b") == std::vector<double>{9});
}

TEST_CASE("npz: CRC-32 mismatch is detected", "[io][npz][errors]")
{
    // One data byte of 'fc' flipped; conv1 is intact.
    CHECK(read_all(fixture("corrupt_crc.npz"), "conv1") == std::vector<double>{0, 0.25, 0.5, 0.75, 1.0, 1.25});
    CHECK_THAT(input_error([] { consume(fixture("corrupt_crc.npz"), "fc"); }),
               Catch::Contains("corrupt_crc.npz[fc]: CRC-32 mismatch (stored "));

    TempDir tmp;
    const std::string member = f4_npy({1, 2, 3});
    for (const int method : {0, 8}) {
        ZipEntry e = make_entry("x.npy", member, method);
        e.crc = 0x12345678u;
        spit(tmp / "c.npz", zip({e}));
        CHECK_THAT(input_error([&] { consume(tmp / "c.npz", "x"); }),
                   Catch::Contains("CRC-32 mismatch (stored 12345678, computed "));
    }
}

TEST_CASE("npz: large deflated member streams through several input chunks", "[io][npz]")
{
    std::vector<float> values(300000);
    std::uint32_t state = 12345;
    for (float& v : values) {
        state = state * 1664525u + 1013904223u;
        v = static_cast<float>(static_cast<std::int32_t>(state)) / 65536.0f;  // incompressible
    }
    TempDir tmp;
    spit(tmp / "big.npz", zip({make_entry("w.npy", f4_npy(values), 8), make_entry("s.npy", f4_npy({5}), 0)}));
    REQUIRE(fs::file_size(tmp / "big.npz") > 1000000);
    auto reader = open_array(tmp / "big.npz", "w");
    std::vector<double> got = read_all(*reader, 65536);
    REQUIRE(got.size() == values.size());
    bool same = true;
    for (std::size_t i = 0; i < values.size(); ++i) same = same && got[i] == static_cast<double>(values[i]);
    CHECK(same);
    CHECK(read_all(tmp / "big.npz", "s") == std::vector<double>{5});
}

TEST_CASE("npz: lying sizes and offsets", "[io][npz][errors]")
{
    TempDir tmp;
    const auto p = tmp / "l.npz";
    const std::string member = f4_npy({1, 2, 3, 4});
    const auto fails_with = [&](const std::string& bytes, const std::string& part, const std::string& name = "x") {
        spit(p, bytes);
        INFO(part);
        CHECK_THAT(input_error([&] { consume(p, name); }), Catch::Contains(part));
    };
    const auto entry = [&](int method) { return make_entry("x.npy", member, method); };
    ZipEntry e = entry(8);
    e.usize = member.size() + 100;
    fails_with(zip({e}), "unexpected trailing bytes");
    e = entry(8);
    e.usize = member.size() - 4;
    fails_with(zip({e}), "truncated: header promises 16 bytes of data");
    e = entry(8);
    e.csize = 10;
    fails_with(zip({e}), "compressed data truncated");
    e = entry(8);
    e.csize = 1u << 30;
    fails_with(zip({e}), "runs past the end of the file");
    e = entry(0);
    e.usize = member.size() + 1;
    fails_with(zip({e}), "stored member with compressed size");
    e = entry(0);
    e.local_offset = 1u << 30;
    fails_with(zip({e}), "local header offset 1073741824 lies outside the file");
    e = entry(0);
    e.local_offset = 1;
    fails_with(zip({e}), "bad local header signature");
    fails_with(zip({entry(0)}, std::uint64_t{1} << 31), "central directory: offset 2147483648");
    e = entry(12);
    fails_with(zip({e}), "unsupported zip compression method 12");
    e = entry(0);
    e.flags = 1;
    fails_with(zip({e}), "encrypted zip members are not supported");
    // Garbage instead of a deflate stream.
    e = entry(8);
    e.payload = std::string(40, '\xff');
    fails_with(zip({e}), "corrupt deflate data");
    fails_with("PK\x05\x06", "not a zip archive (only 4 bytes)");
    fails_with(std::string(100, 'x'), "not a zip archive (no end-of-central-directory record)");
    fails_with(zip({}), "holds no .npy arrays", "");
    fails_with(zip({}), "no array named 'x' (arrays: none)");
    fails_with(zip({entry(0), entry(8)}), "duplicate member 'x.npy'");
}

TEST_CASE("npz: truncation and single-byte corruption never crash", "[io][npz][errors]")
{
    TempDir tmp;
    for (const std::string name : {"stored.npz", "deflated.npz", "zip64.npz"}) {
        const std::string good = slurp(fixture(name));
        const auto try_all = [&](const std::string& bytes) {
            spit(tmp / "z.npz", bytes);
            try {
                for (const ArrayInfo& a : list_arrays(tmp / "z.npz")) consume(tmp / "z.npz", a.name);
            } catch (const nladc::InputError&) {
            }
        };
        for (std::size_t n = 0; n < good.size(); n += 3) try_all(good.substr(0, n));
        for (std::size_t i = 0; i < good.size(); ++i) {
            for (const unsigned char b : {0x00, 0x7f, 0xff}) {
                std::string bad = good;
                bad[i] = static_cast<char>(b);
                try_all(bad);
            }
        }
    }
    SUCCEED("no crash, no foreign exception");
}

// =============================================================================
// CSV / text

TEST_CASE("csv: layouts, comments and non-finite tokens", "[io][csv]")
{
    CHECK(read_all(fixture("one_per_line.csv")) == std::vector<double>{0.5, -1.25, 300, 7});
    const auto rows = list_arrays(fixture("rows.csv"));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].count == 9);
    CHECK(rows[0].shape == std::vector<std::uint64_t>{9});
    CHECK(read_all(fixture("rows.csv")) == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});

    const auto raw_values = read_all(fixture("nan_tokens.txt"));
    REQUIRE(raw_values.size() == 6);
    CHECK(std::isnan(raw_values[1]));
    CHECK(raw_values[2] == std::numeric_limits<double>::infinity());
    CHECK(raw_values[3] == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(raw_values[5]));
    std::uint64_t dropped = 0;
    CHECK(read_samples(fixture("nan_tokens.txt"), "", NonFinitePolicy::drop, &dropped) == std::vector<double>{1, 2});
    CHECK(dropped == 4);
    CHECK(input_error([] { read_samples(fixture("nan_tokens.txt"), "", NonFinitePolicy::error); }) ==
          fixture("nan_tokens.txt").string() + ": element 1: is NaN");

    TempDir tmp;
    spit(tmp / "a.csv", "\xEF\xBB\xBF+1.5,2e-3\r\n-0.25 , 1e-400\r\n\r\n# end\n.5");
    CHECK(read_all(tmp / "a.csv") == std::vector<double>{1.5, 2e-3, -0.25, 0.0, 0.5});
    spit(tmp / "b.txt", "# only a comment\n\n");
    CHECK(read_all(tmp / "b.txt").empty());
    spit(tmp / "c.csv", "-inf,INF,Infinity,-NaN");
    SampleStream s(open_array(tmp / "c.csv"), NonFinitePolicy::error);
    std::vector<double> out(4);
    CHECK(input_error([&] { s.read(out); }) == (tmp / "c.csv").string() + ": element 0: is -Inf");
    spit(tmp / "c.csv", "1\n+inf");
    CHECK(input_error([&] { read_samples(tmp / "c.csv", "", NonFinitePolicy::error); }) ==
          (tmp / "c.csv").string() + ": element 1: is +Inf");
}

TEST_CASE("csv: bad tokens and empty fields", "[io][csv][errors]")
{
    TempDir tmp;
    const auto p = tmp / "bad.csv";
    const auto fails_with = [&](const std::string& text, const std::string& what) {
        spit(p, text);
        INFO(text);
        CHECK(input_error([&] { open_array(p); }) == p.string() + ": " + what);
    };
    fails_with("1,2\n3,abc\n", "line 2, field 2: 'abc' is not a number");
    fails_with("1 2 3\n\n# c\n4 5 6 x7\n", "line 4, field 4: 'x7' is not a number");
    fails_with("1,,2\n", "line 1, field 2: empty field (two separators in a row, or a comma at the start or end of a line)");
    fails_with("1,2,\n", "line 1, field 3: empty field (two separators in a row, or a comma at the start or end of a line)");
    fails_with(",1\n", "line 1, field 1: empty field (two separators in a row, or a comma at the start or end of a line)");
    fails_with("1, , 2", "line 1, field 2: empty field (two separators in a row, or a comma at the start or end of a line)");
    fails_with("5,", "line 1, field 2: empty field (two separators in a row, or a comma at the start or end of a line)");
    fails_with("1;2", "line 1, field 1: '1;2' is not a number");
    fails_with("0x10", "line 1, field 1: '0x10' is not a number");
    fails_with("1e999", "line 1, field 1: '1e999' is not a number");
    fails_with("nanx", "line 1, field 1: 'nanx' is not a number");
    fails_with("1.2.3", "line 1, field 1: '1.2.3' is not a number");
    fails_with("--1", "line 1, field 1: '--1' is not a number");
    fails_with(std::string("1\n\x01\x02", 4), "line 2, field 1: '\\x01\\x02' is not a number");
    spit(p, std::string(5000, '7'));
    CHECK_THAT(input_error([&] { open_array(p); }), Catch::Contains("token longer than 512 characters"));
}

TEST_CASE("csv: large file crosses buffer boundaries", "[io][csv]")
{
    TempDir tmp;
    std::string text;
    std::vector<double> want;
    for (int i = 0; i < 200000; ++i) {
        const double v = (i % 1000) * 0.125 - 60;
        want.push_back(v);
        if (i > 0) text += (i % 7 == 0) ? "\n" : (i % 3 ? ", " : " ");
        text += std::to_string(v);
    }
    text += "\n1.5 # last";
    want.push_back(1.5);
    REQUIRE(text.size() > 2 * (1u << 20));
    spit(tmp / "big.csv", text);
    auto reader = open_array(tmp / "big.csv");
    CHECK(reader->info().count == want.size());
    CHECK(read_all(*reader, 4099) == want);
    spit(tmp / "big.csv", text + "\n2 bad");
    CHECK_THAT(input_error([&] { open_array(tmp / "big.csv"); }),
               Catch::EndsWith(": line 28574, field 2: 'bad' is not a number"));
}

// =============================================================================
// .f32

TEST_CASE("f32: raw little-endian float32", "[io][f32]")
{
    TempDir tmp;
    spit(tmp / "a.f32", raw(std::vector<float>{1.5f, -0.1f, 3e38f}));
    const auto arrays = list_arrays(tmp / "a.f32");
    CHECK(arrays[0].shape == std::vector<std::uint64_t>{3});
    CHECK(read_all(tmp / "a.f32") == std::vector<double>{1.5, static_cast<double>(-0.1f), static_cast<double>(3e38f)});
    spit(tmp / "b.f32", std::string(10, '\0'));
    CHECK(input_error([&] { open_array(tmp / "b.f32"); }) ==
          (tmp / "b.f32").string() + ": size 10 bytes is not a multiple of 4 (raw float32 expects 4 bytes per value)");
}

// =============================================================================
// Common errors, SampleStream

TEST_CASE("empty, missing and unsupported files", "[io][errors]")
{
    TempDir tmp;
    for (const std::string ext : {".npy", ".npz", ".csv", ".txt", ".f32", ".NPY"}) {
        spit(tmp / ("e" + ext), "");
        CHECK(input_error([&] { open_array(tmp / ("e" + ext)); }) == (tmp / ("e" + ext)).string() + ": empty file");
        CHECK(input_error([&] { list_arrays(tmp / ("e" + ext)); }) == (tmp / ("e" + ext)).string() + ": empty file");
        CHECK(input_error([&] { open_array(tmp / ("missing" + ext)); }) ==
              (tmp / ("missing" + ext)).string() + ": cannot open: No such file or directory");
        fs::create_directory(tmp / ("dir" + ext));
        CHECK(input_error([&] { open_array(tmp / ("dir" + ext)); }) ==
              (tmp / ("dir" + ext)).string() + ": is a directory, not a file");
    }
    CHECK(input_error([&] { open_array(tmp / "x.bin"); }) ==
          (tmp / "x.bin").string() + ": unsupported extension '.bin' (accepted: .npy, .npz, .csv, .txt, .f32)");
    CHECK_THAT(input_error([&] { list_arrays(tmp / "noext"); }), Catch::Contains("no file extension (accepted: .npy"));
    CHECK_THAT(input_error([] { open_array(fixture("m_f4_le_c.npy"), "layer"); }),
               Catch::Contains("array name 'layer' given, but only .npz files hold named arrays"));
}

TEST_CASE("SampleStream: chunking, drop counts, rewind, error position", "[io]")
{
    TempDir tmp;
    std::vector<float> values(200000);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
    values[70000] = std::numeric_limits<float>::quiet_NaN();
    values[150001] = -std::numeric_limits<float>::infinity();
    spit(tmp / "v.f32", raw(values));

    SampleStream drop(open_array(tmp / "v.f32"), NonFinitePolicy::drop);
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<double> out(30001);
        std::uint64_t n = 0;
        double sum = 0;
        for (std::size_t got; (got = drop.read(out)) != 0;) {
            n += got;
            for (std::size_t i = 0; i < got; ++i) sum += out[i];
        }
        CHECK(n == 199998);
        CHECK(drop.dropped() == 2);
        CHECK(sum == 199999.0 * 200000.0 / 2 - 70000 - 150001);
        drop.rewind();
        CHECK(drop.dropped() == 0);
    }
    CHECK(input_error([&] { read_samples(tmp / "v.f32", "", NonFinitePolicy::error); }) ==
          (tmp / "v.f32").string() + ": element 70000: is NaN");
    std::uint64_t dropped = 0;
    CHECK(read_samples(tmp / "v.f32", "", NonFinitePolicy::drop, &dropped).size() == 199998);
    CHECK(dropped == 2);

    // All non-finite: the stream ends without returning a short non-zero read forever.
    spit(tmp / "n.f32", raw(std::vector<float>(1000, std::numeric_limits<float>::infinity())));
    SampleStream all(open_array(tmp / "n.f32"), NonFinitePolicy::drop);
    std::vector<double> out(64);
    CHECK(all.read(out) == 0);
    CHECK(all.dropped() == 1000);
}

// =============================================================================
// Writers

TEST_CASE("write_npy and write_npz round trip through the readers", "[io][write]")
{
    TempDir tmp;
    const std::vector<float> m = {0.5f, -1.0f, 2.25f, 1e-40f, 3.0f, -0.0f};
    write_npy(tmp / "m.npy", m, {2, 3});
    const auto info = list_arrays(tmp / "m.npy")[0];
    CHECK(info.shape == std::vector<std::uint64_t>{2, 3});
    CHECK_FALSE(info.fortran_order);
    CHECK(read_all(tmp / "m.npy") == std::vector<double>(m.begin(), m.end()));
    CHECK(fs::file_size(tmp / "m.npy") == 128 + 24);  // header padded to 64 bytes
    write_npy(tmp / "s.npy", std::vector<float>{4.0f}, {});
    CHECK(list_arrays(tmp / "s.npy")[0].shape.empty());
    CHECK(read_all(tmp / "s.npy") == std::vector<double>{4});
    write_npy(tmp / "e.npy", std::vector<float>{}, {0});
    CHECK(read_all(tmp / "e.npy").empty());
    CHECK_THROWS_AS(write_npy(tmp / "x.npy", m, {4, 2}), nladc::OutputError);
    CHECK_FALSE(fs::exists(tmp / "x.npy"));

    const std::vector<NamedArray> layers = {{"conv1", {1, 2, 3, 4, 5, 6}, {3, 2}}, {"fc/out", {-7}, {1}}};
    for (const bool zip64 : {false, true}) {
        INFO(zip64);
        nladc::io::detail::write_npz_impl(tmp / "l.npz", layers, zip64);
        const auto arrays = list_arrays(tmp / "l.npz");
        REQUIRE(arrays.size() == 2);
        CHECK(arrays[0].name == "conv1");
        CHECK(arrays[0].shape == std::vector<std::uint64_t>{3, 2});
        CHECK(arrays[1].name == "fc/out");
        CHECK(read_all(tmp / "l.npz", "conv1") == std::vector<double>{1, 2, 3, 4, 5, 6});
        CHECK(read_all(tmp / "l.npz", "fc/out") == std::vector<double>{-7});
    }
    write_npz(tmp / "l.npz", layers);
    CHECK(read_all(tmp / "l.npz", "conv1") == std::vector<double>{1, 2, 3, 4, 5, 6});
    CHECK_THROWS_AS(write_npz(tmp / "d.npz", {{"a", {1}, {1}}, {"a", {1}, {1}}}), nladc::OutputError);
    CHECK_THROWS_AS(write_npz(tmp / "d.npz", {{"a", {1, 2}, {3}}}), nladc::OutputError);
    CHECK_FALSE(fs::exists(tmp / "d.npz"));
    CHECK_THROWS_AS(write_npy(tmp / "no/such/dir/x.npy", m, {6}), nladc::OutputError);
}

// Hidden: writes sample files for `scripts/make-test-fixtures.py --verify`, which
// loads them with NumPy.
TEST_CASE("write samples for the NumPy check", "[.][io-write-samples]")
{
    const char* dir = std::getenv("NLADC_WRITE_SAMPLES_DIR");
    REQUIRE(dir != nullptr);
    const fs::path out(dir);
    write_npy(out / "written.npy", std::vector<float>{-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f}, {2, 3});
    write_npy(out / "written_1d.npy", std::vector<float>{1.5f, -0.0f, 3.25e-3f, 1e30f}, {4});
    write_npy(out / "written_0d.npy", std::vector<float>{42.0f}, {});
    std::vector<float> conv1(12);
    for (std::size_t i = 0; i < conv1.size(); ++i) conv1[i] = static_cast<float>(i) / 8;
    const std::vector<NamedArray> layers = {{"conv1", conv1, {3, 4}}, {"fc", {-1.0f, 2.0f}, {2}}};
    write_npz(out / "written.npz", layers);
    nladc::io::detail::write_npz_impl(out / "written_zip64.npz", layers, true);
}
