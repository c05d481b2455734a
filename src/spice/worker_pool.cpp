// WorkerPool: batches of netlists in nladc-spice-worker processes, surviving crashes,
// kills and hangs of any worker. Single-threaded: one poll() loop over the workers'
// sockets, non-blocking in both directions, so a stopped or dying worker never blocks
// the others. Workers are started with posix_spawn (safe when the caller has threads).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "ngspice_internal.hpp"

extern char** environ;

namespace nladc::spice {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWorkerFd = 3;                                  // the socket's number in the worker
constexpr auto kStartupLimit = std::chrono::seconds(120);     // ngspice init, generous for sanitizer builds
constexpr auto kShutdownGrace = std::chrono::seconds(5);      // lets a sanitizer build finish its exit checks

bool is_executable(const std::filesystem::path& p)
{
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

/// "killed by signal 9 (SIGKILL)" / "exited with status 3".
std::string describe_status(int status)
{
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = sigabbrev_np(sig);
        return name ? fmt::format("killed by signal {} (SIG{})", sig, name) : fmt::format("killed by signal {}", sig);
    }
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    return "ended";
}

/// One worker slot: the process (pid 0 = not running) and its socket.
struct Worker {
    pid_t pid = 0;
    int fd = -1;
    std::string inbox, outbox;  // bytes received / still to send
    bool ready = false;
    std::string init_error;     // from an InitFailed frame
    bool busy = false;
    std::size_t request = 0;
    Clock::time_point deadline{};
};

}  // namespace

std::string default_worker_path()
{
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("NLADC_SPICE_WORKER"); env && *env) return env;
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return "nladc-spice-worker";
    const fs::path beside = self.parent_path() / "nladc-spice-worker";
    if (is_executable(beside)) return beside.string();
    const fs::path build_tree = self.parent_path().parent_path() / "nladc-spice-worker";
    if (is_executable(build_tree)) return build_tree.string();
    return beside.string();
}

class WorkerPool::Impl {
public:
    Impl(int workers, std::string executable) : executable_(std::move(executable))
    {
        if (workers < 1) throw NgspiceError(fmt::format("WorkerPool needs at least 1 worker, got {}", workers));
        workers_.resize(static_cast<std::size_t>(workers));
        try {
            for (auto& w : workers_) spawn(w);
            wait_until_ready();
        } catch (...) {
            shutdown();
            throw;
        }
        restarts_ = 0;
    }

    ~Impl() { shutdown(); }

    std::vector<WorkerOutcome> run_batch(const std::vector<SimulationRequest>& requests, int retries)
    {
        if (retries < 0) throw NgspiceError(fmt::format("WorkerPool::run_batch: retries must be >= 0, got {}", retries));
        // A batch interrupted by an exception (from the hook) may have left requests in
        // flight: start those workers afresh so stale replies cannot be misattributed.
        for (auto& w : workers_)
            if (w.busy) reap(w);

        std::vector<WorkerOutcome> out(requests.size());
        std::deque<std::size_t> pending;
        for (std::size_t i = 0; i < requests.size(); ++i) pending.push_back(i);
        std::size_t done = 0;
        auto finish = [&](std::size_t idx, bool ok, std::string error, bool timed_out = false) {
            out[idx].ok = ok;
            out[idx].error = std::move(error);
            out[idx].timed_out = timed_out;
            ++done;
        };
        // A worker is gone: restart later; retry its request or give up on it.
        auto lost = [&](Worker& w, const std::string& why) {
            const bool busy = w.busy;
            const std::size_t idx = w.request;
            const pid_t pid = w.pid;
            const std::string how = reap(w);
            if (!busy) return;
            const std::string what = fmt::format("worker pid {} {}{}", pid, how, why.empty() ? "" : ": " + why);
            if (out[idx].attempts <= retries) {
                pending.push_front(idx);
            } else {
                finish(idx, false, fmt::format("{} while running the request (attempt {} of {})", what,
                                               out[idx].attempts, retries + 1));
            }
        };

        while (done < requests.size()) {
            // 1. Give every idle worker a request (starting a worker where needed).
            for (auto& w : workers_) {
                if (pending.empty()) break;
                if (w.busy) continue;
                if (w.pid == 0) {
                    try {
                        spawn(w);
                        ++restarts_;
                    } catch (const NgspiceError& e) {
                        const std::size_t idx = pending.front();
                        pending.pop_front();
                        ++out[idx].attempts;
                        finish(idx, false, e.what());
                        continue;
                    }
                }
                const std::size_t idx = pending.front();
                pending.pop_front();
                const SimulationRequest& request = requests[idx];
                ++out[idx].attempts;
                w.busy = true;
                w.request = idx;
                w.outbox += detail::encode_request(request);
                const double limit = std::isfinite(request.timeout_s) && request.timeout_s > 0
                                         ? std::min(request.timeout_s, 1e7)
                                         : 1e7;
                w.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
                if (hook_) hook_(idx, out[idx].attempts, static_cast<int>(w.pid));
                if (!flush(w)) lost(w, "connection broken");
            }
            if (done >= requests.size()) break;

            // 2. Wait for replies, writable sockets or the nearest deadline.
            std::vector<pollfd> fds;
            std::vector<Worker*> owners;
            auto wake = Clock::now() + std::chrono::seconds(1);
            for (auto& w : workers_) {
                if (w.pid == 0) continue;
                short events = POLLIN;
                if (!w.outbox.empty()) events |= POLLOUT;
                fds.push_back(pollfd{w.fd, events, 0});
                owners.push_back(&w);
                if (w.busy) wake = std::min(wake, w.deadline);
            }
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now()).count();
            const int timeout_ms = static_cast<int>(std::clamp<long long>(wait, 0, 1000));
            if (!fds.empty()) {
                const int n = ::poll(fds.data(), fds.size(), timeout_ms);
                if (n < 0 && errno != EINTR)
                    throw NgspiceError(fmt::format("WorkerPool: poll failed: {}", std::strerror(errno)));
            } else if (!pending.empty()) {
                continue;  // every slot is empty: the next pass starts workers
            }

            // 3. Handle what arrived.
            for (std::size_t k = 0; k < fds.size(); ++k) {
                Worker& w = *owners[k];
                if (w.pid == 0) continue;
                if ((fds[k].revents & POLLOUT) && !flush(w)) {
                    lost(w, "connection broken");
                    continue;
                }
                if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                std::string why;
                const bool alive = receive(w, why);
                try {  // frames first: a worker may answer just before it dies
                    while (auto frame = detail::take_frame(w.inbox)) {
                        switch (frame->kind) {
                        case detail::FrameKind::Ready: w.ready = true; break;
                        case detail::FrameKind::InitFailed: w.init_error = detail::Reader(frame->payload).str(); break;
                        case detail::FrameKind::Result:
                            if (w.busy) {
                                out[w.request].result = detail::decode_result(frame->payload);
                                w.busy = false;
                                finish(w.request, true, {});
                            }
                            break;
                        case detail::FrameKind::Failure:
                            if (w.busy) {
                                const NgspiceError e = detail::decode_failure(frame->payload);
                                w.busy = false;
                                finish(w.request, false, e.what());
                            }
                            break;
                        default: throw NgspiceError("unexpected message from nladc-spice-worker");
                        }
                    }
                } catch (const NgspiceError& e) {  // a corrupt stream: treat as a dead worker
                    lost(w, e.what());
                    continue;
                }
                if (!alive) lost(w, !why.empty() ? why : w.init_error.empty() ? "" : "ngspice failed to load: " + w.init_error);
            }

            // 4. Deadlines: SIGKILL, report, restart later. Timeouts are not retried.
            const auto now = Clock::now();
            for (auto& w : workers_) {
                if (w.pid == 0 || !w.busy || now < w.deadline) continue;
                const std::size_t idx = w.request;
                const pid_t pid = w.pid;
                reap(w);
                finish(idx, false, fmt::format("timed out after {:g} s (worker pid {} killed)", requests[idx].timeout_s, pid),
                       true);
            }
        }
        // Bring the pool back to full strength for the next batch (not waiting for Ready).
        for (auto& w : workers_)
            if (w.pid == 0) {
                try {
                    spawn(w);
                    ++restarts_;
                } catch (const NgspiceError&) {  // reported when the slot is next needed
                }
            }
        return out;
    }

    void set_hook(DispatchHook hook) { hook_ = std::move(hook); }
    int size() const { return static_cast<int>(workers_.size()); }
    std::vector<int> pids() const
    {
        std::vector<int> p;
        for (const auto& w : workers_) p.push_back(static_cast<int>(w.pid));
        return p;
    }
    int restarts() const { return restarts_; }

private:
    /// Starts a worker in slot `w`. Throws NgspiceError when it cannot be started.
    void spawn(Worker& w)
    {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            throw NgspiceError(fmt::format("WorkerPool: socketpair failed: {}", std::strerror(errno)));
        int child = sv[1];
        if (child <= kWorkerFd) {  // keep the dup2 below away from fds 0..3
            const int moved = ::fcntl(child, F_DUPFD_CLOEXEC, kWorkerFd + 1);
            ::close(child);
            child = moved;
        }
        if (child < 0) {
            ::close(sv[0]);
            throw NgspiceError(fmt::format("WorkerPool: fcntl failed: {}", std::strerror(errno)));
        }

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, child, kWorkerFd);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, 2, 1);  // stray prints go to our stderr, never into the protocol
        posix_spawn_file_actions_addclosefrom_np(&actions, kWorkerFd + 1);

        std::string fd_arg = std::to_string(kWorkerFd);
        std::string exe = executable_;
        std::string fd_flag = "--fd";
        char* argv[] = {exe.data(), fd_flag.data(), fd_arg.data(), nullptr};
        std::vector<std::string> env_strings;
        for (char** e = environ; e && *e; ++e)
            if (std::strncmp(*e, "OMP_NUM_THREADS=", 16) != 0) env_strings.emplace_back(*e);
        env_strings.emplace_back("OMP_NUM_THREADS=1");
        std::vector<char*> envp;
        for (auto& s : env_strings) envp.push_back(s.data());
        envp.push_back(nullptr);

        // A clean signal state: nothing blocked, every handler at its default.
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        sigdelset(&all, SIGKILL);
        sigdelset(&all, SIGSTOP);
        posix_spawnattr_setsigmask(&attributes, &none);
        posix_spawnattr_setsigdefault(&attributes, &all);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        pid_t pid = 0;
        const int rc = ::posix_spawn(&pid, executable_.c_str(), &actions, &attributes, argv, envp.data());
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
        ::close(child);
        if (rc != 0) {
            ::close(sv[0]);
            throw NgspiceError(fmt::format("cannot start the ngspice worker {}: {} (set NLADC_SPICE_WORKER or build the "
                                           "nladc_spice_worker target)",
                                           executable_, std::strerror(rc)));
        }
        ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
        w = Worker{};
        w.pid = pid;
        w.fd = sv[0];
    }

    /// Sends what is queued for `w` without blocking; false when the worker is gone.
    static bool flush(Worker& w)
    {
        while (!w.outbox.empty()) {
            const ssize_t n = ::send(w.fd, w.outbox.data(), w.outbox.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            if (n <= 0) return false;
            w.outbox.erase(0, static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads what is available; false at end of stream or on an error (`why` says which).
    static bool receive(Worker& w, std::string& why)
    {
        char chunk[65536];
        for (;;) {
            const ssize_t n = ::read(w.fd, chunk, sizeof chunk);
            if (n > 0) {
                w.inbox.append(chunk, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            if (n < 0) why = std::strerror(errno);
            return false;
        }
    }

    /// SIGKILLs and reaps the worker in slot `w`, leaving the slot empty. Returns how it ended.
    static std::string reap(Worker& w)
    {
        std::string how = "ended";
        if (w.pid > 0) {
            ::kill(w.pid, SIGKILL);
            int status = 0;
            pid_t r;
            do {
                r = ::waitpid(w.pid, &status, 0);
            } while (r < 0 && errno == EINTR);
            how = r == w.pid ? describe_status(status) : "ended (exit status unavailable)";
        }
        if (w.fd >= 0) ::close(w.fd);
        w = Worker{};
        return how;
    }

    /// Waits for every worker's Ready frame. Throws NgspiceError when one fails.
    void wait_until_ready()
    {
        const auto limit = Clock::now() + kStartupLimit;
        for (;;) {
            std::vector<pollfd> fds;
            std::vector<Worker*> owners;
            for (auto& w : workers_)
                if (!w.ready) {
                    fds.push_back(pollfd{w.fd, POLLIN, 0});
                    owners.push_back(&w);
                }
            if (fds.empty()) return;
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(limit - Clock::now()).count();
            if (left <= 0)
                throw NgspiceError(fmt::format("the ngspice worker {} did not start within {} s", executable_,
                                               std::chrono::duration_cast<std::chrono::seconds>(kStartupLimit).count()));
            const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 1000)));
            if (n < 0 && errno != EINTR) throw NgspiceError(fmt::format("WorkerPool: poll failed: {}", std::strerror(errno)));
            for (std::size_t k = 0; k < fds.size(); ++k) {
                if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                Worker& w = *owners[k];
                std::string why;
                const bool alive = receive(w, why);
                while (auto frame = detail::take_frame(w.inbox)) {
                    if (frame->kind == detail::FrameKind::Ready) w.ready = true;
                    if (frame->kind == detail::FrameKind::InitFailed) w.init_error = detail::Reader(frame->payload).str();
                }
                if (!w.init_error.empty())
                    throw NgspiceError(fmt::format("the ngspice worker {} could not load ngspice: {}", executable_, w.init_error));
                if (!alive) {
                    const std::string how = reap(w);
                    throw NgspiceError(fmt::format("the ngspice worker {} {} while starting{}", executable_, how,
                                                   why.empty() ? "" : ": " + why));
                }
            }
        }
    }

    /// Closes every socket (workers exit on end of stream), waits, then SIGKILLs stragglers.
    void shutdown()
    {
        for (auto& w : workers_)
            if (w.fd >= 0) {
                ::close(w.fd);
                w.fd = -1;
            }
        const auto limit = Clock::now() + kShutdownGrace;
        for (auto& w : workers_) {
            if (w.pid <= 0) continue;
            for (;;) {
                int status = 0;
                const pid_t r = ::waitpid(w.pid, &status, WNOHANG);
                if (r == w.pid || (r < 0 && errno != EINTR)) break;
                if (Clock::now() >= limit) {
                    ::kill(w.pid, SIGKILL);
                    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
                    }
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            w.pid = 0;
        }
    }

    std::string executable_;
    std::vector<Worker> workers_;
    DispatchHook hook_;
    int restarts_ = 0;
};

WorkerPool::WorkerPool(int workers, std::string worker_executable)
    : impl_(std::make_unique<Impl>(workers, std::move(worker_executable)))
{
}
WorkerPool::~WorkerPool() = default;

std::vector<WorkerOutcome> WorkerPool::run_batch(const std::vector<SimulationRequest>& requests, int retries)
{
    return impl_->run_batch(requests, retries);
}

void WorkerPool::set_dispatch_hook(DispatchHook hook) { impl_->set_hook(std::move(hook)); }
int WorkerPool::size() const { return impl_->size(); }
std::vector<int> WorkerPool::worker_pids() const { return impl_->pids(); }
int WorkerPool::restarts() const { return impl_->restarts(); }

}  // namespace nladc::spice
