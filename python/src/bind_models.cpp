// Exported ADC models (documents/adc_model.hpp): ADCModel, loaded from the JSON that
// `nladc export --format json` writes.
#include <fmt/format.h>

#include "convert.hpp"
#include "nladc/documents/adc_model.hpp"

namespace nladc::python {

void bind_models(py::module_& m)
{
    py::class_<AdcModel>(m, "ADCModel", R"(A characterized ADC model ("nladc-adc-model" JSON from `nladc export --format json`):
the designed level set, the model thresholds (Monte Carlo mean, or the nominal chip's) with
their chip-to-chip sigma, INL/DNL, energy and latency.

convert(x) gives code = number of model thresholds strictly below x, the comparator
convention the exported SPICE and Verilog-A models implement.)")
        .def_static("load", &read_adc_model, py::arg("path"), "Reads and validates an exported JSON model.")
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
                 return py::module_::import("nladc._core").attr("lookup")(x, to_numpy(a.mean), py::none(),
                                                                          py::arg("threads") = threads);
             }, py::arg("x"), py::kw_only(), py::arg("threads") = 0, "int32 codes of x (any shape).")
        .def("output", [](const AdcModel& a, const py::array& x, int threads) {
                 return py::module_::import("nladc._core").attr("lookup")(x, to_numpy(a.mean), to_numpy(a.target.levels),
                                                                          py::arg("threads") = threads);
             }, py::arg("x"), py::kw_only(), py::arg("threads") = 0, "Output levels of x in x's dtype.")
        .def("__repr__", [](const AdcModel& a) {
            return fmt::format("ADCModel({} bits, {}, {})", a.target.bits, a.target.method, a.source);
        });
}

}  // namespace nladc::python
