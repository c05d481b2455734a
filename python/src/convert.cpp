#include "convert.hpp"

namespace nladc::python {

DoubleArray as_doubles(const py::handle& values, const char* what)
{
    DoubleArray array = DoubleArray::ensure(values);
    if (!array) {
        PyErr_Clear();
        throw py::type_error(std::string(what) + ": expected an array of numbers, got " +
                             std::string(py::str(py::type::of(values).attr("__name__"))));
    }
    return array;
}

std::vector<double> to_vector(const py::handle& values, const char* what)
{
    const DoubleArray array = as_doubles(values, what);
    return std::vector<double>(array.data(), array.data() + array.size());
}

py::array_t<double> to_numpy(const std::vector<double>& values)
{
    return py::array_t<double>(static_cast<py::ssize_t>(values.size()), values.data());
}

std::string path_of(const py::handle& path, const char* what)
{
    if (py::isinstance<py::str>(path)) return path.cast<std::string>();
    if (py::hasattr(path, "__fspath__")) return py::str(path.attr("__fspath__")()).cast<std::string>();
    throw py::type_error(std::string(what) + ": expected a path (str or os.PathLike), got " +
                         std::string(py::str(py::type::of(path).attr("__name__"))));
}

std::vector<py::ssize_t> shape_of(const py::array& like)
{
    return std::vector<py::ssize_t>(like.shape(), like.shape() + like.ndim());
}

}  // namespace nladc::python
