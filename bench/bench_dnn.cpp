// Issue 8 budget: the whole accuracy table (training from an empty cache, 5 methods x
// 2..6 bits ideal and on 20 Monte Carlo chips, the fine-tuned rows) in <= 10 minutes on
// 2 cores. Baselines measured in the same run: one float training epoch, and the study
// again with warm weights on 1 thread (thread scaling of the rest).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "bench_common.hpp"
#include "nladc/dnn/study.hpp"

using namespace nladc;

namespace {

double timed_study(const dnn::DnnConfig& config, const std::filesystem::path& out)
{
    const auto start = std::chrono::steady_clock::now();
    dnn::run_dnn(config, out);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main()
{
    const std::filesystem::path scratch = std::filesystem::temp_directory_path() / fmt::format("nladc-bench-dnn-{}", ::getpid());
    std::filesystem::remove_all(scratch);
    dnn::DnnConfig config;
    config.cache_dir = (scratch / "cache").string();  // empty: training included

    const dnn::Dataset data = dnn::load_fashion_mnist(dnn::default_fashion_mnist_dir());
    dnn::TrainParams one_epoch = config.train;
    one_epoch.epochs = 1;
    const double epoch = bench::median_seconds(1, [&] { bench::keep(dnn::train_mlp(data.train, one_epoch)); });

    const double cold = timed_study(config, scratch / "cold");
    config.threads = 1;
    const double warm_one_thread = timed_study(config, scratch / "warm1");
    config.threads = 2;
    const double warm_two_threads = timed_study(config, scratch / "warm2");
    std::filesystem::remove_all(scratch);

    std::printf("one float training epoch (baseline)       %7.1f s\n", epoch);
    std::printf("whole table, empty cache, %u cores         %7.1f s  = %5.1f epochs, %.2f of the 600 s budget (%s)\n",
                std::thread::hardware_concurrency(), cold, cold / epoch, cold / 600.0, cold <= 600.0 ? "met" : "MISSED");
    std::printf("whole table, cached weights, 1 thread     %7.1f s\n", warm_one_thread);
    std::printf("whole table, cached weights, 2 threads    %7.1f s  = %.2fx one thread\n", warm_two_threads,
                warm_one_thread / warm_two_threads);
    return cold <= 600.0 ? 0 : 1;
}
