#pragma once
// Activation files: NumPy .npy / .npz, CSV text and raw little-endian float32.
//
// Every format is read sequentially in chunks (ArrayReader), so a histogram of a
// file far larger than memory needs only a constant amount of RAM. Values come
// out as double in file order. Non-finite values are passed through by the raw
// readers; SampleStream applies the NaN/Inf policy on top.
//
// Formats (chosen by extension):
//   .npy        float16/32/64, any shape, C or Fortran order, '<', '>' or '=' byte order
//   .npz        one array per member (a layer); members stored or deflated; zip64 accepted
//   .csv, .txt  numbers separated by commas, whitespace or newlines; '#' starts a comment
//   .f32        raw little-endian float32, no header

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace nladc::io {

/// One array of an activation file.
struct ArrayInfo {
    std::string name;                  ///< layer name: npz member without ".npy"; "" for single-array files
    std::vector<std::uint64_t> shape;  ///< as stored; {count} for CSV and .f32
    bool fortran_order = false;        ///< element order in the file
    std::uint64_t count = 0;           ///< number of elements
};

/// Sequential reader of one array's values in file order. Throws InputError
/// (naming the file, the member and the place) on malformed or truncated data.
class ArrayReader {
public:
    virtual ~ArrayReader() = default;
    virtual const ArrayInfo& info() const = 0;
    /// Reads up to out.size() values; returns how many were read, 0 at the end.
    virtual std::size_t read(std::span<double> out) = 0;
    /// Restarts at the first element, for a second streaming pass.
    virtual void rewind() = 0;
    /// Name used in messages: "acts.npz[layer3]" or "acts.npy".
    virtual std::string source_name() const = 0;
    /// The element at file position `position`, for messages: "element 17" for 1-D
    /// data, "element 17 (index [2, 1])" for N-D (C-order flat index and multi-index).
    std::string describe_element(std::uint64_t position) const;
};

/// The arrays in `file` (one for .npy/.csv/.f32, one per member for .npz).
/// Throws InputError for a missing, empty, malformed or unsupported file.
std::vector<ArrayInfo> list_arrays(const std::filesystem::path& file);

/// Opens one array; `name` selects an .npz member and must be empty otherwise
/// (an .npz with exactly one member may also be opened with an empty name).
std::unique_ptr<ArrayReader> open_array(const std::filesystem::path& file, const std::string& name = "");

enum class NonFinitePolicy { error, drop };

/// Finite samples from an ArrayReader: with NonFinitePolicy::error the first NaN or
/// Inf throws InputError("acts.npy", "element 1048576", "is NaN"); with ::drop they
/// are skipped and counted. Chunked, so it streams as the reader does.
class SampleStream {
public:
    SampleStream(std::unique_ptr<ArrayReader> reader, NonFinitePolicy policy);
    /// Fills `out` with up to out.size() finite samples; 0 at the end.
    std::size_t read(std::span<double> out);
    void rewind();
    /// Non-finite values skipped so far in the current pass.
    std::uint64_t dropped() const { return dropped_; }
    const ArrayReader& reader() const { return *reader_; }

private:
    std::unique_ptr<ArrayReader> reader_;
    NonFinitePolicy policy_;
    std::uint64_t position_ = 0;  ///< file position of the next raw element
    std::uint64_t dropped_ = 0;
    std::vector<double> buffer_;
};

/// Reads every finite sample of one array into memory (float precision kept as double).
std::vector<double> read_samples(const std::filesystem::path& file, const std::string& name,
                                 NonFinitePolicy policy, std::uint64_t* dropped = nullptr);

/// Writes a little-endian float32 .npy (C order, version 1.0 header) atomically.
void write_npy(const std::filesystem::path& file, std::span<const float> values,
               const std::vector<std::uint64_t>& shape);

/// Writes an .npz (stored, not compressed) with one float32 array per named layer, atomically.
struct NamedArray {
    std::string name;
    std::vector<float> values;
    std::vector<std::uint64_t> shape;
};
void write_npz(const std::filesystem::path& file, const std::vector<NamedArray>& arrays);

}  // namespace nladc::io
