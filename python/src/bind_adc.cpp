// Designs and the behavioral ADC: Design, map_levels, Adc, sample_chips (steps/map.hpp,
// steps/evaluate.hpp, steps/mc.hpp).
#include <fmt/format.h>

#include "convert.hpp"
#include "nladc/core/choices.hpp"
#include "nladc/core/error.hpp"
#include "nladc/documents/design_file.hpp"
#include "nladc/documents/levelset_file.hpp"
#include "nladc/quant/quantizer.hpp"
#include "nladc/steps/evaluate.hpp"
#include "nladc/steps/map.hpp"
#include "nladc/steps/mc.hpp"

namespace nladc::python {

namespace {

/// A design given as a Design object or a path, as an evaluation's design.
void set_design(steps::Evaluation& evaluation, const py::handle& design)
{
    if (py::isinstance<io::DesignRecord>(design))
        evaluation.design = design.cast<io::DesignRecord>();
    else
        evaluation.design_file = path_of(design, "design");
}

std::string optional_path(const py::handle& path, const char* what)
{
    return path.is_none() ? std::string() : path_of(path, what);
}

/// The behavioral ADC of a design on its nominal chip (steps::open_adc).
class Adc {
public:
    Adc(const py::handle& design, const py::handle& technology, const py::handle& calibration,
        const std::string& mode, bool ideal)
    {
        steps::Evaluation evaluation;
        set_design(evaluation, design);
        evaluation.tech_file = optional_path(technology, "technology");
        evaluation.calibration_file = optional_path(calibration, "calibration");
        evaluation.mode = parse_choice<AdcMode>(mode);
        if (ideal) evaluation.ideal = Idealization::all();
        opened_ = steps::open_adc(evaluation);
    }

    py::tuple convert(const py::handle& macs, int threads) const
    {
        const DoubleArray values = as_doubles(macs, "mac");
        const std::size_t n = static_cast<std::size_t>(values.size());
        py::array_t<std::int32_t> codes(shape_of(values));
        py::array_t<double> levels(shape_of(values));
        std::vector<int> out(n);
        {
            py::gil_scoped_release release;
            for (std::size_t i = 0; i < n; ++i)
                if (std::isnan(values.data()[i])) throw InputError("mac", fmt::format("element {}", i), "is NaN");
            steps::convert_many(*opened_.adc, std::span<const double>(values.data(), n), out, threads);
        }
        std::int32_t* c = codes.mutable_data();
        double* l = levels.mutable_data();
        for (std::size_t i = 0; i < n; ++i) {
            c[i] = out[i];
            l[i] = opened_.adc->reconstruct(out[i]);
        }
        return py::make_tuple(codes, levels);
    }

    /// Inputs (batch, rows) or (rows,) and weights (rows, columns) or (rows,) -> codes and
    /// levels of shape (batch, columns), dropping the axes given as 1-D.
    py::tuple convert_inputs(const py::handle& inputs, const py::handle& weights, int threads) const
    {
        const DoubleArray x = as_doubles(inputs, "inputs"), w = as_doubles(weights, "weights");
        if (x.ndim() < 1 || x.ndim() > 2 || w.ndim() < 1 || w.ndim() > 2)
            throw InputError("convert_inputs", "shape",
                             fmt::format("inputs of {} and weights of {} dimensions; expected (batch, rows) or (rows,) "
                                         "and (rows, columns) or (rows,)",
                                         x.ndim(), w.ndim()));
        const py::ssize_t rows = x.shape(x.ndim() - 1), batch = x.ndim() == 2 ? x.shape(0) : 1;
        const py::ssize_t columns = w.ndim() == 2 ? w.shape(1) : 1;
        if (w.shape(0) != rows)
            throw InputError("convert_inputs", "weights", fmt::format("{} rows for inputs of {} rows", w.shape(0), rows));
        auto check_finite = [](const DoubleArray& a, const char* what) {
            for (py::ssize_t i = 0; i < a.size(); ++i)
                if (!std::isfinite(a.data()[i])) throw InputError(what, fmt::format("element {}", i), "is not finite");
        };
        check_finite(x, "inputs");
        check_finite(w, "weights");
        // NumPy's C order is Eigen's column order transposed: the inputs map as rows x batch
        // (one conversion per column) directly; the weights (rows, columns) are copied.
        const Eigen::Map<const Eigen::MatrixXd> input_columns(x.data(), rows, batch);
        const Eigen::MatrixXd weight_columns =
            Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(w.data(), rows, columns);
        Eigen::MatrixXi codes;
        {
            py::gil_scoped_release release;
            codes = steps::convert_columns(*opened_.adc, weight_columns, input_columns, threads);
        }
        std::vector<py::ssize_t> shape;
        if (x.ndim() == 2) shape.push_back(batch);
        if (w.ndim() == 2) shape.push_back(columns);
        py::array_t<std::int32_t> code_array(shape);
        py::array_t<double> level_array(shape);
        // codes is columns x batch, column-major: batch-major in memory, as NumPy's (batch, columns).
        for (Eigen::Index i = 0; i < codes.size(); ++i) {
            code_array.mutable_data()[i] = codes.data()[i];
            level_array.mutable_data()[i] = opened_.adc->reconstruct(codes.data()[i]);
        }
        return py::make_tuple(code_array, level_array);
    }

    py::array_t<double> transition_levels(double tolerance) const
    {
        std::vector<double> t;
        {
            py::gil_scoped_release release;
            t = opened_.adc->transition_levels(tolerance);
        }
        return to_numpy(t);
    }

    py::dict energy(double mac) const
    {
        const ConversionEnergy e = opened_.adc->energy(mac);
        py::dict terms;
        for (const EnergyTerm& term : e.terms) terms[py::str(term.name)] = term.joules;
        py::dict d;
        d["terms_J"] = terms;
        d["total_J"] = e.total_J;
        d["latency_s"] = e.latency_s;
        d["clocks"] = e.clocks;
        return d;
    }

    const io::DesignRecord& design() const { return opened_.loaded.record; }
    const std::string& technology_note() const { return opened_.loaded.technology_note; }

private:
    steps::NominalAdc opened_;
};

}  // namespace

void bind_adc(py::module_& m)
{
    py::class_<io::DesignRecord>(m, "Design", R"(A level set mapped onto the replica column (the CLI's design JSON,
"nladc-design"): the target levels, the technology, the cells and the realized thresholds.)")
        .def_static("load", &io::read_design, py::arg("path"), "Reads a design JSON file.")
        .def("save", [](io::DesignRecord& r, const py::handle& path) { return io::write_design(path_of(path, "path"), r); },
             py::arg("path"), "Writes the design JSON (atomically); returns its design_hash.")
        .def("to_json", [](const io::DesignRecord& r) { return io::design_to_json(r).dump(2); })
        .def_property_readonly("hash", [](const io::DesignRecord& r) {
            return io::design_to_json(r)["design_hash"].get<std::string>();
        }, "design_hash: SHA-256 of the design's content.")
        .def_property_readonly("levels", [](const io::DesignRecord& r) { return io::LevelSetRecord{r.design.levels, {}, {}}; },
                               "The target level set.")
        .def_property_readonly("realized_thresholds", [](const io::DesignRecord& r) { return to_numpy(r.design.realized_thresholds); },
                               "Thresholds the ideal circuit realizes with the cells' conductances (data units).")
        .def_property_readonly("threshold_error_lsb", [](const io::DesignRecord& r) { return to_numpy(r.design.threshold_error_lsb); })
        .def_property_readonly("scale_per_S", [](const io::DesignRecord& r) { return r.design.scale_per_S; },
                               "Data units per siemens of replica conductance.")
        .def_property_readonly("cells", [](const io::DesignRecord& r) { return r.design.cells.size(); })
        .def_property_readonly("notes", [](const io::DesignRecord& r) { return r.design.notes; })
        .def("__repr__", [](const io::DesignRecord& r) {
            return fmt::format("Design({} bits, {}, {} cells)", r.design.levels.bits, method_label(r.design.levels),
                               r.design.cells.size());
        });

    m.def("map_levels",
          [](const py::handle& levels, const py::handle& technology, std::optional<int> rows, bool compensate) {
              steps::MapRequest request;
              if (py::isinstance<io::LevelSetRecord>(levels))
                  request.levels = levels.cast<io::LevelSetRecord>().set;
              else
                  request.levels_file = path_of(levels, "levels");
              request.tech_file = optional_path(technology, "technology");
              request.mapping.rows = rows;
              request.compensate = compensate;
              steps::MapResult result;
              {
                  py::gil_scoped_release release;
                  result = steps::run_map(request);
              }
              return result.record;
          },
          py::arg("levels"), py::arg("technology") = py::none(), py::kw_only(), py::arg("rows") = py::none(),
          py::arg("compensate") = false,
          R"(Maps a level set (LevelSet or level-set file) onto the replica column, as `nladc map`.

technology: a technology JSON (default: the built-in one). rows: rows of the replica
column. compensate: pre-distort the steps for IR drop and the integrators.)");

    py::class_<Adc>(m, "Adc", R"(The behavioral NL-ADC of a design on its nominal chip, as `nladc convert` and
`nladc transfer` evaluate it (static closed-form solve or transient integration).)")
        .def(py::init<const py::handle&, const py::handle&, const py::handle&, const std::string&, bool>(),
             py::arg("design"), py::arg("technology") = py::none(), py::arg("calibration") = py::none(),
             py::kw_only(), py::arg("mode") = "static", py::arg("ideal") = false,
             "design: Design or design JSON path; technology: JSON path overriding the design's; "
             "calibration: calibrated.json from `nladc calibrate`; mode: static | transient.")
        .def("convert", &Adc::convert, py::arg("mac"), py::kw_only(), py::arg("threads") = 0,
             "MAC values (data units, any shape) -> (int32 codes, float64 output levels), noise-free, multi-threaded.")
        .def("convert_inputs", &Adc::convert_inputs, py::arg("inputs"), py::arg("weights"), py::kw_only(),
             py::arg("threads") = 0,
             R"(A crossbar layer through the ADCs: inputs (batch, rows) in [0, 1] (quantized to the
technology's input bits) on the rows, normalized weights (rows, columns) in [-1, 1] on the
columns' MAC pairs -> (int32 codes, float64 output levels) of shape (batch, columns); a 1-D
argument drops its axis. Noise-free; the MAC path of `BehavioralAdc.convert_batch` (AVX2 lanes
on the static path with ideal wires; with wires one by one through the array solve), the
input vectors split over threads (from 2048 of them).)")
        .def("transition_levels", &Adc::transition_levels, py::arg("tolerance") = 0.0,
             "T[k], k = 1 .. L-1, by bisection (data units; tolerance 0 = LSB x 1e-6); inf when unreachable.")
        .def("energy", &Adc::energy, py::arg("mac"), "Energy terms (J) and latency (s) of one conversion.")
        .def_property_readonly("design", &Adc::design)
        .def_property_readonly("technology_note", &Adc::technology_note);

    m.def("sample_chips",
          [](const py::handle& design, const py::handle& study, std::uint64_t n, std::optional<std::uint64_t> seed,
             bool trimmed, int threads) {
              steps::ChipsRequest request;
              if (!study.is_none()) request.spec = io::read_study(path_of(study, "study"));
              if (py::isinstance<io::DesignRecord>(design))
                  request.design = design.cast<io::DesignRecord>();
              else if (!design.is_none())
                  request.spec.design = path_of(design, "design");
              if (seed) request.spec.seed = *seed;
              request.count = n;
              request.trimmed = trimmed;
              request.threads = threads;
              steps::ChipsResult result;
              {
                  py::gil_scoped_release release;
                  result = steps::sample_chips(request);
              }
              py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(result.thresholds)});
              std::copy(result.levels.begin(), result.levels.end(), out.mutable_data());
              return out;
          },
          py::arg("design"), py::arg("study") = py::none(), py::arg("n") = 1, py::arg("seed") = py::none(),
          py::kw_only(), py::arg("trimmed") = false, py::arg("threads") = 0,
          R"(Thresholds of n Monte Carlo chips, float64 [n, K] (data units).

The same Philox streams as `nladc mc`: chip t of (study, seed) equals row t of its
trials.csv (T1..TK; T1_trim.. with trimmed=True). design: Design, design JSON path, or None
for the study's design; study: a study JSON (default: every default); seed overrides the
study's.)");
}

}  // namespace nladc::python
