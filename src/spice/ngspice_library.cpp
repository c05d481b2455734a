// Loading libngspice with dlopen (a private copy when one is resident), and its callbacks.
#include "ngspice_library.hpp"

#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "nladc/spice/ngspice.hpp"
#include "ngspice_diagnosis.hpp"

namespace nladc::spice::detail {

namespace {

#ifdef NLADC_NGSPICE_LSAN
/// Set on ngspice's background thread while it is exempt (between its two BGThreadRunning calls).
thread_local bool t_background_exempt = false;
#endif

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

}  // namespace

bool Library::background_gone(std::chrono::milliseconds limit)
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

int Library::on_char(char* text, int, void* user)
{
    auto* lib = static_cast<Library*>(user);
    std::lock_guard lock(lib->mutex);
    lib->output.emplace_back(text ? text : "");
    return 0;
}

int Library::on_stat(char*, int, void*) { return 0; }

int Library::on_exit(int status, NG_BOOL, NG_BOOL quit, int, void* user)
{
    auto* lib = static_cast<Library*>(user);
    std::lock_guard lock(lib->mutex);
    lib->exit_requested = true;
    lib->exit_on_quit = quit;
    lib->exit_status = status;
    lib->changed.notify_all();
    return 0;
}

int Library::on_background(NG_BOOL finished, int, void* user)
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

}  // namespace nladc::spice::detail
