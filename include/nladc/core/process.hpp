#pragma once
// Running an external program (sbatch, squeue, scancel) and capturing what it prints.

#include <string>
#include <vector>

namespace nladc {

struct CommandResult {
    int exit_code = 0;  ///< the program's exit status; 128 + N when signal N ended it
    std::string out, err;
};

/// Runs argv[0] (looked up in PATH) with the arguments argv[1..], stdin from /dev/null,
/// and waits for it. Throws Error naming the program when it cannot be started
/// (not installed, not executable); a non-zero exit is returned, not thrown.
CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace nladc
