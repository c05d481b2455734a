// Steps on a design or a technology as a whole (steps/study_steps.hpp).
#include "nladc/steps/study_steps.hpp"

#include <algorithm>

#include "nladc/documents/technology_file.hpp"
#include "nladc/spice/netlist.hpp"

namespace nladc::steps {

CharacterizeResult run_characterize(const CharacterizeRequest& request)
{
    const LoadedDesign loaded = load_design(request.evaluation.design_file, request.evaluation.tech_file);
    CharacterizeOptions options = request.options;
    options.adc = adc_options(request.evaluation);
    CharacterizeResult result;
    result.characterization = characterize(loaded.record.design, loaded.tech, loaded.record.hash, options);
    write_characterization(result.characterization, request.out);
    result.array_load = array_load(result.characterization.tech);
    result.technology_note = loaded.technology_note;
    return result;
}

AreaResult run_area(const AreaRequest& request)
{
    AreaResult result;
    result.tech = load_technology(request.tech_file);
    std::vector<int> bits = request.bits;
    std::sort(bits.begin(), bits.end());
    bits.erase(std::unique(bits.begin(), bits.end()), bits.end());
    result.circuits = spice::find_circuits(request.circuits_dir);
    result.report = compare_adc_costs(result.tech, bits, result.circuits);
    if (!request.out.empty()) write_area_report(result.report, request.out);
    return result;
}

dnn::DnnResult run_dnn_study(const DnnRequest& request)
{
    dnn::DnnOptions options;
    options.progress = request.progress;
    return dnn::run_dnn(request.config, request.out, options);
}

TechResult run_tech(const TechRequest& request)
{
    TechResult result;
    if (request.defaults) result.defaults_json = io::dump_json(io::technology_to_json(Technology{}));
    if (request.describe) result.description = io::describe_technology();
    if (!request.check.empty()) result.checked = io::read_technology(request.check);
    return result;
}

}  // namespace nladc::steps
