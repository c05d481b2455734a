#pragma once
// Private to src/spice: the wire protocol between WorkerPool and nladc-spice-worker.
//
// One AF_UNIX stream socket per worker (fd 3 in the worker). Every message is a frame:
//   u32 magic 'NLSW' | u32 kind | u64 payload size | payload
// in host byte order (both ends are the same build on the same machine). Payload
// fields: f64 = 8 raw bytes, i32/u64 = raw, string = u64 size + bytes,
// doubles = u64 count + raw f64s (bit-exact, so pool results equal in-process ones).
//
//   worker -> pool  Ready       i32 pid                          (once, after ngspice loaded)
//   worker -> pool  InitFailed  string what                      (then the worker exits)
//   pool -> worker  Request     f64 timeout_s, string netlist, u64 n, n x string vector
//   worker -> pool  Result      f64 wall_s, string log, u64 n, n x (string name, doubles)
//   worker -> pool  Failure     string message, string title, i32 line_number,
//                               string netlist_line, string output_tail
// The pool closing its end of the socket tells the worker to exit.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "nladc/spice/ngspice.hpp"

namespace nladc::spice::detail {

inline constexpr std::uint32_t kFrameMagic = 0x57534C4E;  // "NLSW" in memory order
inline constexpr std::size_t kFrameHeaderSize = 16;
/// Frames larger than this are treated as a corrupt stream (protects against garbage).
inline constexpr std::uint64_t kMaxFramePayload = std::uint64_t{1} << 34;  // 16 GiB

enum class FrameKind : std::uint32_t { Ready = 1, InitFailed = 2, Request = 3, Result = 4, Failure = 5 };

/// Appends fields to a payload.
class Writer {
public:
    void f64(double v) { raw(&v, sizeof v); }
    void i32(std::int32_t v) { raw(&v, sizeof v); }
    void u64(std::uint64_t v) { raw(&v, sizeof v); }
    void str(std::string_view s)
    {
        u64(s.size());
        buffer_.append(s.data(), s.size());
    }
    void doubles(const double* data, std::size_t count)
    {
        u64(count);
        raw(data, count * sizeof(double));
    }
    /// The complete frame: header + payload.
    std::string frame(FrameKind kind) const
    {
        std::string out(kFrameHeaderSize, '\0');
        const std::uint32_t magic = kFrameMagic, k = static_cast<std::uint32_t>(kind);
        const std::uint64_t size = buffer_.size();
        std::memcpy(out.data(), &magic, 4);
        std::memcpy(out.data() + 4, &k, 4);
        std::memcpy(out.data() + 8, &size, 8);
        return out + buffer_;
    }

private:
    void raw(const void* p, std::size_t n)
    {
        if (n) buffer_.append(static_cast<const char*>(p), n);
    }
    std::string buffer_;
};

/// Reads fields from a payload; every read is bounds-checked (a short or corrupt
/// payload throws NgspiceError instead of reading past the end).
class Reader {
public:
    explicit Reader(std::string_view payload) : data_(payload) {}
    double f64() { return pod<double>(); }
    std::int32_t i32() { return pod<std::int32_t>(); }
    std::uint64_t u64() { return pod<std::uint64_t>(); }
    std::string str()
    {
        const std::uint64_t n = u64();
        need(n);
        std::string s(data_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    Eigen::VectorXd doubles()
    {
        const std::uint64_t n = u64();
        if (n > (data_.size() - pos_) / sizeof(double)) corrupt();
        Eigen::VectorXd v(static_cast<Eigen::Index>(n));
        if (n) std::memcpy(v.data(), data_.data() + pos_, n * sizeof(double));
        pos_ += n * sizeof(double);
        return v;
    }
    /// Throws unless the whole payload was consumed.
    void finish() const
    {
        if (pos_ != data_.size()) corrupt();
    }

private:
    template <class T>
    T pod()
    {
        need(sizeof(T));
        T v;
        std::memcpy(&v, data_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    void need(std::uint64_t n) const
    {
        if (n > data_.size() - pos_) corrupt();
    }
    [[noreturn]] static void corrupt() { throw NgspiceError("corrupt message between WorkerPool and nladc-spice-worker"); }
    std::string_view data_;
    std::size_t pos_ = 0;
};

/// A complete frame split off the front of a receive buffer.
struct Frame {
    FrameKind kind;
    std::string payload;
};

/// Removes and returns the first complete frame of `buffer`, or nullopt when more bytes
/// are needed. Throws NgspiceError on a bad magic number or an absurd size.
inline std::optional<Frame> take_frame(std::string& buffer)
{
    if (buffer.size() < kFrameHeaderSize) return std::nullopt;
    std::uint32_t magic = 0, kind = 0;
    std::uint64_t size = 0;
    std::memcpy(&magic, buffer.data(), 4);
    std::memcpy(&kind, buffer.data() + 4, 4);
    std::memcpy(&size, buffer.data() + 8, 8);
    if (magic != kFrameMagic || size > kMaxFramePayload || kind < 1 || kind > 5)
        throw NgspiceError("corrupt message between WorkerPool and nladc-spice-worker (bad frame header)");
    if (buffer.size() - kFrameHeaderSize < size) return std::nullopt;
    Frame frame{static_cast<FrameKind>(kind), buffer.substr(kFrameHeaderSize, size)};
    buffer.erase(0, kFrameHeaderSize + size);
    return frame;
}

inline std::string encode_request(const SimulationRequest& request)
{
    Writer w;
    w.f64(request.timeout_s);
    w.str(request.netlist);
    w.u64(request.vectors.size());
    for (const auto& v : request.vectors) w.str(v);
    return w.frame(FrameKind::Request);
}

inline SimulationRequest decode_request(std::string_view payload)
{
    Reader r(payload);
    SimulationRequest request;
    request.timeout_s = r.f64();
    request.netlist = r.str();
    const std::uint64_t n = r.u64();
    if (n > payload.size()) throw NgspiceError("corrupt request from WorkerPool");
    for (std::uint64_t i = 0; i < n; ++i) request.vectors.push_back(r.str());
    r.finish();
    return request;
}

inline std::string encode_result(const SimulationResult& result)
{
    Writer w;
    w.f64(result.wall_s);
    w.str(result.log);
    w.u64(result.vectors.size());
    for (const auto& [name, values] : result.vectors) {
        w.str(name);
        w.doubles(values.data(), static_cast<std::size_t>(values.size()));
    }
    return w.frame(FrameKind::Result);
}

inline SimulationResult decode_result(std::string_view payload)
{
    Reader r(payload);
    SimulationResult result;
    result.wall_s = r.f64();
    result.log = r.str();
    const std::uint64_t n = r.u64();
    if (n > payload.size()) throw NgspiceError("corrupt result from nladc-spice-worker");
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string name = r.str();
        result.vectors[std::move(name)] = r.doubles();
    }
    r.finish();
    return result;
}

inline std::string encode_failure(const NgspiceError& e)
{
    Writer w;
    w.str(e.message());
    w.str(e.netlist_title());
    w.i32(e.line_number());
    w.str(e.netlist_line());
    w.str(e.output_tail());
    return w.frame(FrameKind::Failure);
}

inline NgspiceError decode_failure(std::string_view payload)
{
    Reader r(payload);
    std::string message = r.str(), title = r.str();
    const int line = r.i32();
    std::string text = r.str(), tail = r.str();
    r.finish();
    return NgspiceError(std::move(message), std::move(title), line, std::move(text), std::move(tail));
}

}  // namespace nladc::spice::detail
