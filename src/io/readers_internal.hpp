#pragma once
// Private pieces shared by the activation-file readers (activations.cpp, npy.cpp,
// npz.cpp, csv.cpp). Not installed; the tests include it for the zip64 writer hook.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "nladc/io/activations.hpp"

namespace nladc::io::detail {

/// Size of the byte buffers used for chunked reading.
inline constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

/// A regular file opened for reading (POSIX descriptor, positional reads).
class InputFile {
public:
    /// Opens `path`. Throws InputError for a missing file, a directory, a
    /// non-regular file, or (when `reject_empty`) a 0-byte file.
    explicit InputFile(const std::filesystem::path& path, bool reject_empty = true);
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    std::uint64_t size() const { return size_; }
    const std::string& name() const { return name_; }
    /// Reads up to n bytes at `offset`; returns the count (0 at end of file).
    std::size_t read_at(std::uint64_t offset, void* dst, std::size_t n) const;
    /// Reads exactly n bytes at `offset` or throws InputError(name, place, "truncated ...").
    void read_exact_at(std::uint64_t offset, void* dst, std::size_t n, const std::string& place) const;

private:
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::string name_;
};

/// A sequential stream of bytes: a region of a file, or a zip member (stored or
/// deflated). Size is the number of bytes the stream claims to hold.
class ByteSource {
public:
    virtual ~ByteSource() = default;
    /// Reads up to n bytes; returns the count, 0 only at the end of the stream.
    virtual std::size_t read(unsigned char* dst, std::size_t n) = 0;
    /// Back to the first byte.
    virtual void rewind() = 0;
    /// The declared size in bytes.
    virtual std::uint64_t size() const = 0;
    /// Called once all size() bytes were consumed: verifies checksums and that the
    /// stream really ends there. Throws InputError.
    virtual void finish() {}
};

/// Bytes [offset, offset + length) of a file.
class FileRegionSource : public ByteSource {
public:
    FileRegionSource(std::shared_ptr<const InputFile> file, std::uint64_t offset, std::uint64_t length);
    std::size_t read(unsigned char* dst, std::size_t n) override;
    void rewind() override { position_ = 0; }
    std::uint64_t size() const override { return length_; }

private:
    std::shared_ptr<const InputFile> file_;
    std::uint64_t offset_, length_, position_ = 0;
};

/// Element type of a binary array.
struct FloatType {
    int itemsize = 4;         ///< 2, 4 or 8
    bool big_endian = false;  ///< byte order in the file
};

/// The parsed header of an .npy stream.
struct NpyHeader {
    ArrayInfo info;
    FloatType type;
    std::uint64_t header_bytes = 0;  ///< magic + version + length field + dictionary
    std::uint64_t data_bytes = 0;    ///< count * itemsize
};

/// Parses the .npy header at the start of `source` (which is left positioned after
/// it) and checks that the source holds exactly header + data bytes.
/// `source_name` and `size_word` ("file", "member") are used in messages.
NpyHeader read_npy_header(ByteSource& source, const std::string& source_name, const char* size_word);

/// A reader of float values from `source`, starting after `header_bytes` bytes.
std::unique_ptr<ArrayReader> make_binary_reader(std::unique_ptr<ByteSource> source, ArrayInfo info,
                                                FloatType type, std::uint64_t header_bytes,
                                                std::string source_name);

// Per-format entry points (dispatched by extension in activations.cpp).
std::vector<ArrayInfo> list_npy(const std::filesystem::path& file);
std::unique_ptr<ArrayReader> open_npy(const std::filesystem::path& file);
std::vector<ArrayInfo> list_npz(const std::filesystem::path& file);
std::unique_ptr<ArrayReader> open_npz(const std::filesystem::path& file, const std::string& name);
std::unique_ptr<ArrayReader> open_csv(const std::filesystem::path& file);
std::unique_ptr<ArrayReader> open_f32(const std::filesystem::path& file);

/// The bytes of a C-order little-endian float32 .npy header (version 1.0, padded to 64).
std::string npy_header_bytes(const std::vector<std::uint64_t>& shape, const std::string& file);

/// Throws OutputError unless `shape` holds exactly `values` elements.
void check_write_shape(const std::string& file, std::size_t values, const std::vector<std::uint64_t>& shape);

/// write_npz with a switch to force zip64 records (for tests; real use needs them
/// only past 4 GiB or 65535 members).
void write_npz_impl(const std::filesystem::path& file, const std::vector<NamedArray>& arrays,
                    bool force_zip64);

/// Makes arbitrary bytes printable for a one-line message: escapes control and
/// non-ASCII bytes, truncates long text with "...".
std::string printable(const std::string& text, std::size_t max_chars = 60);

/// "(3, 4)" / "(5,)" / "()".
std::string shape_string(const std::vector<std::uint64_t>& shape);

}  // namespace nladc::io::detail
