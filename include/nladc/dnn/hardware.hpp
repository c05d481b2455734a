#pragma once
// The network on in-memory hardware (docs/dnn.md): every layer's matrix-vector product
// on a crossbar of differential conductance pairs, every hidden activation produced by
// the layer's NL-ADC (one per column, all sharing the layer's replica ramp).
//
// Crossbar (BRIEF §2 mapping of signed weights): the layer's weights and its bias (a
// row driven at input 1) are scaled by w_max = max |w| and programmed as
//     G+ = g_min + max(w, 0) / w_max (g_max - g_min),   G- = g_min + max(-w, 0) / w_max (...)
// Inputs x in [0, 1] (pixels; the previous layer's level value / its ADC range hi) are
// quantized to array.input_bits and applied as x V_read. The column pair's current
//     I = V_read sum_i x_i (G+_i - G-_i)
// is the MAC value a = I / V_read * w_max / (g_max - g_min) * input_scale in activation
// units, input_scale being the activation of x = 1 (1 for pixels, hi of the previous ADC).
// Read noise: each cell's conductance carries an independent N(0, sigma_read) per read,
// so a column pair's current carries N(0, V_read sigma_read sqrt(2 sum x_i^2)); it is
// drawn as that one Gaussian per conversion (the same distribution, 500x fewer draws).
//
// NL-ADC: the level set is mapped onto the replica column (mapping/mapping.hpp); its
// thresholds in activation units are the realized thresholds of the replica. On a
// Monte Carlo chip the replica cells go through program-and-verify with stuck faults
// (device/rram.hpp), the ramp is resolved by the behavioral model (adc/behavioral.hpp;
// wires, cell I-V and integrator ideal), and each column's comparator adds its own
// offset N(0, offset_sigma_V) and per-conversion noise N(0, noise_sigma_V), referred to
// activation units through the sense gain du/da. The output layer's currents are
// compared directly (argmax), without an ADC.

#include <Eigen/Dense>

#include <cstdint>
#include <vector>

#include "nladc/core/random.hpp"
#include "nladc/device/technology.hpp"
#include "nladc/dnn/mlp.hpp"
#include "nladc/quant/levelset.hpp"

namespace nladc::dnn {

/// One layer on a crossbar: conductances of every column pair (row `inputs` is the bias row).
struct CrossbarLayer {
    Eigen::MatrixXf plus_S, minus_S;  ///< (inputs + 1) x outputs, siemens
    double weight_max = 1.0;          ///< w_max: the weight of a full-window difference g_max - g_min
    double input_scale = 1.0;         ///< activation units of an input x = 1
    double window_S = 0.0;            ///< g_max - g_min
    /// Activation units per ampere of column-pair current.
    double units_per_A(double v_read_V) const { return weight_max / window_S * input_scale / v_read_V; }
};

/// The nominal conductances (targets) of `layer` with inputs scaled by `input_scale`.
CrossbarLayer map_layer(const DenseLayer& layer, double input_scale, const DeviceParams& device);

/// `nominal` programmed on a chip: every cell through sample_cell (program-and-verify,
/// stuck-at-OFF/ON, drift) with draws from `random` in column-major cell order, G+ first.
CrossbarLayer program_layer(const CrossbarLayer& nominal, const DeviceParams& device, RandomStream& random);

/// Inputs in [0, 1] quantized to `bits` (round to nearest of 2^bits - 1 steps), bias row of ones appended.
Eigen::MatrixXf drive_inputs(const Eigen::MatrixXf& x, int bits);

/// MAC values (activation units, outputs x images) of the column pairs for driven inputs:
/// the currents V_read (G+^T X - G-^T X) scaled by units_per_A.
Eigen::MatrixXf column_mac(const CrossbarLayer& layer, const Eigen::MatrixXf& driven, double v_read_V);

/// Per image: the standard deviation of a column pair's MAC value from read noise.
Eigen::VectorXf read_noise_sigma(const CrossbarLayer& layer, const Eigen::MatrixXf& driven, double v_read_V,
                                 double read_noise_sigma_S);

/// The NL-ADCs of one layer's columns.
struct LayerAdc {
    std::vector<double> thresholds;  ///< shared ramp thresholds, activation units (ascending)
    std::vector<double> levels;      ///< reconstruction of each code
    double hi = 0.0;                 ///< ADC range top: the next layer's input scale
    std::vector<double> column_offset;  ///< per column, activation units (empty: none)
    double comparator_noise = 0.0;   ///< per conversion, activation units
};

/// The ADC of `set` with nominal (ideal) circuits: thresholds realized by the mapped replica.
LayerAdc ideal_adc(const LevelSet& set, const Technology& tech);

/// The same ADC on a Monte Carlo chip: replica cells programmed with `random`, `columns`
/// comparator offsets drawn from it.
LayerAdc chip_adc(const LevelSet& set, const Technology& tech, int columns, RandomStream& random);

/// Codes -> levels of MAC values (outputs x images). `noise_sigma` (per image, activation
/// units; may be empty) and the comparator noise are drawn from `noise` when given.
Eigen::MatrixXf convert(const LayerAdc& adc, const Eigen::MatrixXf& mac, const Eigen::VectorXf& noise_sigma,
                        RandomStream* noise);

/// A network on hardware: one crossbar per layer, one ADC per hidden layer.
struct HardwareNetwork {
    std::vector<CrossbarLayer> layers;
    std::vector<LayerAdc> adcs;
    int input_bits = 8;
    double v_read_V = 0.2;
    double read_noise_sigma_S = 0.0;  ///< 0: noise-free reads
};

/// Maps `net` with the ADCs' ranges as the input scales of the following layers (nominal conductances).
HardwareNetwork map_network(const Mlp& net, std::vector<LayerAdc> adcs, const Technology& tech);

/// Output-layer MAC values (logits, 10 x images) of images (pixels x images) on the hardware.
/// Layer 0's MAC values may be passed precomputed (`first_mac`, with `first_sigma`) since
/// they do not depend on the ADCs. `noise` draws read and comparator noise (null: none).
Eigen::MatrixXf hardware_logits(const HardwareNetwork& hw, const Eigen::MatrixXf& images, RandomStream* noise,
                                const Eigen::MatrixXf* first_mac = nullptr, const Eigen::VectorXf* first_sigma = nullptr);

}  // namespace nladc::dnn
