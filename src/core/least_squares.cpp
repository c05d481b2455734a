#include "nladc/core/least_squares.hpp"

#include <algorithm>
#include <cmath>

namespace nladc {

namespace {

Eigen::VectorXd finite(Eigen::VectorXd r)
{
    for (Eigen::Index i = 0; i < r.size(); ++i)
        if (!std::isfinite(r(i))) r(i) = 1e6;
    return r;
}

}  // namespace

Eigen::MatrixXd LeastSquaresResult::correlation() const
{
    const auto n = jacobian.cols();
    const Eigen::MatrixXd jtj = jacobian.transpose() * jacobian;
    const Eigen::MatrixXd covariance = jtj.completeOrthogonalDecomposition().pseudoInverse();
    Eigen::MatrixXd c = Eigen::MatrixXd::Identity(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < n; ++j) {
            const double d = std::sqrt(covariance(i, i) * covariance(j, j));
            if (i != j && d > 0) c(i, j) = covariance(i, j) / d;
        }
    return c;
}

LeastSquaresResult levenberg_marquardt(const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& residuals,
                                       Eigen::VectorXd x0, const Eigen::VectorXd& steps, int max_iterations)
{
    LeastSquaresResult out;
    out.x = std::move(x0);
    out.residual = finite(residuals(out.x));
    const auto n = out.x.size();
    auto jacobian = [&]() {
        Eigen::MatrixXd j(out.residual.size(), n);
        for (Eigen::Index c = 0; c < n; ++c) {
            Eigen::VectorXd shifted = out.x;
            shifted(c) += steps(c);
            j.col(c) = (finite(residuals(shifted)) - out.residual) / steps(c);
        }
        return j;
    };
    double lambda = 1e-3;
    out.jacobian = jacobian();
    for (int iteration = 0; iteration < max_iterations && n > 0; ++iteration) {
        const Eigen::MatrixXd jtj = out.jacobian.transpose() * out.jacobian;
        const Eigen::VectorXd gradient = out.jacobian.transpose() * out.residual;
        bool improved = false;
        for (int attempt = 0; attempt < 16 && !improved; ++attempt) {
            Eigen::MatrixXd a = jtj;
            for (Eigen::Index i = 0; i < n; ++i) a(i, i) += lambda * std::max(jtj(i, i), 1e-12);
            const Eigen::VectorXd trial_x = out.x + a.ldlt().solve(-gradient);
            const Eigen::VectorXd trial_r = finite(residuals(trial_x));
            if (trial_r.squaredNorm() < out.residual.squaredNorm()) {
                const double previous = out.residual.squaredNorm();
                out.x = trial_x;
                out.residual = trial_r;
                lambda = std::max(lambda / 3, 1e-12);
                improved = true;
                out.iterations = iteration + 1;
                if (previous - out.residual.squaredNorm() <= 1e-12 * (1e-30 + previous)) {
                    out.jacobian = jacobian();
                    return out;
                }
            } else {
                lambda *= 4;
            }
        }
        if (!improved) break;
        out.jacobian = jacobian();
    }
    return out;
}

}  // namespace nladc
