#include "nladc/documents/technology_file.hpp"

#include "nladc/io/params_json.hpp"

namespace nladc::io {

Technology technology_from_json(const Json& object, const JsonPlace& place)
{
    reject_unknown_keys(object, place,
                        {"format", "version", "name", "device", "array", "sense", "comparator", "counter", "spice"});
    check_format_version(object, place, "nladc-technology");
    Technology tech;
    if (object.contains("device")) load_params(object["device"], place.key("device"), device_table(), tech.device);
    if (object.contains("array")) load_params(object["array"], place.key("array"), array_table(), tech.array);
    if (object.contains("sense")) load_params(object["sense"], place.key("sense"), sense_table(), tech.sense);
    if (object.contains("comparator"))
        load_params(object["comparator"], place.key("comparator"), comparator_table(), tech.comparator);
    if (object.contains("counter")) load_params(object["counter"], place.key("counter"), counter_table(), tech.counter);
    if (object.contains("spice")) load_params(object["spice"], place.key("spice"), spice_table(), tech.spice);
    if (const auto [key, reason] = find_technology_violation(tech); !key.empty())
        JsonPlace(place.file(), place.path().empty() ? key : place.path() + "." + key).fail(reason);
    return tech;
}

Technology read_technology(const std::filesystem::path& file)
{
    Technology tech = technology_from_json(read_json_file(file), JsonPlace(file.string()));
    // Library paths in a technology file are relative to the file.
    for (std::string* path : {&tech.spice.comparator_library, &tech.spice.model_library})
        if (!path->empty() && std::filesystem::path(*path).is_relative())
            *path = (file.parent_path() / *path).lexically_normal().string();
    return tech;
}

OrderedJson technology_to_json(const Technology& tech)
{
    OrderedJson j;
    j["format"] = "nladc-technology";
    j["version"] = 1;
    j["device"] = dump_params(tech.device, device_table());
    j["array"] = dump_params(tech.array, array_table());
    j["sense"] = dump_params(tech.sense, sense_table());
    j["comparator"] = dump_params(tech.comparator, comparator_table());
    j["counter"] = dump_params(tech.counter, counter_table());
    j["spice"] = dump_params(tech.spice, spice_table());
    return j;
}

std::string describe_technology()
{
    const Technology defaults;
    std::string out = "| key | unit | default | range | provenance | meaning |\n|---|---|---|---|---|---|\n";
    out += describe_params("device", defaults.device, device_table());
    out += describe_params("array", defaults.array, array_table());
    out += describe_params("sense", defaults.sense, sense_table());
    out += describe_params("comparator", defaults.comparator, comparator_table());
    out += describe_params("counter", defaults.counter, counter_table());
    out += describe_params("spice", defaults.spice, spice_table());
    return out;
}

}  // namespace nladc::io
