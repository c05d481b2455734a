// `nladc dnn` from the outside: the issue-8 table with the default config (training from
// an empty cache included), determinism across thread counts, the cache, bad inputs that
// must fail without outputs, and the optional flow stage.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../support.hpp"
#include "nladc/dnn/dataset.hpp"
#include "nladc/dnn/mlp.hpp"
#include "nladc/dnn/study.hpp"
#include "nladc/documents/levelset_file.hpp"

using namespace nladc;
using test::run_cli;
namespace fs = std::filesystem;

namespace {

/// A study small enough for every test run: a narrow network, few images, 3 chips.
nlohmann::json small_config(const fs::path& cache)
{
    return nlohmann::json::parse(fmt::format(R"({{
        "format": "nladc-dnn", "version": 1, "cache_dir": "{}",
        "calibration_images": 300, "test_images": 1000, "chips": 3, "nonideal_images": 300,
        "methods": ["linear", "bs-kmq"], "bits": [3, 4],
        "train": {{"hidden1": 32, "hidden2": 16, "epochs": 1}},
        "finetune": {{"methods": ["linear"], "bits": [3, 4], "epochs": 1}}
    }})",
                                             cache.string()));
}

/// The one file in `directory` (the weight cache of a single training).
fs::path only_file(const fs::path& directory)
{
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(directory)) files.push_back(entry.path());
    REQUIRE(files.size() == 1);
    return files.front();
}

struct Row {
    double mean = 0, std = 0;
    int trials = 0;
};

/// (method, bits, condition) -> row, checking the header.
std::map<std::tuple<std::string, int, std::string>, Row> read_table(const fs::path& csv)
{
    const auto rows = test::parse_csv(test::slurp(csv));
    REQUIRE(!rows.empty());
    REQUIRE(rows[0] == std::vector<std::string>{"method", "bits", "condition", "mean", "std", "trials"});
    std::map<std::tuple<std::string, int, std::string>, Row> table;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        REQUIRE(rows[i].size() == 6);
        const Row row{std::stod(rows[i][3]), std::stod(rows[i][4]), std::stoi(rows[i][5])};
        CHECK(row.mean >= 0.0);
        CHECK(row.mean <= 1.0);
        table[{rows[i][0], std::stoi(rows[i][1]), rows[i][2]}] = row;
    }
    return table;
}

bool is_png(const fs::path& file) { return test::slurp(file).substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8); }

}  // namespace

TEST_CASE("dnn: the default study gives the complete table from an empty cache", "[cli][dnn][slow]")
{
    test::ScratchDir dir;
    test::write_text(dir / "dnn.json", fmt::format(R"({{"cache_dir": "{}"}})", (dir / "cache").string()));
    const auto r = run_cli({"dnn", "--config", (dir / "dnn.json").string(), "--out", (dir / "out").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("training epoch 10/10") != std::string::npos);  // trained, not cached
    CHECK(r.err.find("nonideal chip 20/20") != std::string::npos);

    const auto table = read_table(dir / "out" / "accuracy.csv");
    REQUIRE(table.count({"float", 32, "float"}));
    const double float_accuracy = table.at({"float", 32, "float"}).mean;
    CHECK(float_accuracy >= 0.88);
    for (const std::string method : {"linear", "lloyd-max", "cdf", "kmeans", "bs-kmq"})
        for (int bits = 2; bits <= 6; ++bits) {
            INFO(method << " " << bits);
            REQUIRE(table.count({method, bits, "ideal"}));
            REQUIRE(table.count({method, bits, "nonideal"}));
            CHECK(table.at({method, bits, "ideal"}).trials == 1);
            CHECK(table.at({method, bits, "nonideal"}).trials >= 20);
            CHECK(table.at({method, bits, "nonideal"}).std > 0);
        }
    for (const std::string method : {"bs-kmq", "linear"})
        for (int bits : {3, 4}) {
            INFO(method << " " << bits);
            REQUIRE(table.count({method, bits, "finetuned"}));
            CHECK(table.at({method, bits, "finetuned"}).mean >= table.at({method, bits, "ideal"}).mean - 0.005);
        }
    // Quantization costs accuracy at 2 bits and (almost) none at 6.
    CHECK(table.at({"linear", 2, "ideal"}).mean < float_accuracy - 0.01);
    CHECK(table.at({"bs-kmq", 6, "ideal"}).mean > float_accuracy - 0.005);

    // The committed result (scripts/make-characterization.sh) is current. Training is
    // deterministic, but libm's exp/log may differ in the last bit between CPU types, so
    // rows are compared within 1 pp rather than byte for byte.
    const auto committed = read_table(fs::path(NLADC_SOURCE_DIR) / "characterization" / "dnn" / "accuracy.csv");
    REQUIRE(committed.size() == table.size());
    double largest = 0;
    for (const auto& [key, row] : table) {
        REQUIRE(committed.count(key));
        largest = std::max(largest, std::abs(committed.at(key).mean - row.mean));
    }
    INFO("largest difference from characterization/dnn/accuracy.csv: " << largest);
    CHECK(largest <= 0.01);

    CHECK(is_png(dir / "out" / "accuracy.png"));
    CHECK(is_png(dir / "out" / "levels_fc1.png"));
    CHECK(is_png(dir / "out" / "levels_fc2.png"));
    const std::string summary = test::slurp(dir / "out" / "summary.md");
    CHECK(summary.find("(levels_fc2.png)") != std::string::npos);
    CHECK(summary.find(fmt::format("{:.4f}", float_accuracy)) != std::string::npos);
    CHECK(summary.find("| bs-kmq |") != std::string::npos);

    // The activation dump feeds `nladc levels`, which fits the same level set as the study.
    const nlohmann::json result = nlohmann::json::parse(test::slurp(dir / "out" / "accuracy.json"));
    const double hi = result["layers"]["fc1"]["hi"].get<double>();
    const auto levels = run_cli({"levels", "--input", (dir / "out" / "activations" / "calibration.npz").string(),
                                 "--layer", "fc1", "--lo", "0", "--hi", fmt::format("{:.17g}", hi), "--bits", "4",
                                 "--method", "bs-kmq", "--out", (dir / "fc1.json").string()});
    INFO(levels.err);
    REQUIRE(levels.exit_code == 0);
    const LevelSet from_cli = io::read_levelset(dir / "fc1.json").set;
    const LevelSet from_study = io::read_levelset(dir / "out" / "levels" / "bs-kmq_4b.json", "fc1").set;
    REQUIRE(from_cli.levels.size() == from_study.levels.size());
    for (std::size_t k = 0; k < from_cli.levels.size(); ++k) CHECK(from_cli.levels[k] == Approx(from_study.levels[k]).margin(1e-6 * hi));
    CHECK(fs::file_size(dir / "out" / "activations" / "fc1.npy") == 128 + 4u * 2000u * 256u);
}

TEST_CASE("dnn: the same numbers with 1 and 2 threads, and from the weight cache", "[cli][dnn][slow]")
{
    test::ScratchDir dir;
    nlohmann::json config = small_config(dir / "cache");
    config["threads"] = 1;
    test::write_text(dir / "one.json", config.dump());
    config["threads"] = 2;
    test::write_text(dir / "two.json", config.dump());
    const auto one = run_cli({"dnn", "--config", (dir / "one.json").string(), "--out", (dir / "one").string()});
    INFO(one.err);
    REQUIRE(one.exit_code == 0);
    CHECK(one.err.find("training epoch 1/1") != std::string::npos);
    const auto two = run_cli({"dnn", "--config", (dir / "two.json").string(), "--out", (dir / "two").string()});
    INFO(two.err);
    REQUIRE(two.exit_code == 0);
    CHECK(two.err.find("weights from the cache") != std::string::npos);
    CHECK(test::slurp(dir / "one" / "accuracy.csv") == test::slurp(dir / "two" / "accuracy.csv"));
    CHECK(test::slurp(dir / "one" / "activations" / "calibration.npz") ==
          test::slurp(dir / "two" / "activations" / "calibration.npz"));
    const auto table = read_table(dir / "one" / "accuracy.csv");
    CHECK(table.size() == 1 + 2 * 2 * 2 + 2);  // float, method x bits x {ideal, nonideal}, finetuned
    CHECK(table.at({"linear", 3, "nonideal"}).trials == 3);

    SECTION("a row does not depend on which other rows the config lists")
    {
        config["methods"] = {"bs-kmq"};
        config["bits"] = {4};
        test::write_text(dir / "one_row.json", config.dump());
        const auto single = run_cli({"dnn", "--config", (dir / "one_row.json").string(), "--out", (dir / "single").string()});
        REQUIRE(single.exit_code == 0);
        const auto alone = read_table(dir / "single" / "accuracy.csv");
        for (const std::string condition : {"ideal", "nonideal"}) {
            CHECK(alone.at({"bs-kmq", 4, condition}).mean == table.at({"bs-kmq", 4, condition}).mean);
            CHECK(alone.at({"bs-kmq", 4, condition}).std == table.at({"bs-kmq", 4, condition}).std);
        }
    }
    SECTION("a rerun into the same directory replaces its outputs and keeps other files")
    {
        test::write_text(dir / "one" / "notes.txt", "mine");
        config["methods"] = {"bs-kmq"};
        config["bits"] = {4};
        test::write_text(dir / "one_row.json", config.dump());
        const auto rerun = run_cli({"dnn", "--config", (dir / "one_row.json").string(), "--out", (dir / "one").string()});
        INFO(rerun.err);
        REQUIRE(rerun.exit_code == 0);
        std::set<std::string> level_files;
        for (const auto& entry : fs::directory_iterator(dir / "one" / "levels")) level_files.insert(entry.path().filename());
        CHECK(level_files == std::set<std::string>{"bs-kmq_4b.json"});  // no file of the earlier config left
        CHECK(read_table(dir / "one" / "accuracy.csv").size() == 1 + 2 + 2);
        CHECK(test::slurp(dir / "one" / "notes.txt") == "mine");
        for (const auto& entry : fs::directory_iterator(dir.path()))
            CHECK(entry.path().filename().string().find("partial") == std::string::npos);
    }
    SECTION("a corrupt cache file is reported and replaced")
    {
        const fs::path cached = only_file(dir / "cache");
        std::string bytes = test::slurp(cached);
        bytes[bytes.size() - 80] ^= 0x01;
        test::write_text(cached, bytes);
        const auto again = run_cli({"dnn", "--config", (dir / "one.json").string(), "--out", (dir / "again").string()});
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        CHECK(again.err.find("checksum") != std::string::npos);
        CHECK(again.err.find("retraining") != std::string::npos);
        CHECK(test::slurp(dir / "again" / "accuracy.csv") == test::slurp(dir / "one" / "accuracy.csv"));
    }
    SECTION("a cache file with the right key but other layer sizes is reported and replaced")
    {
        const fs::path cached = only_file(dir / "cache");
        std::istringstream header(test::slurp(cached));
        std::string magic, version, key;
        header >> magic >> version >> key;
        dnn::Mlp other;
        for (const auto& [rows, cols] : {std::pair{8, 784}, std::pair{16, 8}, std::pair{10, 16}}) {
            dnn::DenseLayer layer;
            layer.weights = Eigen::MatrixXf::Zero(rows, cols);
            layer.bias = Eigen::VectorXf::Zero(rows);
            other.layers.push_back(layer);
        }
        dnn::save_mlp(cached, other, key);  // a valid file: only the sizes are wrong
        const auto again = run_cli({"dnn", "--config", (dir / "one.json").string(), "--out", (dir / "resized").string()});
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        CHECK(again.err.find("layer sizes 784-8-16-10 are not 784-32-16-10") != std::string::npos);
        CHECK(again.err.find("retraining") != std::string::npos);
        CHECK(test::slurp(dir / "resized" / "accuracy.csv") == test::slurp(dir / "one" / "accuracy.csv"));
    }
    SECTION("an unwritable cache directory costs a retraining, not the run")
    {
        test::write_text(dir / "file", "a regular file");
        config["cache_dir"] = (dir / "file" / "cache").string();
        test::write_text(dir / "nocache.json", config.dump());
        const auto run = run_cli({"dnn", "--config", (dir / "nocache.json").string(), "--out", (dir / "nocache").string()});
        INFO(run.err);
        REQUIRE(run.exit_code == 0);
        CHECK(run.err.find("could not be cached") != std::string::npos);
        CHECK(test::slurp(dir / "nocache" / "accuracy.csv") == test::slurp(dir / "two" / "accuracy.csv"));
    }
    SECTION("another training seed retrains and changes the numbers")
    {
        config["train"]["seed"] = 5;
        test::write_text(dir / "seed.json", config.dump());
        const auto seeded = run_cli({"dnn", "--config", (dir / "seed.json").string(), "--out", (dir / "seed").string()});
        REQUIRE(seeded.exit_code == 0);
        CHECK(seeded.err.find("training epoch 1/1") != std::string::npos);
        CHECK(test::slurp(dir / "seed" / "accuracy.csv") != test::slurp(dir / "one" / "accuracy.csv"));
    }
}

TEST_CASE("dnn: bad configs and data fail with the place named and no outputs", "[cli][dnn]")
{
    test::ScratchDir dir;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"chipz": 3})", "did you mean"},
        {R"({"bits": [3, 9]})", "bits[1]: 9 is outside [1, 8]"},
        {R"({"methods": ["linear", "kmean"]})", "methods[1]"},
        {R"({"clip_quantile": 2})", "clip_quantile"},
        {R"({"train": {"epochs": 0}})", "train.epochs"},
        {R"({"finetune": {"bits": "3"}})", "finetune.bits"},
        {R"({"format": "nladc-flow"})", "format"},
        {R"({"dataset_dir": "nowhere"})", "dataset_dir"},
        {R"({"technology": "none.json"})", "technology"},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        test::write_text(dir / "bad.json", text);
        const auto r = run_cli({"dnn", "--config", (dir / "bad.json").string(), "--out", (dir / "out").string()});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("bad.json") != std::string::npos);
        CHECK(r.err.find(expected) != std::string::npos);
        CHECK(test::count_lines(r.err) == 1);
        CHECK_FALSE(fs::exists(dir / "out"));
    }
    CHECK(run_cli({"dnn"}).exit_code == 2);  // --out is required

    // A truncated image file in a copy of the data set.
    fs::create_directories(dir / "data");
    for (const auto& entry : fs::directory_iterator(dnn::default_fashion_mnist_dir()))
        fs::copy_file(entry.path(), dir / "data" / entry.path().filename());
    const std::string images = test::slurp(dir / "data" / "t10k-images-idx3-ubyte.gz");
    test::write_text(dir / "data" / "t10k-images-idx3-ubyte.gz", images.substr(0, images.size() / 3));
    nlohmann::json config = small_config(dir / "cache");
    config["dataset_dir"] = (dir / "data").string();
    test::write_text(dir / "cut.json", config.dump());
    const auto cut = run_cli({"dnn", "--config", (dir / "cut.json").string(), "--out", (dir / "cut").string()});
    CHECK(cut.exit_code == 1);
    CHECK(cut.err.find("t10k-images-idx3-ubyte.gz") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "cut" / "accuracy.csv"));
}

TEST_CASE("dnn: --example-config round-trips and docs/dnn-config.md is current", "[cli][dnn]")
{
    const auto example = run_cli({"dnn", "--example-config"});
    REQUIRE(example.exit_code == 0);
    test::ScratchDir dir;
    test::write_text(dir / "example.json", example.out);
    const dnn::DnnConfig parsed = io::read_dnn_config(dir / "example.json");
    CHECK(nlohmann::json::parse(io::dnn_config_to_json(parsed).dump()) == nlohmann::json::parse(example.out));
    CHECK(parsed.chips == 20);
    CHECK(parsed.methods.size() == 5);
    const auto describe = run_cli({"dnn", "--describe-config"});
    const std::string page = test::slurp(fs::path(NLADC_SOURCE_DIR) / "docs" / "dnn-config.md");
    CHECK(page.find(describe.out) != std::string::npos);
}

TEST_CASE("dnn: the optional flow stage writes its section into the report and is reused", "[cli][dnn][flow]")
{
    test::ScratchDir dir;
    nlohmann::json study = small_config(dir / "cache");
    study.erase("format");
    study.erase("version");
    study["enabled"] = true;
    nlohmann::json flow = nlohmann::json::parse(R"({
        "bits": 3, "compare_bits": [3], "area_bits": [3], "ramp_points": 20000,
        "spice": {"enabled": false},
        "monte_carlo": {"trials": 200, "block_size": 100, "spice": {"trials": 0}}
    })");
    flow["dnn"] = study;
    test::write_text(dir / "flow.json", flow.dump());
    const std::vector<std::string> args = {"flow", "--config", (dir / "flow.json").string(), "--out", (dir / "out").string()};
    const auto first = run_cli(args);
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(first.err.find("dnn: running") != std::string::npos);
    const std::string report = test::slurp(dir / "out" / "report.md");
    REQUIRE(report.find("## Network-level accuracy") != std::string::npos);
    CHECK(report.find("(dnn/accuracy.png)") != std::string::npos);
    CHECK(is_png(dir / "out" / "dnn" / "accuracy.png"));
    CHECK(report.find("(dnn/levels_fc1.png)") != std::string::npos);
    CHECK(is_png(dir / "out" / "dnn" / "levels_fc1.png"));
    CHECK(read_table(dir / "out" / "dnn" / "accuracy.csv").size() == 11);

    const auto second = run_cli(args);
    REQUIRE(second.exit_code == 0);
    CHECK(second.err.find("dnn: reused") != std::string::npos);

    // The default flow has no dnn stage.
    nlohmann::json off = flow;
    off["dnn"]["enabled"] = false;
    test::write_text(dir / "off.json", off.dump());
    const auto without = run_cli({"flow", "--config", (dir / "off.json").string(), "--out", (dir / "off").string()});
    REQUIRE(without.exit_code == 0);
    CHECK_FALSE(fs::exists(dir / "off" / "dnn"));
    CHECK(test::slurp(dir / "off" / "report.md").find("Network-level") == std::string::npos);
}
