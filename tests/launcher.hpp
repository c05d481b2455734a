#pragma once
// The test binary doubles as a small launcher that measures the peak RSS of the program
// it starts (used by run_cli_peak_rss in support.hpp; dispatched in test_main.cpp).

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace nladc::test {

/// argv[1] that turns the test binary into a launcher (tests/test_main.cpp).
inline constexpr const char* kPeakRssLauncher = "--nladc-peak-rss-launcher";

/// The launcher: runs `argv` (program first), writes its peak RSS in KiB to `report` and
/// exits like it did (128 + signal when killed).
inline int launch_and_report_peak_rss(const char* report, char* const* argv)
{
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execv(argv[0], argv);
        ::_exit(127);
    }
    int status = 0;
    struct rusage usage {};
    if (pid < 0 || ::wait4(pid, &status, 0, &usage) < 0) return 125;
    std::ofstream(report) << usage.ru_maxrss << "\n";
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace nladc::test
