// Dispatch by extension, the shared file/byte-source helpers, describe_element,
// SampleStream and read_samples. The formats themselves live in npy.cpp, npz.cpp
// and csv.cpp.

#include "nladc/io/activations.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "readers_internal.hpp"

namespace nladc::io {

namespace fs = std::filesystem;

namespace detail {

InputFile::InputFile(const fs::path& path, bool reject_empty) : name_(path.string())
{
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is rejected below).
    do {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw InputError(name_, "", std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int err = errno;
        ::close(fd_);
        throw InputError(name_, "", std::string("cannot stat: ") + std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd_);
        throw InputError(name_, "", "is a directory, not a file");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd_);
        throw InputError(name_, "", "not a regular file");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    if (reject_empty && size_ == 0) {
        ::close(fd_);
        throw InputError(name_, "", "empty file");
    }
}

InputFile::~InputFile()
{
    if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read_at(std::uint64_t offset, void* dst, std::size_t n) const
{
    if (offset >= size_ || n == 0) return 0;
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - offset));
    n = std::min<std::size_t>(n, std::size_t{1} << 30);
    for (;;) {
        const ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
        if (got >= 0) return static_cast<std::size_t>(got);
        if (errno != EINTR) throw InputError(name_, "", std::string("read error: ") + std::strerror(errno));
    }
}

void InputFile::read_exact_at(std::uint64_t offset, void* dst, std::size_t n, const std::string& place) const
{
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t done = 0;
    while (done < n) {
        const std::size_t got = read_at(offset + done, out + done, n - done);
        if (got == 0) {
            throw InputError(name_, place,
                             fmt::format("truncated: needs {} bytes at offset {}, file has {}", n, offset, size_));
        }
        done += got;
    }
}

FileRegionSource::FileRegionSource(std::shared_ptr<const InputFile> file, std::uint64_t offset,
                                   std::uint64_t length)
    : file_(std::move(file)), offset_(offset), length_(length)
{
}

std::size_t FileRegionSource::read(unsigned char* dst, std::size_t n)
{
    const std::uint64_t left = length_ - position_;
    if (left == 0 || n == 0) return 0;
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, left));
    const std::size_t got = file_->read_at(offset_ + position_, dst, n);
    position_ += got;
    return got;
}

std::string printable(const std::string& text, std::size_t max_chars)
{
    std::string out;
    for (const char ch : text) {
        if (out.size() >= max_chars) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\\') out += "\\\\";
        else if (c >= 0x20 && c < 0x7f) out += ch;
        else out += fmt::format("\\x{:02x}", c);
    }
    return out;
}

std::string shape_string(const std::vector<std::uint64_t>& shape)
{
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

}  // namespace detail

namespace {

constexpr const char* kAccepted = ".npy, .npz, .csv, .txt, .f32";

enum class Format { npy, npz, csv, f32 };

Format format_of(const fs::path& file)
{
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
    if (ext == ".npy") return Format::npy;
    if (ext == ".npz") return Format::npz;
    if (ext == ".csv" || ext == ".txt") return Format::csv;
    if (ext == ".f32") return Format::f32;
    if (ext.empty()) throw InputError(file.string(), "", fmt::format("no file extension (accepted: {})", kAccepted));
    throw InputError(file.string(), "",
                     fmt::format("unsupported extension '{}' (accepted: {})", detail::printable(ext), kAccepted));
}

void require_no_name(const fs::path& file, const std::string& name)
{
    if (!name.empty()) {
        throw InputError(file.string(), "",
                         fmt::format("array name '{}' given, but only .npz files hold named arrays",
                                     detail::printable(name)));
    }
}

}  // namespace

std::vector<ArrayInfo> list_arrays(const fs::path& file)
{
    switch (format_of(file)) {
    case Format::npy: return detail::list_npy(file);
    case Format::npz: return detail::list_npz(file);
    case Format::csv: {
        auto reader = detail::open_csv(file);
        return {reader->info()};
    }
    case Format::f32: {
        auto reader = detail::open_f32(file);
        return {reader->info()};
    }
    }
    return {};
}

std::unique_ptr<ArrayReader> open_array(const fs::path& file, const std::string& name)
{
    switch (format_of(file)) {
    case Format::npy: require_no_name(file, name); return detail::open_npy(file);
    case Format::npz: return detail::open_npz(file, name);
    case Format::csv: require_no_name(file, name); return detail::open_csv(file);
    case Format::f32: require_no_name(file, name); return detail::open_f32(file);
    }
    return nullptr;
}

std::string ArrayReader::describe_element(std::uint64_t position) const
{
    const ArrayInfo& in = info();
    const auto& shape = in.shape;
    if (shape.size() < 2 || position >= in.count) return fmt::format("element {}", position);
    const std::size_t dims = shape.size();
    std::vector<std::uint64_t> index(dims);
    std::uint64_t rest = position;
    if (in.fortran_order) {
        for (std::size_t k = 0; k < dims; ++k) {
            index[k] = rest % shape[k];
            rest /= shape[k];
        }
    } else {
        for (std::size_t k = dims; k-- > 0;) {
            index[k] = rest % shape[k];
            rest /= shape[k];
        }
    }
    // C-order flat index; cannot overflow since it is below count.
    std::uint64_t flat = 0;
    for (std::size_t k = 0; k < dims; ++k) flat = flat * shape[k] + index[k];
    return fmt::format("element {} (index [{}])", flat, fmt::join(index, ", "));
}

SampleStream::SampleStream(std::unique_ptr<ArrayReader> reader, NonFinitePolicy policy)
    : reader_(std::move(reader)), policy_(policy)
{
    if (!reader_) throw Error("SampleStream: null reader");
}

std::size_t SampleStream::read(std::span<double> out)
{
    std::size_t filled = 0;
    while (filled < out.size()) {
        const std::size_t got = reader_->read(out.subspan(filled));
        if (got == 0) break;
        // Fast path (vectorizable): a chunk without NaN/Inf needs no compaction.
        std::uint64_t special = 0;
        for (std::size_t i = filled; i < filled + got; ++i) {
            constexpr std::uint64_t kExponent = 0x7ff0000000000000;
            special |= static_cast<std::uint64_t>((std::bit_cast<std::uint64_t>(out[i]) & kExponent) == kExponent);
        }
        if (special == 0) {
            position_ += got;
            filled += got;
            continue;
        }
        std::size_t kept = filled;
        for (std::size_t i = filled; i < filled + got; ++i) {
            const double v = out[i];
            if (std::isfinite(v)) {
                out[kept++] = v;
                continue;
            }
            if (policy_ == NonFinitePolicy::error) {
                const std::uint64_t pos = position_ + (i - filled);
                const char* what = std::isnan(v) ? "is NaN" : (v > 0 ? "is +Inf" : "is -Inf");
                throw InputError(reader_->source_name(), reader_->describe_element(pos), what);
            }
            ++dropped_;
        }
        position_ += got;
        filled = kept;
    }
    return filled;
}

void SampleStream::rewind()
{
    reader_->rewind();
    position_ = 0;
    dropped_ = 0;
}

std::vector<double> read_samples(const fs::path& file, const std::string& name, NonFinitePolicy policy,
                                 std::uint64_t* dropped)
{
    SampleStream stream(open_array(file, name), policy);
    std::vector<double> values;
    // The count may come from a (lying) zip header: reserve only what is plausible.
    values.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(stream.reader().info().count, 1u << 20)));
    constexpr std::size_t kChunk = std::size_t{1} << 16;
    for (;;) {
        const std::size_t old = values.size();
        values.resize(old + kChunk);
        const std::size_t got = stream.read(std::span<double>(values).subspan(old));
        values.resize(old + got);
        if (got == 0) break;
    }
    values.shrink_to_fit();
    if (dropped) *dropped = stream.dropped();
    return values;
}

}  // namespace nladc::io
