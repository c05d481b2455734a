#include "nladc/io/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "nladc/core/error.hpp"

namespace nladc::io {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target))
{
    temp_ = target_;
    temp_ += ".tmp." + std::to_string(::getpid());
    errno = 0;
    out_.open(temp_, std::ios::binary | std::ios::trunc);
    if (!out_) {
        const int err = errno;
        throw OutputError(target_.string(), err ? std::strerror(err) : "cannot create file");
    }
}

AtomicFile::~AtomicFile()
{
    if (committed_) return;
    out_.close();
    std::error_code ignored;
    fs::remove(temp_, ignored);
}

void AtomicFile::commit()
{
    errno = 0;
    out_.flush();
    out_.close();
    if (out_.fail()) {
        const int err = errno;
        throw OutputError(target_.string(), err ? std::strerror(err) : "write failed");
    }
    if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
        const int err = errno;
        throw OutputError(target_.string(), std::strerror(err));
    }
    committed_ = true;
}

void write_file_atomic(const fs::path& target, std::string_view content)
{
    AtomicFile file(target);
    file.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
    file.commit();
}

std::string read_file(const fs::path& path)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw InputError(path.string(), "", "is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path.string(), "", std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) throw InputError(path.string(), "", "read error");
    return buffer.str();
}

}  // namespace nladc::io
