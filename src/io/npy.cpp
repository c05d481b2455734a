// .npy: header parsing (format versions 1.0, 2.0 and 3.0), the chunked binary
// reader shared with .npz and .f32, and write_npy.

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/io/atomic_file.hpp"
#include "readers_internal.hpp"

namespace nladc::io::detail {

namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
/// numpy writes headers of a few hundred bytes; anything past this is corrupt.
constexpr std::uint32_t kMaxHeaderLength = 1u << 20;

// ---------------------------------------------------------------------------
// The header dictionary: a Python literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// parsed by a small recursive-descent parser over the subset numpy writes
// (strings, True/False/None, integers, tuples, lists).

struct PyValue {
    enum class Kind { string, boolean, none, integer, tuple, list } kind = Kind::none;
    std::string text;                    ///< string contents
    bool flag = false;                   ///< boolean value
    std::uint64_t number = 0;            ///< integer magnitude
    bool negative = false;               ///< integer sign
    std::vector<PyValue> items;          ///< tuple / list items
    std::string_view source;             ///< the literal as written
};

class DictParser {
public:
    DictParser(std::string_view text, const std::string& source_name) : text_(text), name_(source_name) {}

    std::vector<std::pair<std::string, PyValue>> parse()
    {
        std::vector<std::pair<std::string, PyValue>> entries;
        skip_space();
        expect('{', "'{' at the start of the header dictionary");
        for (;;) {
            skip_space();
            if (peek() == '}') {
                ++pos_;
                break;
            }
            PyValue key = value(0);
            if (key.kind != PyValue::Kind::string) fail("dictionary key is not a string");
            skip_space();
            expect(':', "':' after a dictionary key");
            PyValue val = value(0);
            entries.emplace_back(key.text, std::move(val));
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            skip_space();
            expect('}', "',' or '}' in the header dictionary");
            break;
        }
        skip_space();
        if (pos_ != text_.size()) {
            fail(fmt::format("unexpected text after the header dictionary: '{}'",
                             printable(std::string(text_.substr(pos_)), 30)));
        }
        return entries;
    }

private:
    std::string_view text_;
    const std::string& name_;
    std::size_t pos_ = 0;

    [[noreturn]] void fail(const std::string& what) const
    {
        throw InputError(name_, "header", fmt::format("malformed header: {}", what));
    }

    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    void skip_space()
    {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
            ++pos_;
        }
    }

    void expect(char c, const char* what)
    {
        if (peek() != c || pos_ >= text_.size()) {
            fail(fmt::format("expected {} at offset {}", what, pos_));
        }
        ++pos_;
    }

    bool word(std::string_view w)
    {
        if (text_.substr(pos_, w.size()) != w) return false;
        const std::size_t end = pos_ + w.size();
        if (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) {
            return false;
        }
        pos_ = end;
        return true;
    }

    PyValue value(int depth)
    {
        if (depth > 16) fail("nested too deeply");
        skip_space();
        const std::size_t start = pos_;
        PyValue v;
        const char c = peek();
        if (pos_ >= text_.size()) {
            fail("unexpected end of the header");
        } else if (c == '\'' || c == '"') {
            v.kind = PyValue::Kind::string;
            ++pos_;
            for (;;) {
                if (pos_ >= text_.size()) fail("unterminated string");
                const char d = text_[pos_++];
                if (d == c) break;
                if (d == '\\') {
                    if (pos_ >= text_.size()) fail("unterminated string");
                    v.text += text_[pos_++];
                } else {
                    v.text += d;
                }
            }
        } else if (c == '(' || c == '[') {
            const char close = c == '(' ? ')' : ']';
            v.kind = c == '(' ? PyValue::Kind::tuple : PyValue::Kind::list;
            ++pos_;
            bool comma = false;
            for (;;) {
                skip_space();
                if (peek() == close && pos_ < text_.size()) {
                    ++pos_;
                    break;
                }
                v.items.push_back(value(depth + 1));
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    comma = true;
                    continue;
                }
                if (peek() != close || pos_ >= text_.size()) {
                    fail(fmt::format("expected ',' or '{}' at offset {}", close, pos_));
                }
            }
            // "(3)" is the integer 3 in Python, not a tuple.
            if (c == '(' && v.items.size() == 1 && !comma) {
                PyValue inner = std::move(v.items[0]);
                v = std::move(inner);
            }
        } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
            v.kind = PyValue::Kind::integer;
            if (c == '-' || c == '+') {
                v.negative = c == '-';
                ++pos_;
                skip_space();
            }
            if (!(peek() >= '0' && peek() <= '9') || pos_ >= text_.size()) fail(fmt::format("bad number at offset {}", start));
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
                const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
                if (v.number > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
                    fail(fmt::format("integer too large at offset {}", start));
                }
                v.number = v.number * 10 + digit;
                ++pos_;
            }
            if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long
            if (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) {
                fail(fmt::format("bad number at offset {}", start));
            }
        } else if (word("True")) {
            v.kind = PyValue::Kind::boolean;
            v.flag = true;
        } else if (word("False")) {
            v.kind = PyValue::Kind::boolean;
            v.flag = false;
        } else if (word("None")) {
            v.kind = PyValue::Kind::none;
        } else {
            fail(fmt::format("unexpected '{}' at offset {}", printable(std::string(1, c)), pos_));
        }
        v.source = text_.substr(start, pos_ - start);
        return v;
    }
};

FloatType parse_descr(const PyValue& descr, const std::string& name)
{
    const auto unsupported = [&](std::string_view shown) {
        return InputError(name, "header",
                          fmt::format("unsupported dtype '{}' (expected float16, float32 or float64)",
                                      printable(std::string(shown), 60)));
    };
    if (descr.kind != PyValue::Kind::string) throw unsupported(descr.source);
    const std::string& d = descr.text;
    char order = '=';
    std::string_view rest = d;
    if (!rest.empty() && (rest[0] == '<' || rest[0] == '>' || rest[0] == '=' || rest[0] == '|')) {
        order = rest[0];
        rest.remove_prefix(1);
    }
    FloatType type;
    if (rest == "f2") type.itemsize = 2;
    else if (rest == "f4") type.itemsize = 4;
    else if (rest == "f8") type.itemsize = 8;
    else throw unsupported(d);
    if (order == '|') {
        throw InputError(name, "header",
                         fmt::format("invalid dtype '{}': byte order '|' (not applicable) is only valid for "
                                     "1-byte types",
                                     printable(d)));
    }
    constexpr bool host_big = std::endian::native == std::endian::big;
    type.big_endian = order == '>' || (order == '=' && host_big);
    return type;
}

std::uint32_t read_le(const unsigned char* p, int bytes)
{
    std::uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

/// Reads exactly n bytes from the source; false when it ends first.
bool read_fully(ByteSource& source, unsigned char* dst, std::size_t n)
{
    std::size_t done = 0;
    while (done < n) {
        const std::size_t got = source.read(dst + done, n - done);
        if (got == 0) return false;
        done += got;
    }
    return true;
}

// ---------------------------------------------------------------------------
// Conversions to double.

inline double half_to_double(std::uint16_t h)
{
    const std::uint64_t sign = static_cast<std::uint64_t>(h >> 15) << 63;
    const unsigned exponent = (h >> 10) & 0x1fu;
    const std::uint64_t mantissa = h & 0x3ffu;
    std::uint64_t bits;
    if (exponent == 0) {
        // Zero or subnormal: mantissa * 2^-24, exact in double.
        const double magnitude = static_cast<double>(mantissa) * 0x1p-24;
        bits = std::bit_cast<std::uint64_t>(magnitude);
    } else if (exponent == 31) {
        bits = (std::uint64_t{0x7ff} << 52) | (mantissa << 42);  // Inf, or NaN keeping the payload
    } else {
        bits = (static_cast<std::uint64_t>(exponent - 15 + 1023) << 52) | (mantissa << 42);
    }
    return std::bit_cast<double>(bits | sign);
}

inline std::uint16_t load16(const unsigned char* p, bool swap)
{
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return swap ? static_cast<std::uint16_t>(__builtin_bswap16(v)) : v;
}

void convert(const unsigned char* src, double* dst, std::size_t n, FloatType type)
{
    constexpr bool host_big = std::endian::native == std::endian::big;
    const bool swap = type.big_endian != host_big;
    switch (type.itemsize) {
    case 2:
        for (std::size_t i = 0; i < n; ++i) dst[i] = half_to_double(load16(src + 2 * i, swap));
        break;
    case 4:
        if (!swap) {
            for (std::size_t i = 0; i < n; ++i) {
                float f;
                std::memcpy(&f, src + 4 * i, 4);
                dst[i] = f;
            }
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                std::uint32_t u;
                std::memcpy(&u, src + 4 * i, 4);
                dst[i] = std::bit_cast<float>(__builtin_bswap32(u));
            }
        }
        break;
    default:
        if (!swap) {
            std::memcpy(dst, src, 8 * n);
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                std::uint64_t u;
                std::memcpy(&u, src + 8 * i, 8);
                dst[i] = std::bit_cast<double>(__builtin_bswap64(u));
            }
        }
        break;
    }
}

// ---------------------------------------------------------------------------

class BinaryReader final : public ArrayReader {
public:
    BinaryReader(std::unique_ptr<ByteSource> source, ArrayInfo info, FloatType type, std::uint64_t header_bytes,
                 std::string name)
        : source_(std::move(source)), info_(std::move(info)), type_(type), header_bytes_(header_bytes),
          name_(std::move(name))
    {
        skip_header();
    }

    const ArrayInfo& info() const override { return info_; }
    std::string source_name() const override { return name_; }

    std::size_t read(std::span<double> out) override
    {
        const auto item = static_cast<std::size_t>(type_.itemsize);
        const std::uint64_t left = info_.count - position_;
        if (left == 0) {
            finish();
            return 0;
        }
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), left));
        if (buffer_.empty()) buffer_.resize(kChunkBytes);
        const std::size_t per_block = buffer_.size() / item;
        std::size_t done = 0;
        while (done < want) {
            const std::size_t n = std::min(per_block, want - done);
            const std::size_t bytes = n * item;
            std::size_t have = 0;
            while (have < bytes) {
                const std::size_t got = source_->read(buffer_.data() + have, bytes - have);
                if (got == 0) {
                    throw InputError(name_, "data",
                                     fmt::format("truncated: data ends after {} of the {} bytes the header promises",
                                                 position_ * item + have, info_.count * item));
                }
                have += got;
            }
            convert(buffer_.data(), out.data() + done, n, type_);
            done += n;
            position_ += n;
        }
        if (position_ == info_.count) finish();
        return done;
    }

    void rewind() override
    {
        source_->rewind();
        position_ = 0;
        finished_ = false;
        skip_header();
    }

private:
    std::unique_ptr<ByteSource> source_;
    ArrayInfo info_;
    FloatType type_;
    std::uint64_t header_bytes_;
    std::string name_;
    std::uint64_t position_ = 0;
    bool finished_ = false;
    std::vector<unsigned char> buffer_;

    void skip_header()
    {
        std::vector<unsigned char> scratch(static_cast<std::size_t>(std::min<std::uint64_t>(header_bytes_, 4096)));
        std::uint64_t left = header_bytes_;
        while (left > 0) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, scratch.size()));
            if (!read_fully(*source_, scratch.data(), n)) throw InputError(name_, "header", "truncated header");
            left -= n;
        }
    }

    void finish()
    {
        if (finished_) return;
        finished_ = true;
        source_->finish();
    }
};

}  // namespace

NpyHeader read_npy_header(ByteSource& source, const std::string& name, const char* size_word)
{
    const std::uint64_t total = source.size();
    if (total == 0) throw InputError(name, "", fmt::format("empty {}", size_word));
    unsigned char prefix[12] = {};
    const std::size_t want_magic = static_cast<std::size_t>(std::min<std::uint64_t>(total, 8));
    if (!read_fully(source, prefix, want_magic)) throw InputError(name, "header", "truncated header");
    if (std::memcmp(prefix, kMagic, std::min<std::size_t>(want_magic, 6)) != 0) {
        throw InputError(name, "header",
                         fmt::format("not a .npy file: bad magic '{}' (expected '\\x93NUMPY')",
                                     printable(std::string(reinterpret_cast<const char*>(prefix),
                                                           std::min<std::size_t>(want_magic, 6)))));
    }
    if (want_magic < 8) {
        throw InputError(name, "header", fmt::format("truncated header: {} is only {} bytes", size_word, total));
    }
    const unsigned major = prefix[6], minor = prefix[7];
    if (!(major >= 1 && major <= 3 && minor == 0)) {
        throw InputError(name, "header",
                         fmt::format("unsupported .npy format version {}.{} (expected 1.0, 2.0 or 3.0)", major, minor));
    }
    const int length_bytes = major == 1 ? 2 : 4;
    const std::uint64_t fixed = 8 + static_cast<std::uint64_t>(length_bytes);
    if (total < fixed || !read_fully(source, prefix + 8, static_cast<std::size_t>(length_bytes))) {
        throw InputError(name, "header", fmt::format("truncated header: {} is only {} bytes", size_word, total));
    }
    const std::uint32_t header_length = read_le(prefix + 8, length_bytes);
    if (header_length > total - fixed) {
        throw InputError(name, "header",
                         fmt::format("header length {} runs past the end of the {} ({} bytes)", header_length,
                                     size_word, total));
    }
    if (header_length > kMaxHeaderLength) {
        throw InputError(name, "header", fmt::format("header length {} is implausibly large", header_length));
    }
    std::string text(header_length, '\0');
    if (!read_fully(source, reinterpret_cast<unsigned char*>(text.data()), header_length)) {
        throw InputError(name, "header", "truncated header");
    }

    const auto entries = DictParser(text, name).parse();
    const PyValue* descr = nullptr;
    const PyValue* fortran = nullptr;
    const PyValue* shape = nullptr;
    for (const auto& [key, val] : entries) {
        const PyValue** slot = key == "descr"           ? &descr
                               : key == "fortran_order" ? &fortran
                               : key == "shape"         ? &shape
                                                        : nullptr;
        if (!slot) throw InputError(name, "header", fmt::format("unexpected key '{}' in the header", printable(key)));
        if (*slot) throw InputError(name, "header", fmt::format("duplicate key '{}' in the header", key));
        *slot = &val;
    }
    for (const auto& [slot, key] : {std::pair{descr, "descr"}, {fortran, "fortran_order"}, {shape, "shape"}}) {
        if (!slot) throw InputError(name, "header", fmt::format("the header has no '{}' key", key));
    }

    NpyHeader h;
    h.type = parse_descr(*descr, name);
    if (fortran->kind != PyValue::Kind::boolean) {
        throw InputError(name, "header",
                         fmt::format("'fortran_order' is '{}', expected True or False", printable(std::string(fortran->source))));
    }
    h.info.fortran_order = fortran->flag;
    if (shape->kind != PyValue::Kind::tuple) {
        throw InputError(name, "header",
                         fmt::format("'shape' is '{}', expected a tuple of integers", printable(std::string(shape->source))));
    }
    if (shape->items.size() > 64) throw InputError(name, "header", fmt::format("'shape' has {} dimensions (at most 64)", shape->items.size()));
    std::uint64_t count = 1;
    for (const PyValue& dim : shape->items) {
        if (dim.kind != PyValue::Kind::integer || (dim.negative && dim.number != 0)) {
            throw InputError(name, "header",
                             fmt::format("'shape' is '{}', expected non-negative integers",
                                         printable(std::string(shape->source))));
        }
        h.info.shape.push_back(dim.number);
    }
    bool overflow = false;
    for (const std::uint64_t dim : h.info.shape) overflow = overflow || __builtin_mul_overflow(count, dim, &count);
    if (std::find(h.info.shape.begin(), h.info.shape.end(), 0) != h.info.shape.end()) {
        count = 0;
        overflow = false;
    }
    std::uint64_t data_bytes = 0;
    if (overflow || __builtin_mul_overflow(count, static_cast<std::uint64_t>(h.type.itemsize), &data_bytes)) {
        throw InputError(name, "header",
                         fmt::format("shape {} is too large (element count overflows)", shape_string(h.info.shape)));
    }
    h.info.count = count;
    h.header_bytes = fixed + header_length;
    h.data_bytes = data_bytes;

    const std::uint64_t present = total - h.header_bytes;
    if (present < data_bytes) {
        throw InputError(name, "data",
                         fmt::format("truncated: header promises {} bytes of data (shape {}, {} bytes each), "
                                     "the {} holds {}",
                                     data_bytes, shape_string(h.info.shape), h.type.itemsize, size_word, present));
    }
    if (present > data_bytes) {
        throw InputError(name, "data",
                         fmt::format("{} unexpected trailing bytes after the {} bytes of data", present - data_bytes,
                                     data_bytes));
    }
    return h;
}

std::unique_ptr<ArrayReader> make_binary_reader(std::unique_ptr<ByteSource> source, ArrayInfo info, FloatType type,
                                                std::uint64_t header_bytes, std::string source_name)
{
    return std::make_unique<BinaryReader>(std::move(source), std::move(info), type, header_bytes,
                                          std::move(source_name));
}

std::vector<ArrayInfo> list_npy(const std::filesystem::path& file)
{
    auto in = std::make_shared<const InputFile>(file);
    FileRegionSource source(in, 0, in->size());
    return {read_npy_header(source, in->name(), "file").info};
}

std::unique_ptr<ArrayReader> open_npy(const std::filesystem::path& file)
{
    auto in = std::make_shared<const InputFile>(file);
    auto source = std::make_unique<FileRegionSource>(in, 0, in->size());
    NpyHeader h = read_npy_header(*source, in->name(), "file");
    source->rewind();
    return make_binary_reader(std::move(source), std::move(h.info), h.type, h.header_bytes, in->name());
}

std::string npy_header_bytes(const std::vector<std::uint64_t>& shape, const std::string& file)
{
    std::string dict = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': {}, }}", shape_string(shape));
    // magic(6) + version(2) + length(2) + dict + padding + '\n', total a multiple of 64.
    const std::size_t unpadded = 10 + dict.size() + 1;
    const std::size_t padded = (unpadded + 63) / 64 * 64;
    dict.append(padded - unpadded, ' ');
    dict += '\n';
    if (dict.size() > 0xffff) throw OutputError(file, fmt::format("shape {} is too long for an .npy header", shape_string(shape)));
    std::string out(reinterpret_cast<const char*>(kMagic), 6);
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>((dict.size() >> 8) & 0xff);
    return out + dict;
}

}  // namespace nladc::io::detail

namespace nladc::io {

namespace {

void check_shape(const std::string& file, std::size_t values, const std::vector<std::uint64_t>& shape)
{
    std::uint64_t count = 1;
    bool overflow = false;
    for (const std::uint64_t dim : shape) overflow = overflow || __builtin_mul_overflow(count, dim, &count);
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) count = 0, overflow = false;
    if (overflow || count != values) {
        throw OutputError(file, fmt::format("shape {} does not hold the {} values given",
                                            detail::shape_string(shape), values));
    }
}

}  // namespace

void write_npy(const std::filesystem::path& file, std::span<const float> values,
               const std::vector<std::uint64_t>& shape)
{
    check_shape(file.string(), values.size(), shape);
    const std::string header = detail::npy_header_bytes(shape, file.string());
    AtomicFile out(file);
    out.stream().write(header.data(), static_cast<std::streamsize>(header.size()));
    static_assert(std::endian::native == std::endian::little, "write_npy assumes a little-endian host");
    out.stream().write(reinterpret_cast<const char*>(values.data()),
                       static_cast<std::streamsize>(values.size() * sizeof(float)));
    out.commit();
}

namespace detail {
void check_write_shape(const std::string& file, std::size_t values, const std::vector<std::uint64_t>& shape)
{
    check_shape(file, values, shape);
}
}  // namespace detail

}  // namespace nladc::io
