// nladc-spice-worker: one NgspiceSession in its own process, serving WorkerPool.
//
// Usage: nladc-spice-worker --fd N
// Reads Request frames from the stream socket N and answers each with a Result or a
// Failure frame (protocol: src/spice/ngspice_internal.hpp). Exits 0 when the pool
// closes the socket, 3 when ngspice cannot be loaded (after an InitFailed frame).
// A crash only ends this process; the pool restarts it.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "ngspice_internal.hpp"

namespace {

using namespace nladc::spice;

/// Writes all of `data`; false when the pool has gone away.
bool write_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/// Blocks until one whole frame arrived; nullopt on end of stream or a read error.
std::optional<detail::Frame> read_frame(int fd, std::string& buffer)
{
    char chunk[65536];
    for (;;) {
        if (auto frame = detail::take_frame(buffer)) return frame;
        const ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
}

int serve(int fd)
{
    std::optional<NgspiceSession> session;
    try {
        session.emplace();
    } catch (const std::exception& e) {
        detail::Writer w;
        w.str(e.what());
        write_all(fd, w.frame(detail::FrameKind::InitFailed));
        std::fprintf(stderr, "nladc-spice-worker: %s\n", e.what());
        return 3;
    }
    {
        detail::Writer w;
        w.i32(static_cast<std::int32_t>(getpid()));
        if (!write_all(fd, w.frame(detail::FrameKind::Ready))) return 0;
    }
    std::string buffer;
    for (;;) {
        std::optional<detail::Frame> frame;
        try {
            frame = read_frame(fd, buffer);
        } catch (const std::exception& e) {  // corrupt stream: nothing sensible left to do
            std::fprintf(stderr, "nladc-spice-worker: %s\n", e.what());
            return 4;
        }
        if (!frame) return 0;  // the pool closed the socket
        if (frame->kind != detail::FrameKind::Request) continue;
        std::string reply;
        try {
            SimulationRequest request = detail::decode_request(frame->payload);
            // The pool kills at timeout_s; this later in-process limit only bounds an
            // orphaned worker whose pool died mid-run.
            request.timeout_s += std::max(1.0, 0.25 * request.timeout_s);
            reply = detail::encode_result(session->run(request));
        } catch (const NgspiceError& e) {
            reply = detail::encode_failure(e);
        } catch (const std::exception& e) {
            reply = detail::encode_failure(NgspiceError(std::string("nladc-spice-worker: ") + e.what()));
        }
        if (!write_all(fd, reply)) return 0;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    int fd = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--fd" && i + 1 < argc) {
            char* end = nullptr;
            const long v = std::strtol(argv[++i], &end, 10);
            if (end && *end == '\0' && v >= 0 && v < 65536) fd = static_cast<int>(v);
        } else if (arg == "--help" || arg == "-h") {
            std::printf("usage: nladc-spice-worker --fd N\n"
                        "Runs ngspice netlists for nladc's WorkerPool over the stream socket N.\n");
            return 0;
        }
    }
    if (fd < 0) {
        std::fprintf(stderr, "usage: nladc-spice-worker --fd N  (started by nladc's WorkerPool)\n");
        return 2;
    }
    return serve(fd);
}
