// .npz: a zip archive of .npy members. Reading: end-of-central-directory search,
// zip64 records and extra fields, stored and deflated members (raw inflate,
// streamed in chunks), CRC-32 checked at the end of each member. Writing: stored
// members, zip64 records where needed.

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "nladc/io/activations.hpp"
#include "nladc/io/atomic_file.hpp"
#include "readers_internal.hpp"

namespace nladc::io::detail {

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kEnd64Sig = 0x06064b50;
constexpr std::uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr std::uint64_t kMaxCentralDirectory = std::uint64_t{64} << 20;
constexpr std::size_t kInflateInput = std::size_t{256} << 10;

std::uint64_t le(const unsigned char* p, int bytes)
{
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

/// a + b <= limit, without overflow.
bool fits(std::uint64_t a, std::uint64_t b, std::uint64_t limit) { return a <= limit && b <= limit - a; }

struct Member {
    std::string name;
    std::uint16_t flags = 0, method = 0;
    std::uint32_t crc = 0;
    std::uint64_t csize = 0, usize = 0, local_offset = 0;
};

std::vector<Member> read_central_directory(const InputFile& in)
{
    const std::string& name = in.name();
    const std::uint64_t size = in.size();
    if (size < 22) throw InputError(name, "", fmt::format("not a zip archive (only {} bytes)", size));

    // End-of-central-directory record: 22 bytes plus a comment of up to 65535 bytes.
    const std::size_t tail_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, 22 + 65535));
    const std::uint64_t tail_start = size - tail_size;
    std::vector<unsigned char> tail(tail_size);
    in.read_exact_at(tail_start, tail.data(), tail_size, "end of central directory");
    std::size_t eocd = SIZE_MAX, loose = SIZE_MAX;
    for (std::size_t i = tail_size - 22 + 1; i-- > 0;) {
        if (le(&tail[i], 4) != kEndSig) continue;
        const std::uint64_t comment = le(&tail[i + 20], 2);
        if (i + 22 + comment == tail_size) {
            eocd = i;
            break;
        }
        if (loose == SIZE_MAX && i + 22 + comment <= tail_size) loose = i;
    }
    if (eocd == SIZE_MAX) eocd = loose;
    if (eocd == SIZE_MAX) throw InputError(name, "", "not a zip archive (no end-of-central-directory record)");
    const unsigned char* e = &tail[eocd];
    const std::uint64_t eocd_offset = tail_start + eocd;
    std::uint64_t disk = le(e + 4, 2), cd_disk = le(e + 6, 2);
    std::uint64_t entries = le(e + 10, 2), cd_size = le(e + 12, 4), cd_offset = le(e + 16, 4);
    std::uint64_t cd_limit = eocd_offset;  // the central directory ends before its end record

    // Zip64: a locator right before the end record points at the zip64 end record.
    if (eocd_offset >= 20) {
        unsigned char loc[20];
        in.read_exact_at(eocd_offset - 20, loc, 20, "zip64 locator");
        if (le(loc, 4) == kEnd64LocatorSig) {
            const std::uint64_t z_offset = le(loc + 8, 8);
            if (!fits(z_offset, 56, eocd_offset - 20)) {
                throw InputError(name, "zip64 end record",
                                 fmt::format("offset {} lies outside the file ({} bytes)", z_offset, size));
            }
            unsigned char z[56];
            in.read_exact_at(z_offset, z, 56, "zip64 end record");
            if (le(z, 4) != kEnd64Sig) throw InputError(name, "zip64 end record", "bad signature");
            disk = le(z + 16, 4);
            cd_disk = le(z + 20, 4);
            entries = le(z + 32, 8);
            cd_size = le(z + 40, 8);
            cd_offset = le(z + 48, 8);
            cd_limit = z_offset;
        }
    }
    if ((disk != 0 && disk != 0xffff) || (cd_disk != 0 && cd_disk != 0xffff)) {
        throw InputError(name, "", "multi-disk zip archives are not supported");
    }
    if (!fits(cd_offset, cd_size, cd_limit)) {
        throw InputError(name, "central directory",
                         fmt::format("offset {} + size {} lies outside the archive ({} bytes)", cd_offset, cd_size,
                                     size));
    }
    if (cd_size > kMaxCentralDirectory) {
        throw InputError(name, "central directory", fmt::format("implausibly large ({} bytes)", cd_size));
    }
    if (entries > cd_size / 46) {
        throw InputError(name, "central directory",
                         fmt::format("{} entries cannot fit in {} bytes", entries, cd_size));
    }
    std::vector<unsigned char> cd(static_cast<std::size_t>(cd_size));
    in.read_exact_at(cd_offset, cd.data(), cd.size(), "central directory");

    std::vector<Member> members;
    members.reserve(static_cast<std::size_t>(entries));
    std::size_t pos = 0;
    for (std::uint64_t k = 0; k < entries; ++k) {
        const std::string place = fmt::format("central directory entry {}", k);
        if (cd.size() - pos < 46 || le(&cd[pos], 4) != kCentralSig) {
            throw InputError(name, place, "bad signature or truncated entry");
        }
        const unsigned char* c = &cd[pos];
        Member m;
        m.flags = static_cast<std::uint16_t>(le(c + 8, 2));
        m.method = static_cast<std::uint16_t>(le(c + 10, 2));
        m.crc = static_cast<std::uint32_t>(le(c + 16, 4));
        m.csize = le(c + 20, 4);
        m.usize = le(c + 24, 4);
        const std::size_t name_len = le(c + 28, 2), extra_len = le(c + 30, 2), comment_len = le(c + 32, 2);
        std::uint64_t start_disk = le(c + 34, 2);
        m.local_offset = le(c + 42, 4);
        if (cd.size() - pos - 46 < name_len + extra_len + comment_len) throw InputError(name, place, "truncated entry");
        m.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
        // Zip64 extended information: 8-byte values for the fields saturated above.
        const unsigned char* x = c + 46 + name_len;
        std::size_t xpos = 0;
        while (extra_len - xpos >= 4) {
            const std::size_t id = le(x + xpos, 2), len = le(x + xpos + 2, 2);
            if (extra_len - xpos - 4 < len) throw InputError(name, place, "truncated extra field");
            if (id == 0x0001) {
                const unsigned char* f = x + xpos + 4;
                std::size_t fpos = 0;
                const auto take = [&](std::uint64_t& field, int bytes) {
                    if (len - fpos < static_cast<std::size_t>(bytes)) {
                        throw InputError(name, place, "zip64 extra field too short");
                    }
                    field = le(f + fpos, bytes);
                    fpos += static_cast<std::size_t>(bytes);
                };
                if (m.usize == 0xffffffff) take(m.usize, 8);
                if (m.csize == 0xffffffff) take(m.csize, 8);
                if (m.local_offset == 0xffffffff) take(m.local_offset, 8);
                if (start_disk == 0xffff) take(start_disk, 4);
            }
            xpos += 4 + len;
        }
        if (start_disk != 0) throw InputError(name, place, "multi-disk zip archives are not supported");
        pos += 46 + name_len + extra_len + comment_len;
        members.push_back(std::move(m));
    }
    return members;
}

std::string member_source_name(const InputFile& in, const std::string& layer)
{
    return fmt::format("{}[{}]", in.name(), printable(layer, 200));
}

/// A stored member: the bytes as they are, CRC-checked at the end.
class StoredSource final : public ByteSource {
public:
    StoredSource(std::shared_ptr<const InputFile> file, std::uint64_t offset, const Member& m, std::string name)
        : region_(std::move(file), offset, m.usize), expected_crc_(m.crc), name_(std::move(name))
    {
    }
    std::size_t read(unsigned char* dst, std::size_t n) override
    {
        const std::size_t got = region_.read(dst, n);
        crc_ = crc32_z(crc_, dst, got);
        return got;
    }
    void rewind() override
    {
        region_.rewind();
        crc_ = crc32_z(0, nullptr, 0);
    }
    std::uint64_t size() const override { return region_.size(); }
    void finish() override
    {
        if (crc_ != expected_crc_) {
            throw InputError(name_, "", fmt::format("CRC-32 mismatch (stored {:08x}, computed {:08x}): corrupt member",
                                                    expected_crc_, crc_));
        }
    }

private:
    FileRegionSource region_;
    unsigned long expected_crc_;
    unsigned long crc_ = crc32_z(0, nullptr, 0);
    std::string name_;
};

/// A deflated member: raw inflate streamed from the file in chunks.
class InflateSource final : public ByteSource {
public:
    InflateSource(std::shared_ptr<const InputFile> file, std::uint64_t offset, const Member& m, std::string name)
        : file_(std::move(file)), offset_(offset), csize_(m.csize), usize_(m.usize), expected_crc_(m.crc),
          name_(std::move(name))
    {
        std::memset(&stream_, 0, sizeof stream_);
        if (inflateInit2(&stream_, -MAX_WBITS) != Z_OK) throw Error("zlib: inflateInit2 failed");
    }
    ~InflateSource() override { inflateEnd(&stream_); }
    InflateSource(const InflateSource&) = delete;
    InflateSource& operator=(const InflateSource&) = delete;

    std::size_t read(unsigned char* dst, std::size_t n) override
    {
        n = static_cast<std::size_t>(std::min<std::uint64_t>({n, usize_ - produced_, UINT_MAX}));
        if (n == 0) return 0;
        if (ended_) throw ends_early();
        const std::size_t got = inflate_into(dst, n);
        if (got == 0) throw ends_early();
        crc_ = crc32_z(crc_, dst, got);
        produced_ += got;
        return got;
    }

    void rewind() override
    {
        inflateReset(&stream_);
        stream_.avail_in = 0;
        consumed_ = produced_ = 0;
        ended_ = false;
        crc_ = crc32_z(0, nullptr, 0);
    }

    std::uint64_t size() const override { return usize_; }

    void finish() override
    {
        if (!ended_) {
            unsigned char extra[64];
            if (inflate_into(extra, sizeof extra) != 0 || !ended_) {
                throw InputError(name_, "", fmt::format("compressed data is longer than the declared {} bytes", usize_));
            }
        }
        if (crc_ != expected_crc_) {
            throw InputError(name_, "", fmt::format("CRC-32 mismatch (stored {:08x}, computed {:08x}): corrupt member",
                                                    expected_crc_, crc_));
        }
    }

private:
    std::shared_ptr<const InputFile> file_;
    std::uint64_t offset_, csize_, usize_;
    unsigned long expected_crc_;
    std::string name_;
    z_stream stream_;
    std::vector<unsigned char> input_;
    std::uint64_t consumed_ = 0, produced_ = 0;
    bool ended_ = false;
    unsigned long crc_ = crc32_z(0, nullptr, 0);

    InputError ends_early() const
    {
        return InputError(name_, "",
                          fmt::format("compressed data ends after {} of the declared {} bytes", produced_, usize_));
    }

    /// Inflates up to n bytes (n <= UINT_MAX); returns how many were produced,
    /// 0 only when the deflate stream ended.
    std::size_t inflate_into(unsigned char* dst, std::size_t n)
    {
        stream_.next_out = dst;
        stream_.avail_out = static_cast<uInt>(n);
        while (stream_.avail_out == n && !ended_) {
            if (stream_.avail_in == 0 && consumed_ < csize_) {
                if (input_.empty()) input_.resize(kInflateInput);
                const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(input_.size(), csize_ - consumed_));
                file_->read_exact_at(offset_ + consumed_, input_.data(), want, name_);
                consumed_ += want;
                stream_.next_in = input_.data();
                stream_.avail_in = static_cast<uInt>(want);
            }
            const int rc = inflate(&stream_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                ended_ = true;
            } else if (rc == Z_BUF_ERROR || (rc == Z_OK && stream_.avail_in == 0 && consumed_ == csize_ &&
                                              stream_.avail_out == n)) {
                if (stream_.avail_in == 0 && consumed_ == csize_) {
                    throw InputError(name_, "",
                                     fmt::format("compressed data truncated: deflate stream unfinished after {} "
                                                 "compressed bytes",
                                                 csize_));
                }
                throw InputError(name_, "", "corrupt deflate data");
            } else if (rc != Z_OK) {
                throw InputError(name_, "",
                                 fmt::format("corrupt deflate data: {}", stream_.msg ? stream_.msg : zError(rc)));
            }
        }
        return n - stream_.avail_out;
    }
};

std::unique_ptr<ByteSource> member_source(const std::shared_ptr<const InputFile>& in, const Member& m,
                                          const std::string& source_name)
{
    const std::string place = fmt::format("member '{}'", printable(m.name));
    if (m.flags & 1u) throw InputError(source_name, "", "encrypted zip members are not supported");
    if (!fits(m.local_offset, 30, in->size())) {
        throw InputError(source_name, "",
                         fmt::format("local header offset {} lies outside the file ({} bytes)", m.local_offset,
                                     in->size()));
    }
    unsigned char h[30];
    in->read_exact_at(m.local_offset, h, 30, place);
    if (le(h, 4) != kLocalSig) throw InputError(source_name, "", "bad local header signature");
    const std::uint64_t data_offset = m.local_offset + 30 + le(h + 26, 2) + le(h + 28, 2);
    if (!fits(data_offset, m.csize, in->size())) {
        throw InputError(source_name, "",
                         fmt::format("member data ({} bytes at offset {}) runs past the end of the file ({} bytes)",
                                     m.csize, data_offset, in->size()));
    }
    if (m.method == 0) {
        if (m.csize != m.usize) {
            throw InputError(source_name, "",
                             fmt::format("stored member with compressed size {} != uncompressed size {}", m.csize,
                                         m.usize));
        }
        return std::make_unique<StoredSource>(in, data_offset, m, source_name);
    }
    if (m.method == 8) return std::make_unique<InflateSource>(in, data_offset, m, source_name);
    throw InputError(source_name, "",
                     fmt::format("unsupported zip compression method {} (expected stored or deflated)", m.method));
}

struct Layer {
    std::string name;
    const Member* member;
};

std::vector<Layer> layers_of(const InputFile& in, const std::vector<Member>& members)
{
    std::vector<Layer> layers;
    std::set<std::string> seen;
    for (const Member& m : members) {
        if (m.name.size() <= 4 || m.name.compare(m.name.size() - 4, 4, ".npy") != 0) continue;
        std::string layer = m.name.substr(0, m.name.size() - 4);
        if (!seen.insert(layer).second) {
            throw InputError(in.name(), "", fmt::format("duplicate member '{}'", printable(m.name)));
        }
        layers.push_back({std::move(layer), &m});
    }
    return layers;
}

std::string name_list(const std::vector<Layer>& layers)
{
    std::string out;
    const std::size_t shown = std::min<std::size_t>(layers.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        out += printable(layers[i].name);
    }
    if (shown < layers.size()) out += fmt::format(", ... ({} in all)", layers.size());
    return out;
}

// --- writing ---------------------------------------------------------------

void put(std::string& out, std::uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

constexpr std::uint64_t k32 = 0xffffffff;

}  // namespace

std::vector<ArrayInfo> list_npz(const std::filesystem::path& file)
{
    auto in = std::make_shared<const InputFile>(file);
    const auto members = read_central_directory(*in);
    std::vector<ArrayInfo> out;
    for (const Layer& layer : layers_of(*in, members)) {
        const std::string source_name = member_source_name(*in, layer.name);
        auto source = member_source(in, *layer.member, source_name);
        NpyHeader h = read_npy_header(*source, source_name, "member");
        h.info.name = layer.name;
        out.push_back(std::move(h.info));
    }
    return out;
}

std::unique_ptr<ArrayReader> open_npz(const std::filesystem::path& file, const std::string& name)
{
    auto in = std::make_shared<const InputFile>(file);
    const auto members = read_central_directory(*in);
    const auto layers = layers_of(*in, members);
    const Layer* chosen = nullptr;
    if (name.empty()) {
        if (layers.empty()) throw InputError(in->name(), "", "holds no .npy arrays");
        if (layers.size() > 1) {
            throw InputError(in->name(), "",
                             fmt::format("holds {} arrays, choose one by name: {}", layers.size(), name_list(layers)));
        }
        chosen = &layers[0];
    } else {
        for (const Layer& layer : layers) {
            if (layer.name == name) chosen = &layer;
        }
        if (!chosen) {
            throw InputError(in->name(), "",
                             fmt::format("no array named '{}' (arrays: {})", printable(name),
                                         layers.empty() ? std::string("none") : name_list(layers)));
        }
    }
    const std::string source_name = member_source_name(*in, chosen->name);
    auto source = member_source(in, *chosen->member, source_name);
    NpyHeader h = read_npy_header(*source, source_name, "member");
    h.info.name = chosen->name;
    source->rewind();
    return make_binary_reader(std::move(source), std::move(h.info), h.type, h.header_bytes, source_name);
}

void write_npz_impl(const std::filesystem::path& file, const std::vector<NamedArray>& arrays, bool force_zip64)
{
    const std::string fname = file.string();
    std::set<std::string> names;
    for (const NamedArray& a : arrays) {
        if (a.name.empty()) throw OutputError(fname, "empty array name");
        if (a.name.size() > 0xffff - 4) throw OutputError(fname, "array name too long");
        if (!names.insert(a.name).second) throw OutputError(fname, fmt::format("duplicate array name '{}'", a.name));
        check_write_shape(fname, a.values.size(), a.shape);
    }

    AtomicFile out(file);
    std::ostream& os = out.stream();
    std::string central;
    std::uint64_t offset = 0;
    for (const NamedArray& a : arrays) {
        const std::string member = a.name + ".npy";
        const std::string header = npy_header_bytes(a.shape, fname);
        const auto* data = reinterpret_cast<const unsigned char*>(a.values.data());
        const std::uint64_t data_bytes = a.values.size() * sizeof(float);
        const std::uint64_t size = header.size() + data_bytes;
        unsigned long crc = crc32_z(0, nullptr, 0);
        crc = crc32_z(crc, reinterpret_cast<const unsigned char*>(header.data()), header.size());
        crc = crc32_z(crc, data, static_cast<z_size_t>(data_bytes));
        const bool big = force_zip64 || size >= k32;
        const bool far = force_zip64 || offset >= k32;
        const bool utf8 = std::any_of(member.begin(), member.end(), [](char c) { return (c & 0x80) != 0; });
        const std::uint64_t flags = utf8 ? 0x800 : 0;
        const std::uint64_t version = (big || far) ? 45 : 20;

        std::string local;
        put(local, kLocalSig, 4);
        put(local, version, 2);
        put(local, flags, 2);
        put(local, 0, 2);       // stored
        put(local, 0, 2);       // time 00:00:00
        put(local, 0x21, 2);    // date 1980-01-01
        put(local, crc, 4);
        put(local, big ? k32 : size, 4);
        put(local, big ? k32 : size, 4);
        put(local, member.size(), 2);
        put(local, big ? 20 : 0, 2);
        local += member;
        if (big) {
            put(local, 0x0001, 2);
            put(local, 16, 2);
            put(local, size, 8);
            put(local, size, 8);
        }
        os.write(local.data(), static_cast<std::streamsize>(local.size()));
        os.write(header.data(), static_cast<std::streamsize>(header.size()));
        os.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(data_bytes));

        std::string extra;
        if (big) {
            put(extra, size, 8);
            put(extra, size, 8);
        }
        if (far) put(extra, offset, 8);
        put(central, kCentralSig, 4);
        put(central, version, 2);  // made by: MS-DOS host, spec version
        put(central, version, 2);
        put(central, flags, 2);
        put(central, 0, 2);
        put(central, 0, 2);
        put(central, 0x21, 2);
        put(central, crc, 4);
        put(central, big ? k32 : size, 4);
        put(central, big ? k32 : size, 4);
        put(central, member.size(), 2);
        put(central, extra.empty() ? 0 : extra.size() + 4, 2);
        put(central, 0, 2);  // comment
        put(central, 0, 2);  // disk
        put(central, 0, 2);  // internal attributes
        put(central, 0, 4);  // external attributes
        put(central, far ? k32 : offset, 4);
        central += member;
        if (!extra.empty()) {
            put(central, 0x0001, 2);
            put(central, extra.size(), 2);
            central += extra;
        }
        offset += local.size() + size;
    }

    const std::uint64_t count = arrays.size();
    const std::uint64_t cd_offset = offset, cd_size = central.size();
    const bool zip64_end = force_zip64 || count >= 0xffff || cd_offset >= k32 || cd_size >= k32;
    std::string end;
    if (zip64_end) {
        const std::uint64_t end64_offset = cd_offset + cd_size;
        put(end, kEnd64Sig, 4);
        put(end, 44, 8);  // size of the rest of this record
        put(end, 45, 2);
        put(end, 45, 2);
        put(end, 0, 4);
        put(end, 0, 4);
        put(end, count, 8);
        put(end, count, 8);
        put(end, cd_size, 8);
        put(end, cd_offset, 8);
        put(end, kEnd64LocatorSig, 4);
        put(end, 0, 4);
        put(end, end64_offset, 8);
        put(end, 1, 4);
    }
    put(end, kEndSig, 4);
    put(end, 0, 2);
    put(end, 0, 2);
    put(end, zip64_end ? 0xffff : count, 2);
    put(end, zip64_end ? 0xffff : count, 2);
    put(end, zip64_end ? k32 : cd_size, 4);
    put(end, zip64_end ? k32 : cd_offset, 4);
    put(end, 0, 2);
    os.write(central.data(), static_cast<std::streamsize>(central.size()));
    os.write(end.data(), static_cast<std::streamsize>(end.size()));
    out.commit();
}

}  // namespace nladc::io::detail

namespace nladc::io {

void write_npz(const std::filesystem::path& file, const std::vector<NamedArray>& arrays)
{
    detail::write_npz_impl(file, arrays, false);
}

}  // namespace nladc::io
