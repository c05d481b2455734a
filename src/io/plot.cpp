#include "nladc/io/plot.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>

#include "nladc/core/error.hpp"

namespace nladc::io {

namespace fs = std::filesystem;

namespace {

std::string quoted(const std::string& text)
{
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

/// A scratch directory removed on scope exit.
struct ScratchDir {
    fs::path path;
    ScratchDir()
    {
        std::string pattern = (fs::temp_directory_path() / "nladc-plot-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw OutputError(pattern, "cannot create a temporary directory");
        path = pattern;
    }
    ~ScratchDir()
    {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

}  // namespace

void plot_png(const PlotSpec& spec, const fs::path& png)
{
    ScratchDir scratch;
    std::ofstream script(scratch.path / "plot.gp");
    const fs::path temp_png = fs::path(png.string() + ".tmp." + std::to_string(::getpid()) + ".png");
    script << fmt::format("set terminal pngcairo size {},{} noenhanced font 'sans,10'\n", spec.width_px,
                          spec.height_px);
    script << "set output " << quoted(temp_png.string()) << "\n";
    script << "set title " << quoted(spec.title) << "\nset xlabel " << quoted(spec.x_label)
           << "\nset ylabel " << quoted(spec.y_label) << "\nset grid\nset key outside right top\n";
    if (spec.log_x) script << "set logscale x\n";
    if (spec.log_y) script << "set logscale y\n";
    for (double x : spec.vertical_lines)
        script << fmt::format("set arrow from {0:.17g}, graph 0 to {0:.17g}, graph 1 nohead dt 2 lc rgb '#999999'\n", x);
    script << spec.extra << "\n";
    std::string plot_command;
    for (std::size_t s = 0; s < spec.series.size(); ++s) {
        const PlotSeries& series = spec.series[s];
        const fs::path data = scratch.path / fmt::format("series{}.dat", s);
        std::ofstream out(data);
        for (std::size_t i = 0; i < series.x.size() && i < series.y.size(); ++i)
            if (std::isfinite(series.x[i]) && std::isfinite(series.y[i]))
                out << fmt::format("{:.17g} {:.17g}\n", series.x[i], series.y[i]);
        std::string style = series.style == "boxes" ? "boxes fs solid 0.5" : series.style;
        plot_command += fmt::format("{}{} using 1:2 with {} title {}", s ? ", " : "plot ", quoted(data.string()),
                                    style, quoted(series.title));
    }
    if (plot_command.empty()) plot_command = "plot 0 notitle";
    script << plot_command << "\n";
    script.close();

    const std::string command = fmt::format("gnuplot {} 2>&1", quoted((scratch.path / "plot.gp").string()));
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw OutputError(png.string(), "cannot run gnuplot");
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    const int status = ::pclose(pipe);
    std::error_code ignored;
    if (status != 0 || !fs::exists(temp_png)) {
        fs::remove(temp_png, ignored);
        if (const auto newline = output.find('\n'); newline != std::string::npos) output.resize(newline);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            throw OutputError(png.string(), "gnuplot not found (install gnuplot-nox: scripts/install-deps.sh)");
        throw OutputError(png.string(), "gnuplot failed: " + output);
    }
    fs::rename(temp_png, png, ignored);
    if (ignored) throw OutputError(png.string(), ignored.message());
}

}  // namespace nladc::io
