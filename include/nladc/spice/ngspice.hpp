#pragma once
// Running ngspice netlists through libngspice, crash-proof.
//
// NgspiceSession drives one in-process copy of libngspice (loaded at run time with
// dlopen; nothing links against it). Errors are detected from ngspice's own output,
// not from its return codes, and a netlist that makes ngspice give up (a bad
// expression, `quit`) reloads a fresh copy of the library, so the session stays
// usable. WorkerPool runs batches in N `nladc-spice-worker` processes, each with its
// own session; a worker that crashes, hangs or is killed is restarted and its request
// retried, so one bad netlist never takes the caller down.
//
// Units: times in seconds (SI). Vectors are returned as ngspice stores them (V, A, s).

#include <Eigen/Core>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nladc/core/error.hpp"

namespace nladc::spice {

/// One simulation: a complete netlist and the vectors wanted back.
struct SimulationRequest {
    /// Full netlist text, title line first, analysis cards (.op/.tran/.dc/.ac) included.
    /// A missing final `.end` is added. Lines end with '\n' ("\r\n" is accepted).
    std::string netlist;
    /// Vector names to return, e.g. "time", "v(out)", "i(vsense)"; the map in the
    /// result uses these names as keys. Empty = every vector of the analysis' plot,
    /// keyed by ngspice's names ("out", "vsense#branch", "time").
    std::vector<std::string> vectors;
    /// Wall-clock limit for the run, in seconds (> 0).
    double timeout_s = 60.0;
};

/// What a successful simulation returns.
struct SimulationResult {
    /// Real parts of the requested vectors (complex AC data: real part only).
    std::map<std::string, Eigen::VectorXd> vectors;
    /// Everything ngspice printed while loading and running the netlist, one line per
    /// line, each prefixed by the stream ("stdout ..." / "stderr ...").
    std::string log;
    /// Wall-clock time of load + run + vector copy, in seconds.
    double wall_s = 0.0;
};

/// ngspice failed (or could not be loaded). Carries ngspice's own message, the netlist
/// line it names (if any), and the tail of ngspice's output.
/// what(): `ngspice: netlist "<title>": line 4 "D1 out 0 nosuch": <message>`.
class NgspiceError : public nladc::Error {
public:
    /// `line_number` is 1-based in the netlist as given (title = line 1); 0 = none.
    explicit NgspiceError(std::string message, std::string netlist_title = {}, int line_number = 0,
                          std::string netlist_line = {}, std::string output_tail = {});
    /// ngspice's message (its error lines, joined with "; "), or ours when ngspice said nothing.
    const std::string& message() const { return message_; }
    /// The netlist's title line (its first line); empty when not about a netlist.
    const std::string& netlist_title() const { return netlist_title_; }
    /// 1-based number of the offending netlist line; 0 when ngspice named none.
    int line_number() const { return line_number_; }
    /// Text of the offending netlist line as given; may be empty.
    const std::string& netlist_line() const { return netlist_line_; }
    /// The last lines ngspice printed (at most ~40), for diagnosis.
    const std::string& output_tail() const { return output_tail_; }

private:
    std::string message_, netlist_title_;
    int line_number_ = 0;
    std::string netlist_line_, output_tail_;
};

/// The shared library a session loads: env NLADC_NGSPICE_LIBRARY, else "libngspice.so.0".
std::string default_library_name();

/// One in-process libngspice instance. Not thread-safe: use it from one thread at a
/// time. libngspice keeps its state in static variables, so use one session per
/// process; a second concurrent session loads a private copy of the library file.
///
/// Recovery: when ngspice calls its ControlledExit callback (bad expression, `quit`,
/// unrecoverable error) its static state is corrupt, so the session dlcloses the
/// library and dlopens + initialises it again (verifying that the old copy was really
/// unloaded; if it is still resident, a private copy of the .so in $TMPDIR is loaded
/// instead). Timeouts: the analysis runs on ngspice's background thread (`bg_run`) and
/// is stopped with `bg_halt`; if ngspice cannot be stopped, that library copy is
/// abandoned (left loaded, never called again) and a fresh copy is loaded. The netlist
/// loading step (ngSpice_Circ, including `.control` blocks) runs synchronously and is
/// not covered by the timeout; use WorkerPool for a hard limit on everything.
///
/// Process-wide effects: the session restores the SIGINT disposition that ngSpice_Init
/// replaces, keeps libgomp loaded for the process lifetime (unloading it under live
/// OpenMP threads would crash), and runs ngspice in the "C" locale (per thread, with
/// uselocale). ngspice itself sources ./.spiceinit or ~/.spiceinit at start-up, and
/// frontend variables `set` in a netlist's .control block persist in the session.
class NgspiceSession {
public:
    /// Loads default_library_name() and initialises it. Throws NgspiceError when the
    /// library is missing (message names the library and dlerror()) or lacks a symbol.
    NgspiceSession();
    /// Loads the given library file or name (as dlopen understands it). Throws NgspiceError.
    explicit NgspiceSession(std::string library);
    ~NgspiceSession();
    NgspiceSession(NgspiceSession&&) noexcept;
    NgspiceSession& operator=(NgspiceSession&&) noexcept;
    NgspiceSession(const NgspiceSession&) = delete;
    NgspiceSession& operator=(const NgspiceSession&) = delete;

    /// Loads the netlist, runs its analysis and copies the requested vectors. Throws
    /// NgspiceError on any ngspice error (including a floating node, reported by ngspice
    /// as a singular matrix), a missing vector, a bad timeout, or when the analysis runs
    /// longer than request.timeout_s ("timed out after N s"). Afterwards (success or
    /// error) the circuit and its plots are removed and the session is usable again.
    SimulationResult run(const SimulationRequest& request);

    /// How many times the library was reloaded after a ControlledExit or abandoned
    /// after an unstoppable run.
    int reloads() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

/// Where the worker executable is: env NLADC_SPICE_WORKER, else `nladc-spice-worker`
/// beside /proc/self/exe, else in the parent directory of /proc/self/exe (the build
/// tree: build/nladc-spice-worker for build/tests/* and build/bench/*). When none
/// exists, returns the path beside /proc/self/exe (so the error names it).
std::string default_worker_path();

/// What happened to one request of a batch.
struct WorkerOutcome {
    bool ok = false;          ///< true: `result` holds the simulation
    SimulationResult result;  ///< valid when ok
    std::string error;        ///< when !ok: the NgspiceError text, "timed out after N s ...", or how the worker died
    int attempts = 0;         ///< how many times the request was sent to a worker
    bool timed_out = false;   ///< when !ok: the request hit its timeout (never retried)
};

/// N worker processes (the nladc-spice-worker executable), each with its own
/// NgspiceSession. Started with posix_spawn (never a bare fork), OMP_NUM_THREADS=1.
///
/// Protocol: one AF_UNIX stream socket per worker (the worker's fd 3; its stdin is
/// /dev/null and its stdout goes to the caller's stderr so stray library prints cannot
/// corrupt the stream); length-prefixed binary frames (see src/spice/ngspice_internal.hpp).
/// Timeout: the pool SIGKILLs a worker whose request runs past its timeout_s, reports
/// the request as timed out (not retried) and restarts the worker. A worker that dies
/// (crash, signal, broken stream) is restarted and its request retried up to `retries`
/// times, then reported failed; the rest of the batch continues. An ngspice error is
/// a result of the netlist, not of the worker: reported at once, not retried.
/// Not thread-safe: call run_batch from one thread at a time.
class WorkerPool {
public:
    /// Called on run_batch's thread each time a request is sent to a worker:
    /// (request index, attempt number starting at 1, worker process id).
    using DispatchHook = std::function<void(std::size_t request_index, int attempt, int worker_pid)>;

    /// Starts `workers` (>= 1) processes and waits until each has loaded ngspice.
    /// Throws NgspiceError when the executable cannot be started or ngspice fails to load.
    explicit WorkerPool(int workers, std::string worker_executable = default_worker_path());
    /// Closes the workers' sockets (they exit), waits up to 5 s, then SIGKILLs stragglers.
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Runs every request; outcomes in request order. A worker death costs at most
    /// `retries` (>= 0) extra attempts for the request it was running. Never throws for
    /// a failing request (see WorkerOutcome); throws NgspiceError only for a negative
    /// `retries`.
    std::vector<WorkerOutcome> run_batch(const std::vector<SimulationRequest>& requests, int retries = 1);

    /// Installs (or, with an empty function, removes) the dispatch observer, e.g. for
    /// progress reports, or for tests that kill a worker mid-run.
    void set_dispatch_hook(DispatchHook hook);

    /// Number of worker processes.
    int size() const;
    /// Process ids of the current workers (0 for a slot whose worker is not running).
    std::vector<int> worker_pids() const;
    /// How many workers were started after the initial ones (after deaths and timeouts).
    int restarts() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nladc::spice
