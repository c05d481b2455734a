// CSV / text activations (numbers separated by commas and/or whitespace, '#'
// comments) and raw little-endian float32 (.f32).

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "readers_internal.hpp"

namespace nladc::io::detail {

namespace {

/// Longest token accepted as a number.
constexpr std::size_t kMaxToken = 512;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view token, std::string_view word)
{
    if (token.size() != word.size()) return false;
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (lower(token[i]) != word[i]) return false;
    }
    return true;
}

/// Parses one token; nullopt when it is not a number.
std::optional<double> parse_number(std::string_view token)
{
    std::string_view body = token;
    bool negative = false;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        negative = body[0] == '-';
        body.remove_prefix(1);
    }
    if (body.empty()) return std::nullopt;
    const char first = lower(body[0]);
    if (first == 'n' || first == 'i') {
        double v;
        if (equals_lower(body, "nan")) v = std::numeric_limits<double>::quiet_NaN();
        else if (equals_lower(body, "inf") || equals_lower(body, "infinity")) v = std::numeric_limits<double>::infinity();
        else return std::nullopt;
        return negative ? -v : v;
    }
    if (!((first >= '0' && first <= '9') || first == '.')) return std::nullopt;
    double v = 0;
    const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
    if (end != body.data() + body.size()) return std::nullopt;
    if (ec == std::errc::result_out_of_range) {
        // Underflow gives 0 or a subnormal (accepted); overflow is not a usable number.
        const std::string copy(body);
        errno = 0;
        v = std::strtod(copy.c_str(), nullptr);
        if (std::isinf(v)) return std::nullopt;
    } else if (ec != std::errc()) {
        return std::nullopt;
    }
    return negative ? -v : v;
}

class CsvReader final : public ArrayReader {
public:
    explicit CsvReader(const std::filesystem::path& file) : file_(file), buffer_(kChunkBytes)
    {
        // Counting pass: also validates the whole file, so syntax errors surface at open.
        std::uint64_t count = 0;
        double scratch[4096];
        for (;;) {
            const std::size_t got = scan(scratch, std::size(scratch));
            if (got == 0) break;
            count += got;
        }
        info_.shape = {count};
        info_.count = count;
        rewind();
    }

    const ArrayInfo& info() const override { return info_; }
    std::string source_name() const override { return file_.name(); }

    std::size_t read(std::span<double> out) override { return scan(out.data(), out.size()); }

    void rewind() override
    {
        offset_ = 0;
        begin_ = end_ = 0;
        eof_ = false;
        line_ = 1;
        field_ = 0;
        state_ = State::line_start;
        first_chunk_ = true;
    }

private:
    enum class State { line_start, after_token, after_space, after_comma, comment };

    InputFile file_;
    ArrayInfo info_;
    std::vector<char> buffer_;
    std::uint64_t offset_ = 0;        ///< file offset of buffer_[end_]
    std::size_t begin_ = 0, end_ = 0; ///< unread bytes in buffer_
    bool eof_ = false;
    bool first_chunk_ = true;
    std::uint64_t line_ = 1, field_ = 0;
    State state_ = State::line_start;

    /// Moves unread bytes to the front and reads more; false when nothing is left at all.
    bool refill()
    {
        if (eof_) return begin_ < end_;
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        while (end_ < buffer_.size()) {
            const std::size_t got = file_.read_at(offset_, buffer_.data() + end_, buffer_.size() - end_);
            if (got == 0) {
                eof_ = true;
                break;
            }
            offset_ += got;
            end_ += got;
        }
        if (first_chunk_) {
            first_chunk_ = false;
            if (end_ >= 3 && std::memcmp(buffer_.data(), "\xEF\xBB\xBF", 3) == 0) begin_ = 3;  // UTF-8 BOM
        }
        return begin_ < end_;
    }

    [[noreturn]] void empty_field() const
    {
        throw InputError(file_.name(), fmt::format("line {}, field {}", line_, field_ + 1),
                         "empty field (two separators in a row, or a comma at the start or end of a line)");
    }

    std::size_t scan(double* out, std::size_t capacity)
    {
        std::size_t n = 0;
        while (n < capacity) {
            if (begin_ == end_ && !refill()) {
                if (state_ == State::after_comma) empty_field();
                break;
            }
            const char c = buffer_[begin_];
            if (state_ == State::comment) {
                const char* nl = static_cast<const char*>(std::memchr(buffer_.data() + begin_, '\n', end_ - begin_));
                if (!nl) {
                    begin_ = end_;
                    continue;
                }
                begin_ = static_cast<std::size_t>(nl - buffer_.data());
                state_ = State::line_start;  // the '\n' is handled below
                ++begin_;
                ++line_;
                field_ = 0;
                continue;
            }
            if (c == '\n') {
                if (state_ == State::after_comma) empty_field();
                ++begin_;
                ++line_;
                field_ = 0;
                state_ = State::line_start;
                continue;
            }
            if (is_space(c)) {
                ++begin_;
                if (state_ == State::after_token) state_ = State::after_space;
                continue;
            }
            if (c == ',') {
                if (state_ == State::line_start || state_ == State::after_comma) empty_field();
                ++begin_;
                state_ = State::after_comma;
                continue;
            }
            if (c == '#') {
                if (state_ == State::after_comma) empty_field();
                ++begin_;
                state_ = State::comment;
                continue;
            }
            // A token: make sure it lies entirely in the buffer.
            if (end_ - begin_ < kMaxToken + 1 && !eof_) refill();
            std::size_t stop = begin_;
            const std::size_t limit = std::min(end_, begin_ + kMaxToken + 1);
            while (stop < limit && !is_space(buffer_[stop]) && buffer_[stop] != ',' && buffer_[stop] != '#') ++stop;
            const std::string_view token(buffer_.data() + begin_, stop - begin_);
            ++field_;
            if (token.size() > kMaxToken) {
                throw InputError(file_.name(), fmt::format("line {}, field {}", line_, field_),
                                 fmt::format("'{}' is not a number (token longer than {} characters)",
                                             printable(std::string(token), 40), kMaxToken));
            }
            const auto value = parse_number(token);
            if (!value) {
                throw InputError(file_.name(), fmt::format("line {}, field {}", line_, field_),
                                 fmt::format("'{}' is not a number", printable(std::string(token))));
            }
            out[n++] = *value;
            begin_ = stop;
            state_ = State::after_token;
        }
        return n;
    }
};

}  // namespace

std::unique_ptr<ArrayReader> open_csv(const std::filesystem::path& file)
{
    return std::make_unique<CsvReader>(file);
}

std::unique_ptr<ArrayReader> open_f32(const std::filesystem::path& file)
{
    auto in = std::make_shared<const InputFile>(file);
    if (in->size() % 4 != 0) {
        throw InputError(in->name(), "",
                         fmt::format("size {} bytes is not a multiple of 4 (raw float32 expects 4 bytes per value)",
                                     in->size()));
    }
    ArrayInfo info;
    info.count = in->size() / 4;
    info.shape = {info.count};
    auto source = std::make_unique<FileRegionSource>(in, 0, in->size());
    return make_binary_reader(std::move(source), std::move(info), FloatType{4, false}, 0, in->name());
}

}  // namespace nladc::io::detail
