// Exported ADC models (documents/adc_model.hpp): ADCModel, loaded from the JSON that
// `nladc export --format json` writes.
#include <fmt/format.h>

#include "convert.hpp"
#include "nladc/documents/adc_model.hpp"
#include "nladc/documents/calibration_file.hpp"
#include "nladc/export/export.hpp"
#include "nladc/io/atomic_file.hpp"

namespace nladc::python {

void bind_models(py::module_& m)
{
    py::class_<AdcModel>(m, "ADCModel", R"(A characterized ADC model ("nladc-adc-model" JSON from `nladc export --format json`):
the designed level set, the model thresholds (Monte Carlo mean, or the nominal chip's) with
their chip-to-chip sigma, INL/DNL, energy and latency.

convert(x) gives code = number of model thresholds strictly below x, the comparator
convention the exported SPICE and Verilog-A models implement.)")
        .def_static("load", &read_adc_model, py::arg("path"), "Reads and validates an exported JSON model.")
        .def_static("from_characterization", &model_from_characterization, py::arg("directory"),
                    "The model of an `nladc characterize` output directory (what `nladc export` exports).")
        .def("save", [](const AdcModel& a, const py::handle& path) {
                 io::write_file_atomic(path_of(path, "path"), model_json(a));
             }, py::arg("path"), "Writes the model as `nladc export --format json` does (atomically).")
        .def_property_readonly("bits", [](const AdcModel& a) { return a.target.bits; })
        .def_property_readonly("lo", [](const AdcModel& a) { return a.target.lo; })
        .def_property_readonly("hi", [](const AdcModel& a) { return a.target.hi; })
        .def_property_readonly("lsb", [](const AdcModel& a) { return a.target.lsb(); })
        .def_property_readonly("levels", [](const AdcModel& a) { return to_numpy(a.target.levels); },
                               "Output level of each code (data units).")
        .def_property_readonly("thresholds", [](const AdcModel& a) { return to_numpy(a.mean); },
                               "The model's thresholds (data units): what convert() compares against.")
        .def_property_readonly("sigma", [](const AdcModel& a) { return to_numpy(a.sigma); },
                               "Chip-to-chip sigma of each threshold (data units; 0 for a nominal model).")
        .def_property_readonly("target_thresholds", [](const AdcModel& a) { return to_numpy(a.target.thresholds); })
        .def_property_readonly("measured_thresholds", [](const AdcModel& a) { return to_numpy(a.measured); },
                               "The nominal chip's thresholds, by bisection.")
        .def_property_readonly("inl_lsb", [](const AdcModel& a) { return to_numpy(a.inl_lsb); })
        .def_property_readonly("dnl", [](const AdcModel& a) { return to_numpy(a.dnl); })
        .def_property_readonly("missing_codes", [](const AdcModel& a) { return a.missing_codes; })
        .def_property_readonly("source", [](const AdcModel& a) { return a.source; })
        .def_property_readonly("design_hash", [](const AdcModel& a) { return a.design_hash; })
        .def_property_readonly("seed", [](const AdcModel& a) { return a.seed; })
        .def_property_readonly("trials", [](const AdcModel& a) { return a.trials; })
        .def_property_readonly("energy_J", [](const AdcModel& a) { return a.energy_J; }, "Energy per conversion (J).")
        .def_property_readonly("latency_s", [](const AdcModel& a) { return a.latency_s; }, "Conversion latency (s).")
        .def("convert", [](const AdcModel& a, const py::array& x, int threads) {
                 return lookup(x, to_numpy(a.mean), py::none(), threads, "x");
             }, py::arg("x"), py::kw_only(), py::arg("threads") = 0, "int32 codes of x (any shape).")
        .def("output", [](const AdcModel& a, const py::array& x, int threads) {
                 return lookup(x, to_numpy(a.mean), to_numpy(a.target.levels), threads, "x");
             }, py::arg("x"), py::kw_only(), py::arg("threads") = 0, "Output levels of x in x's dtype.")
        .def("__repr__", [](const AdcModel& a) {
            return fmt::format("ADCModel({} bits, {}, {})", a.target.bits, a.target.method, a.source);
        });

    py::class_<CalibrationParams>(m, "Calibration", R"(Calibrated behavioral parameters (`nladc calibrate`'s calibrated.json): the block
parameters measured in SPICE (technology keys, SI values) and the global corrections
fitted on top. Pass the file to Adc(design, calibration=path) to use it.)")
        .def_static("load", &io::read_calibration, py::arg("path"), "Reads and validates a calibrated.json.")
        .def_property_readonly("parameters", [](const CalibrationParams& c) {
            return py::module_::import("json").attr("loads")(io::calibration_params_to_json(c).dump());
        }, "The fitted corrections {name: value} (offset_V, gain_error, ...), SI units.")
        .def_property_readonly("block_parameters", [](const CalibrationParams& c) {
            py::dict d;
            for (const auto& [key, value] : c.block_parameters) d[py::str(key)] = value;
            return d;
        }, "Technology keys measured on the block testbenches, SI units.");
}

}  // namespace nladc::python
