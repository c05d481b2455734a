// The flow's stage runner (stage_runner.hpp).
#include "stage_runner.hpp"

#include <fmt/format.h>

#include "nladc/core/error.hpp"
#include "nladc/core/sha256.hpp"
#include "nladc/core/version.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::flow_detail {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

namespace {

void write_stamp(const fs::path& stamp, const std::string& name, const std::string& key, bool complete, double seconds)
{
    io::OrderedJson j;
    j["stage"] = name;
    j["key"] = key;
    j["complete"] = complete;
    j["seconds"] = seconds;
    j["nladc_version"] = std::string(version());
    io::write_file_atomic(stamp, io::dump_json(j));
}

}  // namespace

StageRunner::StageRunner(const fs::path& root, const FlowOptions& options, FlowResult& result)
    : root_(root), options_(options), result_(result)
{
}

std::string StageRunner::run(const std::string& name, const fs::path& dir, const std::string& key_material,
                             const std::function<void()>& work, bool resumable)
{
    const std::string key = sha256_hex(fmt::format("{}\n{}\n{}", name, version(), key_material));
    const fs::path stamp = dir / "stage.json";
    const auto start = Clock::now();
    FlowStageRun record{name, fs::relative(dir, root_).string(), false, 0.0};
    io::Json previous;
    if (fs::exists(stamp)) {
        try {
            previous = io::read_json_file(stamp);
        } catch (const Error&) {
            previous = io::Json();  // an unreadable stamp: redo the stage
        }
    }
    const bool same_key = previous.is_object() && previous.value("key", std::string()) == key;
    if (!options_.force && same_key && previous.value("complete", false) && fs::exists(dir / "section.md")) {
        record.reused = true;
        record.seconds = previous.value("seconds", 0.0);
        note(fmt::format("{}: reused ({})", name, record.directory));
    } else {
        if (!(resumable && same_key && !options_.force)) fs::remove_all(dir);
        fs::create_directories(dir);
        write_stamp(stamp, name, key, false, 0.0);
        note(fmt::format("{}: running ({})", name, record.directory));
        work();
        record.seconds = seconds_since(start);
        write_stamp(stamp, name, key, true, record.seconds);
        note(fmt::format("{}: done in {:.1f} s", name, record.seconds));
    }
    result_.stages.push_back(record);
    sections_.push_back(dir / "section.md");
    return key;
}

void StageRunner::note(const std::string& message) const
{
    if (options_.progress)
        options_.progress(fmt::format("flow [{:6.1f} s] {}", seconds_since(started_), message));
}

}  // namespace nladc::flow_detail
