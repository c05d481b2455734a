#pragma once
// Levenberg-Marquardt for small nonlinear least-squares problems: minimize |r(x)|^2 over
// a handful of parameters, with a forward-difference Jacobian. Used to fit the
// behavioral model's block parameters to SPICE testbenches (spice/blocks.hpp) and the
// global calibration (study/calibration.hpp).

#include <Eigen/Dense>
#include <functional>

namespace nladc {

struct LeastSquaresResult {
    Eigen::VectorXd x;         ///< the parameters at the minimum found
    Eigen::VectorXd residual;  ///< r(x)
    Eigen::MatrixXd jacobian;  ///< dr/dx at x (forward differences)
    int iterations = 0;
    double cost() const { return residual.squaredNorm(); }
    /// Correlation matrix of the parameters, (J^T J)^-1 normalized to a unit diagonal
    /// (a parameter with no effect has correlation 0 with the others and 1 with itself).
    Eigen::MatrixXd correlation() const;
};

/// `steps` are the finite-difference steps per parameter (in the parameters' units;
/// scale the parameters so a step of ~1e-4..1e-2 of their size is meaningful). Stops
/// when the relative cost decrease falls below 1e-12 or after max_iterations.
/// Non-finite residuals count as 1e6 (a rejected step).
LeastSquaresResult levenberg_marquardt(const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& residuals,
                                       Eigen::VectorXd x0, const Eigen::VectorXd& steps, int max_iterations = 80);

}  // namespace nladc
