#pragma once
// Shared by the libFuzzer harnesses in tests/fuzz (docs/fuzzing.md).
//
// Readers that take a path get the fuzzer's bytes through one temporary file per
// process, rewritten for every input (same path each run, descriptor closed each
// time), in a per-process directory (see ScratchDir) removed when the process exits
// normally; after a crash it stays behind (a few KB).
//
// Outcome rules: nladc::Error (and subclasses) is the expected result of bad input and
// is caught by the harness; every other exception escapes and libFuzzer reports it as
// a crash. A parsed value that breaks an invariant calls fuzz_fail(), which prints
// what broke and traps.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nladc/core/error.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/quant/levelset.hpp"

namespace nladc::fuzz {

/// Prints the broken invariant and traps (a finding).
[[noreturn]] inline void fuzz_fail(const char* what)
{
    std::fprintf(stderr, "\nnladc fuzz invariant violated: %s\n", what);
    std::fflush(stderr);
    __builtin_trap();
}

#define NLADC_FUZZ_CHECK(condition)                                                      \
    do {                                                                                 \
        if (!(condition)) ::nladc::fuzz::fuzz_fail(#condition " (" __FILE__ ")");      \
    } while (0)

/// A per-process scratch directory in $TMPDIR, else /dev/shm, else /tmp; removed at
/// normal exit. (Rewriting a file for every input is ~10x slower on a disk than on tmpfs.)
class ScratchDir {
public:
    ScratchDir()
    {
        const char* tmpdir = std::getenv("TMPDIR");
        std::string base = tmpdir && *tmpdir ? tmpdir : "/tmp";
        if (!(tmpdir && *tmpdir) && ::access("/dev/shm", W_OK | X_OK) == 0) base = "/dev/shm";
        std::string pattern = base + "/nladc-fuzz-XXXXXX";
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (!::mkdtemp(buffer.data())) {
            std::perror("nladc fuzz: mkdtemp");
            std::abort();
        }
        path_ = buffer.data();
    }
    ~ScratchDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline const std::filesystem::path& scratch_dir()
{
    static ScratchDir dir;
    return dir.path();
}

/// Writes the bytes to scratch_dir()/name (truncating) and returns the path.
inline std::filesystem::path write_input(const std::string& name, const std::uint8_t* data, std::size_t size)
{
    const std::filesystem::path file = scratch_dir() / name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::perror("nladc fuzz: open");
        std::abort();
    }
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::perror("nladc fuzz: write");
            std::abort();
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return file;
}

inline std::filesystem::path write_input(const std::string& name, std::string_view text)
{
    return write_input(name, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

/// The invariants every level set that a reader accepted must satisfy, checked
/// independently of find_levelset_violation: sizes, finite values, lo < hi with a finite
/// positive LSB, ascending levels (ties only at listed empty codes), each threshold
/// between its neighbouring levels, empty codes in range.
inline void check_levelset(const LevelSet& set)
{
    NLADC_FUZZ_CHECK(set.bits >= 1 && set.bits <= 16);
    const std::size_t count = std::size_t{1} << set.bits;
    NLADC_FUZZ_CHECK(set.levels.size() == count);
    NLADC_FUZZ_CHECK(set.thresholds.size() == count - 1);
    NLADC_FUZZ_CHECK(std::isfinite(set.lo) && std::isfinite(set.hi) && set.lo < set.hi);
    NLADC_FUZZ_CHECK(std::isfinite(set.lsb()) && set.lsb() > 0);
    std::vector<bool> empty(count, false);
    for (const int code : set.empty_codes) {
        // Code k's cell is [thresholds[k-1], thresholds[k]]: only 1 .. count-2 can be degenerate.
        NLADC_FUZZ_CHECK(code >= 1 && static_cast<std::size_t>(code) + 2 <= count);
        const auto k = static_cast<std::size_t>(code);
        NLADC_FUZZ_CHECK(set.thresholds[k] == set.thresholds[k - 1]);
        empty[k] = true;
    }
    for (const double v : set.levels) NLADC_FUZZ_CHECK(std::isfinite(v));
    for (const double t : set.thresholds) NLADC_FUZZ_CHECK(std::isfinite(t));
    for (const auto& parameter : set.parameters) NLADC_FUZZ_CHECK(std::isfinite(parameter.second));
    for (std::size_t k = 0; k + 1 < count; ++k) {
        const double below = set.levels[k], above = set.levels[k + 1], t = set.thresholds[k];
        NLADC_FUZZ_CHECK(above > below || (above == below && (empty[k] || empty[k + 1])));
        NLADC_FUZZ_CHECK(below <= t && t <= above);
        if (k > 0) NLADC_FUZZ_CHECK(set.thresholds[k] >= set.thresholds[k - 1]);
    }
}

/// Bitwise equality of two double vectors (NaN payloads included).
inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// Order-sensitive 64-bit digest of the values' bit patterns.
struct ValueDigest {
    std::uint64_t hash = 1469598103934665603ull, count = 0;
    void add(double v)
    {
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        hash = (hash ^ bits) * 1099511628211ull;
        hash ^= hash >> 29;
        ++count;
    }
    bool operator==(const ValueDigest&) const = default;
};

/// Reads every value of `reader` in chunks of `chunk` values.
inline ValueDigest read_all(io::ArrayReader& reader, std::size_t chunk)
{
    ValueDigest digest;
    std::vector<double> buffer(chunk);
    for (;;) {
        const std::size_t got = reader.read(buffer);
        NLADC_FUZZ_CHECK(got <= chunk);
        if (got == 0) break;
        for (std::size_t i = 0; i < got; ++i) digest.add(buffer[i]);
    }
    return digest;
}

/// Element count implied by a shape (1 for a 0-d array); false on overflow.
inline bool shape_count(const std::vector<std::uint64_t>& shape, std::uint64_t& count)
{
    count = 1;
    bool overflow = false;
    for (const std::uint64_t dim : shape) overflow = overflow || __builtin_mul_overflow(count, dim, &count);
    for (const std::uint64_t dim : shape)
        if (dim == 0) return count = 0, true;
    return !overflow;
}

/// Opens one array of `file` and checks the reader: the first pass (which may fail
/// with nladc::Error: truncated data, CRC mismatch, ...) must deliver exactly
/// info().count values; once it succeeded, a rewound second pass with another chunk
/// size and a SampleStream pass must not fail and must agree with it. With
/// `validated_at_open` (CSV: the whole file is checked when it is opened) the first
/// pass must not fail either once open_array succeeded.
inline void check_array(const std::filesystem::path& file, const std::string& name, bool validated_at_open = false)
{
    std::unique_ptr<io::ArrayReader> reader;
    ValueDigest first;
    try {
        reader = io::open_array(file, name);
        if (!validated_at_open) first = read_all(*reader, 4096);
    } catch (const nladc::Error&) {
        return;
    }
    if (validated_at_open) first = read_all(*reader, 4096);  // an escaping Error is a finding
    const io::ArrayInfo& info = reader->info();
    std::uint64_t implied = 0;
    NLADC_FUZZ_CHECK(shape_count(info.shape, implied));
    NLADC_FUZZ_CHECK(implied == info.count);
    NLADC_FUZZ_CHECK(first.count == info.count);
    // Beyond the end the reader keeps returning 0.
    std::vector<double> scratch(3);
    NLADC_FUZZ_CHECK(reader->read(scratch) == 0);
    (void)reader->describe_element(0);
    if (info.count > 0) (void)reader->describe_element(info.count - 1);
    (void)reader->describe_element(info.count);

    reader->rewind();
    NLADC_FUZZ_CHECK(read_all(*reader, 7) == first);

    std::uint64_t finite = 0;
    io::SampleStream stream(io::open_array(file, name), io::NonFinitePolicy::drop);
    std::vector<double> buffer(1000);
    for (;;) {
        const std::size_t got = stream.read(buffer);
        if (got == 0) break;
        for (std::size_t i = 0; i < got; ++i) NLADC_FUZZ_CHECK(std::isfinite(buffer[i]));
        finite += got;
    }
    NLADC_FUZZ_CHECK(finite + stream.dropped() == info.count);
    try {
        const auto values = io::read_samples(file, name, io::NonFinitePolicy::error);
        NLADC_FUZZ_CHECK(values.size() == info.count && stream.dropped() == 0);
    } catch (const nladc::InputError&) {
        NLADC_FUZZ_CHECK(stream.dropped() > 0);  // the only reason left to fail
    }
}

}  // namespace nladc::fuzz
