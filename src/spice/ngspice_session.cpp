// NgspiceSession: one in-process libngspice, loaded with dlopen, recovered by reloading.
//
// Facts this file relies on (ngspice 39, measured): return codes are unreliable, so
// failures are read from the "stderr ..." lines of the SendChar callback (by
// ngspice_diagnosis.cpp); ControlledExit leaves the library's static state corrupt (the
// next circuit double-frees), so after it the library is dlclosed and loaded afresh;
// `remcirc` + `destroy all` after every run keep memory flat; BSIM4's OpenMP needs
// `set num_threads=1` to avoid slowdowns.
#include <dlfcn.h>
#include <link.h>
#include <locale.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#define XSPICE
#include <ngspice/sharedspice.h>

#include "nladc/spice/ngspice.hpp"
#include "ngspice_diagnosis.hpp"

// LeakSanitizer and libngspice. ngspice never frees part of its state (plots,
// parser tables, the copies it keeps after a ControlledExit), and once the library is
// dlclosed LeakSanitizer can neither see its globals (so everything it still owned
// looks leaked) nor symbolize or suppress its frames ("<unknown module>"). A
// suppressions file cannot match those frames, so instead every call into libngspice
// (and ngspice's own background thread, from start to end) runs inside
// __lsan_disable()/__lsan_enable(): exactly the allocations libngspice makes are
// exempt, and everything nladc allocates is still checked.
#if defined(__SANITIZE_ADDRESS__)
#define NLADC_NGSPICE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define NLADC_NGSPICE_LSAN 1
#endif
#endif
#ifdef NLADC_NGSPICE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

namespace nladc::spice {

using detail::Diagnosis;
using detail::diagnose;
using detail::make_error;
using detail::Netlist;
using detail::output_tail;
using detail::split_netlist;

namespace {

using Clock = std::chrono::steady_clock;

/// How long ngspice's background thread may take to start, or to end after its last callback.
constexpr std::chrono::milliseconds kThreadExitLimit{2000};

// ---------------------------------------------------------------------------------
// Per-thread scope for calls into libngspice: LeakSanitizer exemption (see top) and
// the "C" locale (ngspice parses and prints numbers with the C library).

#ifdef NLADC_NGSPICE_LSAN
/// Set on ngspice's background thread while it is exempt (between its two BGThreadRunning calls).
thread_local bool t_background_exempt = false;
#endif

class NgspiceScope {
public:
    explicit NgspiceScope(locale_t c_locale) : old_(c_locale ? uselocale(c_locale) : nullptr)
    {
#ifdef NLADC_NGSPICE_LSAN
        __lsan_disable();
#endif
    }
    ~NgspiceScope()
    {
#ifdef NLADC_NGSPICE_LSAN
        __lsan_enable();
#endif
        if (old_) uselocale(old_);
    }
    NgspiceScope(const NgspiceScope&) = delete;
    NgspiceScope& operator=(const NgspiceScope&) = delete;

private:
    locale_t old_;
};

template <class F>
F symbol(void* handle, const char* name, const std::string& library)
{
    void* p = dlsym(handle, name);
    if (!p) throw NgspiceError(fmt::format("{} has no symbol {} (not a libngspice shared library?)", library, name));
    F f;
    static_assert(sizeof f == sizeof p);
    std::memcpy(&f, &p, sizeof f);
    return f;
}

/// Path of a loaded object, from the dynamic linker.
std::string loaded_path(void* handle)
{
    link_map* map = nullptr;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name) return map->l_name;
    return {};
}

/// Copies `source` to a new file in $TMPDIR (its name keeps "libngspice" in it).
std::string private_copy_of(const std::string& source)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir = fs::temp_directory_path(ec);
    std::string name = ((ec ? fs::path("/tmp") : dir) / "nladc-libngspice-XXXXXX").string();
    const int fd = mkstemp(name.data());
    if (fd < 0) throw NgspiceError(fmt::format("cannot create a private copy of {} in {}: {}", source, name, std::strerror(errno)));
    close(fd);
    fs::copy_file(source, name, fs::copy_options::overwrite_existing, ec);
    if (ec) {
        unlink(name.c_str());
        throw NgspiceError(fmt::format("cannot copy {} to {}: {}", source, name, ec.message()));
    }
    return name;
}

// ---------------------------------------------------------------------------------

/// One loaded copy of libngspice plus the state its callbacks write. Heap-allocated
/// and never moved: its address is ngspice's userData.
struct Library {
    void* handle = nullptr;
    std::string name;      ///< what was loaded (a name for dlopen, or a private copy's path)
    bool private_copy = false;
    locale_t c_locale = nullptr;

    decltype(&ngSpice_Init) init = nullptr;
    decltype(&ngSpice_Circ) circ = nullptr;
    decltype(&ngSpice_Command) command_fn = nullptr;
    decltype(&ngGet_Vec_Info) vec_info = nullptr;
    decltype(&ngSpice_CurPlot) cur_plot = nullptr;
    decltype(&ngSpice_AllVecs) all_vecs = nullptr;

    std::mutex mutex;  // guards everything below (ngspice's background thread writes it)
    std::condition_variable changed;
    std::vector<std::string> output;
    std::uint64_t bg_starts = 0, bg_ends = 0;
    pid_t bg_tid = 0;  ///< kernel id of ngspice's latest background thread
    bool exit_requested = false, exit_on_quit = false;
    int exit_status = 0;

    Library() = default;
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;
    ~Library()
    {
        if (c_locale) freelocale(c_locale);
    }

    /// Sends one command (synchronous unless it starts with "bg_").
    void command(const std::string& text)
    {
        std::string buffer = text;
        NgspiceScope scope(c_locale);
        command_fn(buffer.data());
    }

    bool exited()
    {
        std::lock_guard lock(mutex);
        return exit_requested;
    }

    std::vector<std::string> output_copy()
    {
        std::lock_guard lock(mutex);
        return output;
    }

    /// Waits until ngspice's background thread has really terminated: after its last
    /// callback it still runs a few instructions of library code (and bg_halt does not
    /// reliably join it), so unloading the library earlier crashes that thread. False
    /// when it is still alive after `limit`.
    bool background_gone(std::chrono::milliseconds limit)
    {
        pid_t tid = 0;
        {
            std::lock_guard lock(mutex);
            tid = bg_tid;
        }
        if (tid == 0) return true;
        const auto until = Clock::now() + limit;
        while (syscall(SYS_tgkill, getpid(), tid, 0) == 0) {
            if (Clock::now() >= until) return false;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        std::lock_guard lock(mutex);
        if (bg_tid == tid) bg_tid = 0;
        return true;
    }

    // Callbacks (ngspice's typedefs; `user` is the Library).
    static int on_char(char* text, int, void* user)
    {
        auto* lib = static_cast<Library*>(user);
        std::lock_guard lock(lib->mutex);
        lib->output.emplace_back(text ? text : "");
        return 0;
    }
    static int on_stat(char*, int, void*) { return 0; }
    static int on_exit(int status, NG_BOOL, NG_BOOL quit, int, void* user)
    {
        auto* lib = static_cast<Library*>(user);
        std::lock_guard lock(lib->mutex);
        lib->exit_requested = true;
        lib->exit_on_quit = quit;
        lib->exit_status = status;
        lib->changed.notify_all();
        return 0;
    }
    /// Called on ngspice's background thread itself: `finished` false when it starts,
    /// true when it ends (also before a ControlledExit on that thread).
    static int on_background(NG_BOOL finished, int, void* user)
    {
        auto* lib = static_cast<Library*>(user);
        if (!finished) {
            {
                std::lock_guard lock(lib->mutex);
                lib->bg_tid = static_cast<pid_t>(syscall(SYS_gettid));
            }
            if (lib->c_locale) uselocale(lib->c_locale);
#ifdef NLADC_NGSPICE_LSAN
            if (!t_background_exempt) {
                __lsan_disable();
                t_background_exempt = true;
            }
#endif
        } else {
#ifdef NLADC_NGSPICE_LSAN
            if (t_background_exempt) {
                t_background_exempt = false;
                __lsan_enable();
            }
#endif
        }
        std::lock_guard lock(lib->mutex);
        (finished ? lib->bg_ends : lib->bg_starts) += 1;
        lib->changed.notify_all();
        return 0;
    }
};

/// Loads and initialises a fresh copy of the library `name`. If a library of that name
/// is already resident in the process (another session, an abandoned copy, or a
/// dlclose that did not unload), dlopen would hand back the same, shared static state,
/// so a private copy of the file `source` is loaded instead. `source` is the library's
/// file: filled in by the first load, when empty.
std::unique_ptr<Library> load_library(const std::string& name, std::string& source)
{
    auto lib = std::make_unique<Library>();
    lib->c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
    std::string path = name;
    void* resident = nullptr;
    {
        NgspiceScope scope(lib->c_locale);
        resident = dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD);
    }
    if (resident) {
        const std::string loaded = loaded_path(resident);
        {
            NgspiceScope scope(lib->c_locale);
            dlclose(resident);
        }
        if (source.empty()) {
            std::error_code ec;
            // Private copies are unlinked once loaded; only a real file can be copied.
            if (loaded.empty() || !std::filesystem::exists(loaded, ec))
                throw NgspiceError(fmt::format("cannot find the file of the already loaded {} to load a private copy; "
                                               "set NLADC_NGSPICE_LIBRARY to its path",
                                               name));
            source = loaded;
        }
        path = private_copy_of(source);
        lib->private_copy = true;
    }
    {
        NgspiceScope scope(lib->c_locale);
        lib->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    }
    if (lib->private_copy) unlink(path.c_str());  // the mapping stays valid
    if (!lib->handle) {
        const char* why = dlerror();
        throw NgspiceError(fmt::format("cannot load {}: {} (Debian: apt-get install libngspice0)", path,
                                       why ? why : "unknown dlopen error"));
    }
    lib->name = path;
    if (source.empty()) source = loaded_path(lib->handle);
    {
        // libgomp (ngspice's OpenMP runtime) must outlive every ngspice copy: unloading
        // it while its thread pool exists would crash. Pin it for the process lifetime.
        NgspiceScope scope(lib->c_locale);
        if (void* gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)) dlclose(gomp);
    }
    try {
        lib->init = symbol<decltype(lib->init)>(lib->handle, "ngSpice_Init", lib->name);
        lib->circ = symbol<decltype(lib->circ)>(lib->handle, "ngSpice_Circ", lib->name);
        lib->command_fn = symbol<decltype(lib->command_fn)>(lib->handle, "ngSpice_Command", lib->name);
        lib->vec_info = symbol<decltype(lib->vec_info)>(lib->handle, "ngGet_Vec_Info", lib->name);
        lib->cur_plot = symbol<decltype(lib->cur_plot)>(lib->handle, "ngSpice_CurPlot", lib->name);
        lib->all_vecs = symbol<decltype(lib->all_vecs)>(lib->handle, "ngSpice_AllVecs", lib->name);
        // ngSpice_Init installs its own SIGINT handler (which would dangle after a
        // dlclose); keep the caller's.
        struct sigaction saved {};
        sigaction(SIGINT, nullptr, &saved);
        {
            NgspiceScope scope(lib->c_locale);
            lib->init(&Library::on_char, &Library::on_stat, &Library::on_exit, nullptr, nullptr,
                      &Library::on_background, lib.get());
        }
        sigaction(SIGINT, &saved, nullptr);
        if (lib->exited()) throw NgspiceError("ngspice exited during initialisation", "", 0, "", output_tail(lib->output_copy()));
        lib->command("set num_threads=1");  // BSIM4's OpenMP: 30x slower under contention otherwise
    } catch (...) {
        NgspiceScope scope(lib->c_locale);
        dlclose(lib->handle);
        throw;
    }
    return lib;
}

}  // namespace

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
