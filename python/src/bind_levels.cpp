// Level sets: LevelSet, design_levels, compare_levels, score_levels (steps/levels.hpp).
#include <fmt/format.h>

#include <memory>

#include "convert.hpp"
#include "nladc/core/error.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/quant/lookup.hpp"
#include "nladc/steps/levels.hpp"

namespace nladc::python {

namespace {

py::dict metrics_dict(const QuantizationMetrics& m)
{
    py::dict d;
    d["samples"] = m.samples;
    d["mse"] = m.mse;
    d["mse_interior"] = m.mse_interior;
    d["mean_square"] = m.mean_square;
    d["relative_mse"] = m.relative_mse;
    d["sqnr_db"] = m.sqnr_db;
    d["max_abs_error"] = m.max_abs_error;
    d["occupancy"] = m.occupancy;
    d["unoccupied_codes"] = m.unoccupied_codes;
    return d;
}

steps::DataSelection selection(const py::handle& x, const std::string& nonfinite, std::optional<double> lo,
                               std::optional<double> hi, const std::string& label)
{
    steps::DataSelection data;
    data.samples = std::make_shared<const std::vector<double>>(to_vector(x, label.c_str()));
    data.input = label;
    if (nonfinite == "drop")
        data.nonfinite = io::NonFinitePolicy::drop;
    else if (nonfinite != "error")
        throw UsageError(fmt::format("nonfinite = \"{}\": expected \"error\" or \"drop\"", nonfinite));
    data.summary.lo = lo;
    data.summary.hi = hi;
    return data;
}

QuantizerOptions quantizer(int bits, const std::string& method, const std::string& variant, std::uint64_t seed)
{
    if (bits < 1 || bits > 16) throw UsageError(fmt::format("bits = {}: expected 1 to 16", bits));
    QuantizerOptions options;
    options.bits = bits;
    options.method = method;
    options.variant = variant;
    options.seed = seed;
    find_quantizer(method);  // UsageError listing the methods
    return options;
}

py::array elementwise(const LevelSet& set, const py::array& x, bool levels)
{
    return lookup(x, to_numpy(set.thresholds), levels ? py::object(to_numpy(set.levels)) : py::none(), 0, "x");
}

}  // namespace

void bind_levels(py::module_& m)
{
    py::class_<io::LevelSetRecord>(m, "LevelSet", R"(A level set: 2^bits output levels and 2^bits - 1 thresholds in the data's units.

code(x) = number of thresholds strictly below x; code k outputs levels[k]. Files are the
CLI's level-set JSON ("nladc-levelset"). `lsb` = (hi - lo) / 2^bits.)")
        .def(py::init([](const py::handle& levels, const py::handle& thresholds, std::optional<double> lo,
                         std::optional<double> hi, const std::string& method) {
                 io::LevelSetRecord record;
                 LevelSet& set = record.set;
                 set.levels = to_vector(levels, "levels");
                 set.thresholds = thresholds.is_none() ? midpoint_thresholds(set.levels) : to_vector(thresholds, "thresholds");
                 int bits = 0;
                 while ((std::size_t{1} << bits) < set.levels.size() && bits < 17) ++bits;
                 set.bits = bits;
                 set.lo = lo.value_or(set.levels.empty() ? 0.0 : set.levels.front());
                 set.hi = hi.value_or(set.levels.empty() ? 0.0 : set.levels.back());
                 set.method = method;
                 set.empty_codes = degenerate_codes(set.thresholds);
                 if (const auto [place, reason] = find_levelset_violation(set); !place.empty())
                     throw InputError("LevelSet", place, reason);
                 return record;
             }),
             py::arg("levels"), py::arg("thresholds") = py::none(), py::arg("lo") = py::none(),
             py::arg("hi") = py::none(), py::arg("method") = "custom",
             "From arrays: 2^bits levels, thresholds (default: midpoints), range (default: first and last level).")
        .def_static("load", &io::read_levelset, py::arg("path"), py::arg("layer") = "",
                    "Reads a level-set JSON file (one layer of a multi-layer file by name).")
        .def("save", [](const io::LevelSetRecord& r, const py::handle& path) {
                 io::write_levelsets(path_of(path, "path"), {{"", r}});
             }, py::arg("path"), "Writes the CLI's level-set JSON (atomically).")
        .def("to_json", [](const io::LevelSetRecord& r) { return io::levelset_to_json(r).dump(2); })
        .def_property_readonly("bits", [](const io::LevelSetRecord& r) { return r.set.bits; })
        .def_property_readonly("lo", [](const io::LevelSetRecord& r) { return r.set.lo; }, "Range start (data units).")
        .def_property_readonly("hi", [](const io::LevelSetRecord& r) { return r.set.hi; }, "Range end (data units).")
        .def_property_readonly("lsb", [](const io::LevelSetRecord& r) { return r.set.lsb(); })
        .def_property_readonly("method", [](const io::LevelSetRecord& r) { return r.set.method; })
        .def_property_readonly("variant", [](const io::LevelSetRecord& r) { return r.set.variant; })
        .def_property_readonly("levels", [](const io::LevelSetRecord& r) { return to_numpy(r.set.levels); },
                               "Output levels, float64 [2^bits] (a copy).")
        .def_property_readonly("thresholds", [](const io::LevelSetRecord& r) { return to_numpy(r.set.thresholds); },
                               "Decision thresholds, float64 [2^bits - 1] (a copy).")
        .def_property_readonly("empty_codes", [](const io::LevelSetRecord& r) { return r.set.empty_codes; })
        .def_property_readonly("parameters", [](const io::LevelSetRecord& r) {
            py::dict d;
            for (const auto& [name, value] : r.set.parameters) d[py::str(name)] = value;
            return d;
        })
        .def_property_readonly("metrics", [](const io::LevelSetRecord& r) -> py::object {
            return r.metrics ? py::object(metrics_dict(*r.metrics)) : py::none();
        }, "Scores on the data the levels were designed on (None when built from arrays).")
        .def("code", [](const io::LevelSetRecord& r, const py::array& x) { return elementwise(r.set, x, false); },
             py::arg("x"), "int32 codes of x (any shape).")
        .def("quantize", [](const io::LevelSetRecord& r, const py::array& x) { return elementwise(r.set, x, true); },
             py::arg("x"), "levels[code(x)] in x's dtype (float32 stays float32).")
        .def("__repr__", [](const io::LevelSetRecord& r) {
            return fmt::format("LevelSet({} bits, {}, range [{:.6g}, {:.6g}])", r.set.bits, method_label(r.set), r.set.lo,
                               r.set.hi);
        });

    m.def("design_levels",
          [](const py::handle& x, int bits, const std::string& method, const std::string& variant,
             std::optional<double> lo, std::optional<double> hi, std::uint64_t seed, const std::string& nonfinite,
             const std::string& label) {
              steps::LevelsRequest request;
              request.quantizer = quantizer(bits, method, variant, seed);
              request.data = selection(x, nonfinite, lo, hi, label);
              std::vector<steps::LayerLevels> layers;
              {
                  py::gil_scoped_release release;
                  layers = steps::run_levels(request);
              }
              const DesignedLevels& designed = layers.front().designed;
              return io::LevelSetRecord{designed.set, designed.input, designed.metrics};
          },
          py::arg("x"), py::arg("bits") = 4, py::arg("method") = "bs-kmq", py::kw_only(), py::arg("variant") = "",
          py::arg("lo") = py::none(), py::arg("hi") = py::none(), py::arg("seed") = 1, py::arg("nonfinite") = "error",
          py::arg("label") = "array",
          R"(Designs a level set on activation samples x (any shape, flattened), as `nladc levels`.

method: linear | lloyd-max | cdf | kmeans | bs-kmq; variant "" = the method's default.
lo/hi: the level range (default: the data's min and max). nonfinite: "error" raises
ValueError at the first NaN/Inf ("array: element 17: is NaN"), "drop" skips them. The
same samples give the same levels as `nladc levels` on them saved as .npy (float32 data
are widened to float64 exactly as the CLI reads them).)");

    m.def("compare_levels",
          [](const py::handle& x, const std::vector<int>& bits, const py::handle& eval) {
              steps::CompareRequest request;
              request.data = selection(x, "error", std::nullopt, std::nullopt, "array");
              request.options.bits = bits;
              if (!eval.is_none()) throw UsageError("compare_levels: eval data in memory are not supported; score the returned level sets with score_levels");
              std::vector<steps::CompareLayer> layers;
              {
                  py::gil_scoped_release release;
                  layers = steps::run_compare(request);
              }
              py::list rows;
              for (const CompareRow& row : layers.front().rows) {
                  py::dict d;
                  d["bits"] = row.bits;
                  d["method"] = method_label(row.set);
                  d["levels"] = io::LevelSetRecord{row.set, std::nullopt, row.fit};
                  d["mse"] = row.fit.mse;
                  d["sqnr_db"] = row.fit.sqnr_db;
                  d["ratio_to_bskmq"] = row.ratio_to_bskmq;
                  d["ratio_to_kmeans"] = row.ratio_to_kmeans;
                  rows.append(d);
              }
              return rows;
          },
          py::arg("x"), py::arg("bits") = std::vector<int>{3, 4, 5, 6}, py::arg("eval") = py::none(),
          "Every method and variant at each bit width on x, as `nladc compare`: a list of dicts "
          "(bits, method, levels, mse, sqnr_db, ratio_to_bskmq, ratio_to_kmeans).");

    m.def("score_levels",
          [](const io::LevelSetRecord& levels, const py::handle& x, const std::string& nonfinite) {
              steps::DataSelection data = selection(x, nonfinite, std::nullopt, std::nullopt, "array");
              QuantizationMetrics metrics;
              {
                  py::gil_scoped_release release;
                  metrics = data.open("").score({levels.set}).front();
              }
              return metrics_dict(metrics);
          },
          py::arg("levels"), py::arg("x"), py::arg("nonfinite") = "error",
          "MSE, SQNR and occupancy of a level set on samples x, as `nladc score`.");
}

}  // namespace nladc::python
