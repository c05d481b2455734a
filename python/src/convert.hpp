#pragma once
// Conversions between NumPy / Python values and the library's types, shared by the
// binding files of the _core extension (python/src/*.cpp).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <string>
#include <vector>

namespace nladc::python {

namespace py = pybind11;

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// Any array-like (ndarray of any real dtype, list, tensor.numpy()) as contiguous float64;
/// TypeError naming `what` when it is not numeric.
DoubleArray as_doubles(const py::handle& values, const char* what);
/// The flattened values of an array-like as a vector.
std::vector<double> to_vector(const py::handle& values, const char* what);
/// A 1-D float64 array copied from a vector.
py::array_t<double> to_numpy(const std::vector<double>& values);

/// str or os.PathLike as a path string; TypeError otherwise.
std::string path_of(const py::handle& path, const char* what);

/// The same shape as `like`, for outputs of elementwise calls.
std::vector<py::ssize_t> shape_of(const py::array& like);

/// The threshold lookup of quant/lookup.hpp over an array of any shape, in its dtype
/// (float32 stays float32; other dtypes become float64): int32 codes, or levels[code] when
/// `levels` is not None. ValueError naming `label` and the first NaN element.
py::array lookup(const py::array& values, const py::handle& thresholds, const py::handle& levels, int threads,
                 const std::string& label);

}  // namespace nladc::python
