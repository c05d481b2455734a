#pragma once
// Outputs are written to a temporary name in the target's directory and renamed
// into place on commit(), so a crash or an error never leaves a half-written
// file under the final name, and an earlier good file stays until replaced.

#include <filesystem>
#include <fstream>
#include <string_view>

namespace nladc::io {

class AtomicFile {
public:
    /// Opens "<target>.tmp.<pid>" for binary writing. Throws OutputError.
    explicit AtomicFile(std::filesystem::path target);
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    /// Removes the temporary file unless commit() succeeded.
    ~AtomicFile();

    std::ostream& stream() { return out_; }
    /// Flushes, checks every write succeeded, renames over the target. Throws OutputError.
    void commit();

private:
    std::filesystem::path target_, temp_;
    std::ofstream out_;
    bool committed_ = false;
};

/// Writes `content` to `target` atomically. Throws OutputError.
void write_file_atomic(const std::filesystem::path& target, std::string_view content);

/// Reads a whole file. Throws InputError naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace nladc::io
