#pragma once
// Private to src/flow: runs the flow's stages, skipping those whose key and outputs are
// on disk (flow/flow.hpp explains the stage keys).

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "nladc/flow/flow.hpp"

namespace nladc::flow_detail {

class StageRunner {
public:
    StageRunner(const std::filesystem::path& root, const FlowOptions& options, FlowResult& result);

    /// Returns the stage key. `resumable` stages keep their directory when an earlier
    /// run with the same key stopped midway (the Monte Carlo blocks).
    std::string run(const std::string& name, const std::filesystem::path& dir, const std::string& key_material,
                    const std::function<void()>& work, bool resumable = false);

    /// A progress message with the flow's elapsed time.
    void note(const std::string& message) const;
    /// Every stage's section.md, in run order (the report's body).
    const std::vector<std::filesystem::path>& sections() const { return sections_; }

private:
    std::filesystem::path root_;
    const FlowOptions& options_;
    FlowResult& result_;
    std::vector<std::filesystem::path> sections_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace nladc::flow_detail
