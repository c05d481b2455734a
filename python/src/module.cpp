// nladc._core: the C++ library for Python (docs/python.md). Every function here wraps a
// step (steps/) or a document reader (documents/); nladc/__init__.py re-exports them.
// Long calls release the GIL. Errors become Python exceptions with the CLI's one-line
// messages: a missing file FileNotFoundError, bad input or usage ValueError, an
// unwritable output OSError, anything else nladc throws RuntimeError.
#include <filesystem>

#include "convert.hpp"
#include "nladc/core/error.hpp"
#include "nladc/core/version.hpp"
#include "nladc/quant/lookup.hpp"

namespace nladc::python {

void bind_levels(py::module_& m);
void bind_adc(py::module_& m);
void bind_models(py::module_& m);

namespace {

void translate(std::exception_ptr error)
{
    try {
        if (error) std::rethrow_exception(error);
    } catch (const InputError& e) {
        std::error_code ec;
        if (e.place().empty() && !e.file().empty() && !std::filesystem::exists(e.file(), ec))
            PyErr_SetString(PyExc_FileNotFoundError, e.what());
        else
            PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const UsageError& e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const OutputError& e) {
        PyErr_SetString(PyExc_OSError, e.what());
    } catch (const Error& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
}

}  // namespace

py::array lookup(const py::array& values, const py::handle& thresholds_in, const py::handle& levels_in, int threads,
                 const std::string& label)
{
    const std::vector<double> thresholds = to_vector(thresholds_in, "thresholds");
    const std::vector<double> levels = levels_in.is_none() ? std::vector<double>{} : to_vector(levels_in, "levels");
    if (!levels.empty() && levels.size() != thresholds.size() + 1)
        throw py::value_error("lookup: " + std::to_string(levels.size()) + " levels for " +
                              std::to_string(thresholds.size()) + " thresholds (need one more level than thresholds)");
    for (std::size_t k = 1; k < thresholds.size(); ++k)
        if (!(thresholds[k - 1] <= thresholds[k]))
            throw py::value_error("lookup: thresholds[" + std::to_string(k) + "] = " + std::to_string(thresholds[k]) +
                                  " is below thresholds[" + std::to_string(k - 1) + "] = " +
                                  std::to_string(thresholds[k - 1]) + " (thresholds must be ascending)");
    const LookupTable table{thresholds, levels};
    auto run = [&](auto typed) -> py::array {
        using T = typename decltype(typed)::value_type;
        py::array_t<T, py::array::c_style | py::array::forcecast> in =
            py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(values);
        const std::size_t n = static_cast<std::size_t>(in.size());
        std::int64_t nan = -1;
        py::array result;
        if (levels.empty()) {
            py::array_t<std::int32_t> codes(shape_of(in));
            std::int32_t* out = codes.mutable_data();
            {
                py::gil_scoped_release release;
                nan = lookup_codes(std::span<const T>(in.data(), n), table, std::span<std::int32_t>(out, n), threads);
            }
            result = codes;
        } else {
            py::array_t<T> outputs(shape_of(in));
            T* out = outputs.mutable_data();
            {
                py::gil_scoped_release release;
                nan = lookup_levels(std::span<const T>(in.data(), n), table, std::span<T>(out, n), threads);
            }
            result = outputs;
        }
        if (nan >= 0) throw InputError(label, "element " + std::to_string(nan), "is NaN");
        return result;
    };
    if (values.dtype().is(py::dtype::of<float>())) return run(std::vector<float>{});
    return run(std::vector<double>{});
}

}  // namespace nladc::python

PYBIND11_MODULE(_core, m)
{
    using namespace nladc::python;
    m.doc() = "nladc's C++ core: level design, mapping, the behavioral ADC, Monte Carlo chips, ADC models.";
    m.attr("__version__") = std::string(nladc::version());
    py::register_exception_translator(translate);

    m.def("lookup", &lookup, py::arg("values"), py::arg("thresholds"), py::arg("levels") = py::none(),
          py::kw_only(), py::arg("threads") = 0, py::arg("label") = "values",
          R"(Codes or output levels of every value (any shape), multi-threaded in C++.

code(x) = number of thresholds strictly below x (a value exactly on a threshold takes the
lower code), the comparator convention of every nladc level set. With `levels` (one more
than thresholds) returns levels[code] in the values' dtype (float32 stays float32, other
dtypes become float64); without, int32 codes. Raises ValueError naming the first NaN
element ("values: element 17: is NaN"). threads=0 uses every core; the result does not
depend on it.)");
    bind_levels(m);
    bind_adc(m);
    bind_models(m);
}
