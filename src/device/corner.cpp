// The process-corner table (device/corner.hpp): the one place corners are spelled.
#include "nladc/device/corner.hpp"

namespace nladc {

const std::vector<std::pair<Corner, std::string_view>>& Choices<Corner>::table()
{
    static const std::vector<std::pair<Corner, std::string_view>> names = {
        {Corner::tt, "TT"}, {Corner::ff, "FF"}, {Corner::ss, "SS"}};
    return names;
}

std::string_view corner_file_suffix(Corner corner)
{
    switch (corner) {
    case Corner::tt: return "tt";
    case Corner::ff: return "ff";
    case Corner::ss: return "ss";
    }
    return "tt";
}

}  // namespace nladc
