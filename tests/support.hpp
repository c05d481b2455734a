#pragma once
// Test helpers: a scratch directory per test, and running the nladc executable.

#include <sys/resource.h>
#include <sys/wait.h>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "launcher.hpp"

namespace nladc::test {

/// A fresh directory under the system temp dir, removed at scope exit.
class ScratchDir {
public:
    ScratchDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "nladc-test-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~ScratchDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline std::string slurp(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

inline void write_text(const std::filesystem::path& file, const std::string& text)
{
    std::ofstream(file, std::ios::binary) << text;
}

struct CliResult {
    int exit_code = -1;
    std::string out, err;
    long max_rss_kib = 0;  ///< ru_maxrss of the child (includes this process's RSS; see run_cli_peak_rss)
};

/// build/nladc running in the background (no shell), its output captured.
class CliProcess {
public:
    /// `file_size_limit` >= 0 sets RLIMIT_FSIZE (bytes) in the child, with SIGXFSZ ignored,
    /// so a write beyond it fails with EFBIG instead of killing the process.
    explicit CliProcess(const std::vector<std::string>& args, long long file_size_limit = -1)
    {
        std::vector<std::string> argv = {NLADC_CLI_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        start(argv, file_size_limit);
    }
    /// Runs `argv` as given (argv[0] is the program).
    struct Program {
        std::vector<std::string> argv;
    };
    explicit CliProcess(const Program& program) { start(program.argv, -1); }
    CliProcess(const CliProcess&) = delete;
    CliProcess& operator=(const CliProcess&) = delete;
    ~CliProcess()
    {
        if (!waited_) {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }
    pid_t pid() const { return pid_; }
    void signal(int number) { ::kill(pid_, number); }
    /// Waits for the exit; exit_code is 128 + signal for a killed process.
    CliResult wait()
    {
        CliResult result;
        int status = 0;
        struct rusage usage {};
        ::wait4(pid_, &status, 0, &usage);
        waited_ = true;
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        result.max_rss_kib = usage.ru_maxrss;
        result.out = slurp(capture_ / "stdout");
        result.err = slurp(capture_ / "stderr");
        return result;
    }

private:
    void start(std::vector<std::string> argv, long long file_size_limit)
    {
        const auto out_path = capture_ / "stdout", err_path = capture_ / "stderr";
        pid_ = ::fork();
        if (pid_ == 0) {
            // dup2, not freopen: freopen would flush the parent's buffered stdout a second time.
            const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
            std::vector<char*> pointers;
            for (auto& a : argv) pointers.push_back(a.data());
            pointers.push_back(nullptr);
            if (file_size_limit >= 0) {
                const struct rlimit limit = {static_cast<rlim_t>(file_size_limit), static_cast<rlim_t>(file_size_limit)};
                ::setrlimit(RLIMIT_FSIZE, &limit);
                std::signal(SIGXFSZ, SIG_IGN);  // an ignored disposition survives exec
            }
            ::execv(pointers[0], pointers.data());
            ::_exit(127);
        }
    }

    ScratchDir capture_;
    pid_t pid_ = -1;
    bool waited_ = false;
};

/// run_cli, with `max_rss_kib` the peak RSS of nladc alone. The ru_maxrss of a child of
/// this process would include this process's RSS: Linux records the parent's high-water
/// mark when the child execs, after fork, vfork and posix_spawn alike (measured: a parent
/// holding 500 MB gives /bin/true 512 MB). So nladc is started by a freshly exec'd copy of
/// the test binary, which is small.
inline CliResult run_cli_peak_rss(const std::vector<std::string>& args)
{
    ScratchDir dir;
    const auto report = dir / "peak_rss_kib";
    std::vector<std::string> argv = {"/proc/self/exe", kPeakRssLauncher, report.string(), NLADC_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    CliResult result = CliProcess(CliProcess::Program{argv}).wait();
    std::ifstream(report) >> result.max_rss_kib;
    return result;
}

/// Runs build/nladc with `args` (no shell), capturing stdout and stderr.
inline CliResult run_cli(const std::vector<std::string>& args) { return CliProcess(args).wait(); }

/// Comma-separated rows (no quoting: the files nladc writes have none).
inline std::vector<std::vector<std::string>> parse_csv(const std::string& text)
{
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> fields;
        std::istringstream fields_in(line);
        for (std::string f; std::getline(fields_in, f, ',');) fields.push_back(f);
        rows.push_back(fields);
    }
    return rows;
}

inline std::size_t count_lines(const std::string& text)
{
    std::size_t lines = 0;
    for (char c : text) lines += c == '\n';
    return lines;
}

}  // namespace nladc::test
