// NgspiceSession: one in-process libngspice, loaded with dlopen, recovered by reloading.
//
// Facts this file relies on (ngspice 39, measured): return codes are unreliable, so
// failures are read from the "stderr ..." lines of the SendChar callback (by
// ngspice_diagnosis.cpp); ControlledExit leaves the library's static state corrupt (the
// next circuit double-frees), so after it the library is dlclosed and loaded afresh
// (ngspice_library.cpp); `remcirc` + `destroy all` after every run keep memory flat;
// BSIM4's OpenMP needs `set num_threads=1` to avoid slowdowns.
#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "nladc/spice/ngspice.hpp"
#include "ngspice_diagnosis.hpp"
#include "ngspice_library.hpp"

namespace nladc::spice {

using detail::Clock;
using detail::Diagnosis;
using detail::diagnose;
using detail::kThreadExitLimit;
using detail::Library;
using detail::load_library;
using detail::make_error;
using detail::Netlist;
using detail::NgspiceScope;
using detail::output_tail;
using detail::split_netlist;

// ---------------------------------------------------------------------------------

std::string default_library_name()
{
    const char* env = std::getenv("NLADC_NGSPICE_LIBRARY");
    return env && *env ? std::string(env) : std::string("libngspice.so.0");
}

class NgspiceSession::Impl {
public:
    explicit Impl(std::string library) : library_(std::move(library)), lib_(load_library(library_, source_)) {}

    ~Impl() { unload(); }

    int reloads = 0;

    SimulationResult run(const SimulationRequest& request)
    {
        const auto start = Clock::now();
        const Netlist lines = split_netlist(request.netlist);
        const std::string& title = lines.title;
        if (!(request.timeout_s > 0) || !std::isfinite(request.timeout_s))
            throw NgspiceError(fmt::format("timeout_s must be a positive number of seconds, got {}", request.timeout_s), title);
        if (!lib_) {  // an earlier reload failed; try again
            lib_ = load_library(library_, source_);
        }
        Library& lib = *lib_;
        {
            std::lock_guard lock(lib.mutex);
            lib.output.clear();
        }

        // 1. Load the circuit (synchronous; .control blocks run here).
        {
            std::vector<std::string> copy = lines.sent;
            std::vector<char*> pointers;
            pointers.reserve(copy.size() + 1);
            for (auto& l : copy) pointers.push_back(l.data());
            pointers.push_back(nullptr);
            NgspiceScope scope(lib.c_locale);
            lib.circ(pointers.data());
        }
        if (lib.exited()) fail_after_exit(lines);
        check_output(lines);

        // 2. Run the analysis on ngspice's background thread, with a deadline.
        std::uint64_t starts_before = 0, ends_before = 0;
        {
            std::lock_guard lock(lib.mutex);
            starts_before = lib.bg_starts;
            ends_before = lib.bg_ends;
        }
        lib.command("bg_run");
        const auto deadline =
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(request.timeout_s));
        bool finished = false;
        {
            std::unique_lock lock(lib.mutex);
            finished = lib.changed.wait_until(lock, deadline, [&] { return lib.bg_ends > ends_before; });
        }
        if (!finished) halt_after_timeout(request.timeout_s, lines, starts_before, ends_before);
        // After a ControlledExit on that thread, its end also means the callback ran.
        if (!lib.background_gone(kThreadExitLimit)) abandon_and_throw("ngspice's background thread did not end", lines);
        if (lib.exited()) fail_after_exit(lines);
        check_output(lines);

        // 3. Copy the vectors out of the current plot.
        SimulationResult result;
        try {
            copy_vectors(request, lines, result);
        } catch (...) {
            cleanup();
            throw;
        }
        const auto output = lib.output_copy();
        for (const auto& l : output) result.log += l + '\n';
        cleanup();
        result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
        return result;
    }

private:
    /// Throws (after cleaning up) when ngspice's output so far shows an error.
    void check_output(const Netlist& lines)
    {
        const auto output = lib_->output_copy();
        Diagnosis d = diagnose(output, 0);
        if (d.message.empty()) return;
        NgspiceError error = make_error(d.message, d, lines, output);
        cleanup();
        throw error;
    }

    /// ngspice asked to be detached: its state is corrupt. Reload, then throw.
    [[noreturn]] void fail_after_exit(const Netlist& lines)
    {
        const auto output = lib_->output_copy();
        Diagnosis d = diagnose(output, 0);
        bool quit = false;
        int status = 0;
        {
            std::lock_guard lock(lib_->mutex);
            quit = lib_->exit_on_quit;
            status = lib_->exit_status;
        }
        std::string message = d.message;
        const std::string why = quit ? "the netlist executed 'quit'; ngspice asked to be unloaded, library reloaded"
                                     : fmt::format("ngspice cannot recover (controlled exit, status {}); library reloaded", status);
        message += (message.empty() ? "" : "; ") + why;
        NgspiceError error = make_error(message, d, lines, output);
        reload();
        throw error;
    }

    /// The analysis ran past its deadline: stop it with bg_halt (ngspice waits up to 1 s
    /// per try); if it cannot be stopped, abandon this library copy. Throws.
    [[noreturn]] void halt_after_timeout(double timeout_s, const Netlist& lines,
                                         std::uint64_t starts_before, std::uint64_t ends_before)
    {
        Library& lib = *lib_;
        {
            // bg_halt before the thread has started would be a no-op and let it run on.
            std::unique_lock lock(lib.mutex);
            lib.changed.wait_for(lock, kThreadExitLimit, [&] { return lib.bg_starts > starts_before; });
        }
        bool stopped = false;
        for (int attempt = 0; attempt < 3 && !stopped; ++attempt) {
            lib.command("bg_halt");
            std::unique_lock lock(lib.mutex);
            stopped = lib.changed.wait_for(lock, std::chrono::milliseconds(200), [&] { return lib.bg_ends > ends_before; });
        }
        const std::string message = fmt::format("timed out after {:g} s", timeout_s);
        if (!stopped || !lib.background_gone(kThreadExitLimit))
            abandon_and_throw(message + " (ngspice could not be stopped; that library copy was abandoned)", lines);
        if (lib.exited()) fail_after_exit(lines);
        const auto output = lib.output_copy();
        cleanup();
        throw NgspiceError(message + " (analysis interrupted with bg_halt)", title_of(lines), 0, "", output_tail(output));
    }

    /// ngspice's thread is stuck inside the library: never call or unload this copy
    /// again (its callbacks may still write into the intentionally leaked Library),
    /// load a fresh copy, and throw `message`.
    [[noreturn]] void abandon_and_throw(const std::string& message, const Netlist& lines)
    {
        const auto output = lib_->output_copy();
        abandon();
        ++reloads;
        lib_ = load_library(library_, source_);
        throw NgspiceError(message, title_of(lines), 0, "", output_tail(output));
    }

    void abandon()
    {
        Library* abandoned = lib_.release();
#ifdef NLADC_NGSPICE_LSAN
        __lsan_ignore_object(abandoned);
#endif
        (void)abandoned;
    }

    static const std::string& title_of(const Netlist& lines) { return lines.title; }

    void copy_vectors(const SimulationRequest& request, const Netlist& lines, SimulationResult& result)
    {
        Library& lib = *lib_;
        const std::string& title = lines.title;
        std::string plot;
        std::vector<std::string> available;
        {
            NgspiceScope scope(lib.c_locale);
            const char* plot_name = lib.cur_plot();
            plot = plot_name ? plot_name : "";
            if (!plot.empty() && plot != "const") {
                std::string buffer = plot;
                if (char** names = lib.all_vecs(buffer.data()))
                    for (char** n = names; *n; ++n) available.emplace_back(*n);
            }
        }
        if (available.empty())
            throw NgspiceError("ngspice produced no analysis results (is there an .op/.tran/.dc/.ac card?)", title, 0, "",
                               output_tail(lib.output_copy()));
        const std::vector<std::string>& names = request.vectors.empty() ? available : request.vectors;
        for (const auto& name : names) {
            std::string buffer = name;
            pvector_info info = nullptr;
            {
                NgspiceScope scope(lib.c_locale);
                info = lib.vec_info(buffer.data());
            }
            if (!info || info->v_length < 0 || (!info->v_realdata && !info->v_compdata && info->v_length > 0)) {
                std::string list;
                for (const auto& a : available) list += (list.empty() ? "" : ", ") + a;
                throw NgspiceError(fmt::format("no vector '{}' in plot {} (available: {})", name, plot, list), title);
            }
            Eigen::VectorXd values(info->v_length);
            for (int i = 0; i < info->v_length; ++i)
                values[i] = info->v_realdata ? info->v_realdata[i] : info->v_compdata[i].cx_real;
            result.vectors[name] = std::move(values);
        }
    }

    /// Removes the circuit and every plot (without this, memory grows by MBs per run).
    void cleanup()
    {
        if (!lib_ || lib_->exited()) return;
        lib_->command("remcirc");
        lib_->command("destroy all");
        if (lib_->exited()) reload();  // paranoia: never reuse a library that asked to exit
    }

    void reload()
    {
        ++reloads;
        unload();
        lib_ = load_library(library_, source_);
    }

    /// dlcloses the library, unless a thread of it is still alive (then it is abandoned).
    void unload()
    {
        if (!lib_) return;
        if (!lib_->background_gone(kThreadExitLimit)) {
            abandon();
            return;
        }
        {
            NgspiceScope scope(lib_->c_locale);
            dlclose(lib_->handle);
        }
        lib_.reset();
    }

    std::string library_;
    std::string source_;  // the library's file, for private copies
    std::unique_ptr<Library> lib_;
};

NgspiceSession::NgspiceSession() : NgspiceSession(default_library_name()) {}
NgspiceSession::NgspiceSession(std::string library) : impl_(std::make_unique<Impl>(std::move(library))) {}
NgspiceSession::~NgspiceSession() = default;
NgspiceSession::NgspiceSession(NgspiceSession&&) noexcept = default;
NgspiceSession& NgspiceSession::operator=(NgspiceSession&&) noexcept = default;

SimulationResult NgspiceSession::run(const SimulationRequest& request)
{
    if (!impl_) throw NgspiceError("run() on a moved-from NgspiceSession");
    return impl_->run(request);
}

int NgspiceSession::reloads() const { return impl_ ? impl_->reloads : 0; }

}  // namespace nladc::spice
