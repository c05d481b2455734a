#include "nladc/core/error.hpp"

namespace nladc {

namespace {
std::string join_location(const std::string& file, const std::string& place, const std::string& detail)
{
    std::string message = file.empty() ? std::string("<input>") : file;
    if (!place.empty()) message += ": " + place;
    return message + ": " + detail;
}
}  // namespace

InputError::InputError(std::string file, std::string place, std::string detail)
    : Error(join_location(file, place, detail)),
      file_(std::move(file)),
      place_(std::move(place)),
      detail_(std::move(detail))
{
}

OutputError::OutputError(std::string file, std::string detail)
    : Error("cannot write " + file + ": " + detail), file_(std::move(file))
{
}

}  // namespace nladc
