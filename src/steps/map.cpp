// Step `map` (steps/map.hpp).
#include "nladc/steps/map.hpp"

#include "nladc/core/error.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/steps/common.hpp"
#include "nladc/study/level_design.hpp"

namespace nladc::steps {

MapResult run_map(const MapRequest& request)
{
    const io::LevelSetRecord levels =
        request.levels ? io::LevelSetRecord{*request.levels, {}, {}} : io::read_levelset(request.levels_file, request.layer);
    const std::string levels_label = request.levels ? "level set" : request.levels_file;
    const Technology tech = load_technology(request.tech_file);
    MapResult result;
    try {
        if (request.compensate) {
            result.compensation = compensate_mapping(levels.set, tech, request.mapping);
            result.record.design = result.compensation->design;
        } else {
            result.record.design = map_levels(levels.set, tech, request.mapping);
        }
    } catch (const UsageError&) {
        throw;
    } catch (const Error& error) {
        throw InputError(levels_label, "", error.what());
    }
    const ReplicaDesign& d = result.record.design;
    if (!request.input.empty()) {
        ActivationLayer data(request.input, "", request.nonfinite);
        // After mapping: what the circuit realizes (the nominal model's thresholds when compensated).
        LevelSet realized = d.levels;
        realized.thresholds = result.compensation ? result.compensation->model_thresholds : d.realized_thresholds;
        const auto scores = data.score({d.levels, realized});
        result.record.before_mapping = scores[0];
        result.record.after_mapping = scores[1];
        result.input_label = data.label();
    }
    if (!request.out.empty()) io::write_design(request.out, result.record);
    return result;
}

}  // namespace nladc::steps
