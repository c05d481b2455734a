#pragma once
// Typed exceptions. Each builds its one-line message from its fields, so every
// error a user sees names the file, the place in it and the offending value.
//
// Exit codes (see src/cli/main.cpp): UsageError -> 2, any other Error -> 1.

#include <stdexcept>
#include <string>

namespace nladc {

/// Base of every error nladc throws on purpose.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Wrong command-line usage: unknown flag, out-of-range flag value, missing argument.
class UsageError : public Error {
public:
    using Error::Error;
};

/// Bad input data or configuration. Message: "<file>: <place>: <detail>"
/// (the place is omitted when empty, e.g. for a missing file).
class InputError : public Error {
public:
    InputError(std::string file, std::string place, std::string detail);
    const std::string& file() const { return file_; }
    const std::string& place() const { return place_; }
    const std::string& detail() const { return detail_; }

private:
    std::string file_, place_, detail_;
};

/// An output could not be written (permission, disk full, path under a regular file).
class OutputError : public Error {
public:
    OutputError(std::string file, std::string detail);
    const std::string& file() const { return file_; }

private:
    std::string file_;
};

}  // namespace nladc
