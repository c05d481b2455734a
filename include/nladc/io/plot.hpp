#pragma once
// PNG plots through gnuplot (Debian's gnuplot-nox). The data and script go to a
// temporary directory; the PNG is written under a temporary name and renamed.

#include <filesystem>
#include <string>
#include <vector>

namespace nladc::io {

struct PlotSeries {
    std::string title;
    std::vector<double> x, y;
    std::string style = "linespoints";  ///< gnuplot style: linespoints, lines, steps, points, boxes, impulses
};

struct PlotSpec {
    std::string title, x_label, y_label;
    bool log_x = false, log_y = false;
    std::vector<PlotSeries> series;
    /// Vertical reference lines (e.g. target thresholds), drawn dashed.
    std::vector<double> vertical_lines;
    int width_px = 900, height_px = 560;
    std::string extra;  ///< raw gnuplot commands appended before plotting
};

/// Renders `spec` to `png`. Throws OutputError when gnuplot is missing or fails.
void plot_png(const PlotSpec& spec, const std::filesystem::path& png);

}  // namespace nladc::io
