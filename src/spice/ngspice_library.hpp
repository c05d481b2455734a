#pragma once
// Private to src/spice: one loaded copy of libngspice (dlopen), the state its callbacks write.
//
// LeakSanitizer and libngspice. ngspice never frees part of its state (plots,
// parser tables, the copies it keeps after a ControlledExit), and once the library is
// dlclosed LeakSanitizer can neither see its globals (so everything it still owned
// looks leaked) nor symbolize or suppress its frames ("<unknown module>"). A
// suppressions file cannot match those frames, so instead every call into libngspice
// (and ngspice's own background thread, from start to end) runs inside
// __lsan_disable()/__lsan_enable(): exactly the allocations libngspice makes are
// exempt, and everything nladc allocates is still checked.

#include <locale.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#define XSPICE
#include <ngspice/sharedspice.h>

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

namespace nladc::spice::detail {

using Clock = std::chrono::steady_clock;

/// How long ngspice's background thread may take to start, or to end after its last callback.
inline constexpr std::chrono::milliseconds kThreadExitLimit{2000};

// ---------------------------------------------------------------------------------
// Per-thread scope for calls into libngspice: LeakSanitizer exemption (see top) and
// the "C" locale (ngspice parses and prints numbers with the C library).

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

/// One loaded copy of libngspice plus the state its callbacks write. Heap-allocated
/// and never moved: its address is ngspice's userData.
/// (Not spice::Library, the model library of nladc/spice/library.hpp.)
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
    bool background_gone(std::chrono::milliseconds limit);

    // Callbacks (ngspice's typedefs; `user` is the Library).
    static int on_char(char* text, int, void* user);
    static int on_stat(char*, int, void*);
    static int on_exit(int status, NG_BOOL, NG_BOOL quit, int, void* user);
    /// Called on ngspice's background thread itself: `finished` false when it starts,
    /// true when it ends (also before a ControlledExit on that thread).
    static int on_background(NG_BOOL finished, int, void* user);
};

/// Loads and initialises a fresh copy of the library `name`. If a library of that name
/// is already resident in the process (another session, an abandoned copy, or a
/// dlclose that did not unload), dlopen would hand back the same, shared static state,
/// so a private copy of the file `source` is loaded instead. `source` is the library's
/// file: filled in by the first load, when empty.
std::unique_ptr<Library> load_library(const std::string& name, std::string& source);

}  // namespace nladc::spice::detail
