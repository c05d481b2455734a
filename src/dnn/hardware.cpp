#include "nladc/dnn/hardware.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nladc/adc/behavioral.hpp"
#include "nladc/core/error.hpp"
#include "nladc/device/rram.hpp"
#include "nladc/mapping/mapping.hpp"

namespace nladc::dnn {
namespace {

/// The replica column of a layer's ADC: as tall as the level set needs (the DNN's
/// arrays have hundreds of rows), no spare calibration cells, no load cells (the
/// integrators are ideal here, so input-conductance matching has nothing to cancel).
ReplicaDesign map_replica(const LevelSet& set, Technology tech)
{
    tech.array.rows = std::max(tech.array.rows, 4096);
    MappingOptions options;
    options.rows = tech.array.rows;
    options.calibration_cells = 0;
    options.match_load = false;
    return map_levels(set, tech, options);
}

}  // namespace

CrossbarLayer map_layer(const DenseLayer& layer, double input_scale, const DeviceParams& device)
{
    if (!(input_scale > 0) || !std::isfinite(input_scale))
        throw Error(fmt::format("layer input scale {} is not a positive number", input_scale));
    const Eigen::Index inputs = layer.weights.cols(), outputs = layer.weights.rows();
    Eigen::MatrixXf weights(inputs + 1, outputs);
    weights.topRows(inputs) = layer.weights.transpose();
    weights.row(inputs) = layer.bias.transpose() / static_cast<float>(input_scale);
    CrossbarLayer out;
    out.input_scale = input_scale;
    out.window_S = device.g_max_S - device.g_min_S;
    const double largest = weights.cwiseAbs().maxCoeff();
    out.weight_max = largest > 0 ? largest : 1.0;
    const float per_weight = static_cast<float>(out.window_S / out.weight_max);
    const float g_min = static_cast<float>(device.g_min_S);
    out.plus_S = (weights.cwiseMax(0.0f) * per_weight).array() + g_min;
    out.minus_S = ((-weights).cwiseMax(0.0f) * per_weight).array() + g_min;
    return out;
}

CrossbarLayer program_layer(const CrossbarLayer& nominal, const DeviceParams& device, RandomStream& random)
{
    CrossbarLayer out = nominal;
    for (Eigen::Index c = 0; c < out.plus_S.cols(); ++c)
        for (Eigen::Index r = 0; r < out.plus_S.rows(); ++r) {
            out.plus_S(r, c) = static_cast<float>(
                sample_cell(nominal.plus_S(r, c), device, device.drift_factor, random).conductance_S);
            out.minus_S(r, c) = static_cast<float>(
                sample_cell(nominal.minus_S(r, c), device, device.drift_factor, random).conductance_S);
        }
    return out;
}

Eigen::MatrixXf drive_inputs(const Eigen::MatrixXf& x, int bits)
{
    const float steps = static_cast<float>((1u << bits) - 1);
    Eigen::MatrixXf driven(x.rows() + 1, x.cols());
    driven.topRows(x.rows()) = (x.cwiseMax(0.0f).cwiseMin(1.0f) * steps).array().round() / steps;
    driven.row(x.rows()).setOnes();
    return driven;
}

Eigen::MatrixXf column_mac(const CrossbarLayer& layer, const Eigen::MatrixXf& driven, double v_read_V)
{
    if (driven.rows() != layer.plus_S.rows())
        throw Error(fmt::format("{} driven rows for a crossbar of {} rows", driven.rows(), layer.plus_S.rows()));
    // The two columns' currents, then the differential subtraction the sense circuit does.
    const float v = static_cast<float>(v_read_V);
    const Eigen::MatrixXf plus_A = v * (layer.plus_S.transpose() * driven);
    const Eigen::MatrixXf minus_A = v * (layer.minus_S.transpose() * driven);
    return (plus_A - minus_A) * static_cast<float>(layer.units_per_A(v_read_V));
}

Eigen::VectorXf read_noise_sigma(const CrossbarLayer& layer, const Eigen::MatrixXf& driven, double v_read_V,
                                 double read_noise_sigma_S)
{
    const double per_image = v_read_V * read_noise_sigma_S * layer.units_per_A(v_read_V);
    return (driven.colwise().squaredNorm().transpose() * 2.0f).cwiseSqrt() * static_cast<float>(per_image);
}

LayerAdc ideal_adc(const LevelSet& set, const Technology& tech)
{
    const ReplicaDesign design = map_replica(set, tech);
    LayerAdc adc;
    adc.thresholds = design.realized_thresholds;
    adc.levels = set.levels;
    adc.hi = set.hi;
    return adc;
}

LayerAdc chip_adc(const LevelSet& set, const Technology& tech, int columns, RandomStream& random)
{
    const ReplicaDesign design = map_replica(set, tech);
    const DeviceParams& device = design.tech.device;
    ChipInstance chip = nominal_chip(design, design.tech);
    // The crossbar's MAC values already carry the drift (program_layer, in nominal units),
    // so the model's own MAC path stays undrifted: the thresholds then come out drifted
    // with the replica cells, in the same units, and a common drift cancels (BRIEF §2).
    chip.drift_factor = 1.0;
    for (std::size_t c = 0; c < design.cells.size(); ++c)
        chip.replica_conductance_S[c] = sample_cell(design.cells[c].target_S, device, device.drift_factor, random).conductance_S;
    AdcOptions options;
    options.ideal.cells = options.ideal.wires = options.ideal.integrator = true;
    const BehavioralAdc model(design, design.tech, chip, options);
    LayerAdc adc;
    adc.thresholds = model.transition_levels();
    adc.levels = set.levels;
    adc.hi = set.hi;
    // Sense gain du/da (V per activation unit): the integrator is ideal, so it is linear.
    const double gain = (model.mac_output_V(set.hi) - model.mac_output_V(0.0)) / set.hi;
    if (!(gain > 0)) throw Error(fmt::format("sense gain {} V per unit is not positive", gain));
    for (int c = 0; c < columns; ++c) adc.column_offset.push_back(design.tech.comparator.offset_sigma_V * random.normal() / gain);
    adc.comparator_noise = design.tech.comparator.noise_sigma_V / gain;
    return adc;
}

Eigen::MatrixXf convert(const LayerAdc& adc, const Eigen::MatrixXf& mac, const Eigen::VectorXf& noise_sigma,
                        RandomStream* noise)
{
    Eigen::MatrixXf out(mac.rows(), mac.cols());
    const double* t = adc.thresholds.data();
    const std::size_t count = adc.thresholds.size();
    const bool offsets = !adc.column_offset.empty();
    for (Eigen::Index i = 0; i < mac.cols(); ++i) {
        const double read = noise_sigma.size() > 0 ? noise_sigma(i) : 0.0;
        const double sigma = std::sqrt(read * read + adc.comparator_noise * adc.comparator_noise);
        for (Eigen::Index j = 0; j < mac.rows(); ++j) {
            double z = mac(j, i);
            if (offsets) z -= adc.column_offset[static_cast<std::size_t>(j)];
            if (noise && sigma > 0) z += sigma * noise->normal();
            out(j, i) = static_cast<float>(adc.levels[count_below(t, count, z)]);
        }
    }
    return out;
}

HardwareNetwork map_network(const Mlp& net, std::vector<LayerAdc> adcs, const Technology& tech)
{
    if (static_cast<int>(adcs.size()) != net.hidden_layers())
        throw Error(fmt::format("{} ADCs for {} hidden layers", adcs.size(), net.hidden_layers()));
    HardwareNetwork hw;
    hw.input_bits = tech.array.input_bits;
    hw.v_read_V = tech.array.v_read_V;
    for (std::size_t l = 0; l < net.layers.size(); ++l)
        hw.layers.push_back(map_layer(net.layers[l], l == 0 ? 1.0 : adcs[l - 1].hi, tech.device));
    hw.adcs = std::move(adcs);
    return hw;
}

Eigen::MatrixXf hardware_logits(const HardwareNetwork& hw, const Eigen::MatrixXf& images, RandomStream* noise,
                                const Eigen::MatrixXf* first_mac, const Eigen::VectorXf* first_sigma)
{
    Eigen::MatrixXf x = images;
    for (std::size_t l = 0; l < hw.layers.size(); ++l) {
        const bool reuse = l == 0 && first_mac;
        Eigen::MatrixXf driven;
        if (!reuse || (noise && hw.read_noise_sigma_S > 0 && !first_sigma)) driven = drive_inputs(x, hw.input_bits);
        Eigen::MatrixXf mac = reuse ? *first_mac : column_mac(hw.layers[l], driven, hw.v_read_V);
        Eigen::VectorXf sigma;
        if (noise && hw.read_noise_sigma_S > 0)
            sigma = (l == 0 && first_sigma) ? *first_sigma
                                            : read_noise_sigma(hw.layers[l], driven, hw.v_read_V, hw.read_noise_sigma_S);
        if (l + 1 == hw.layers.size()) {
            if (sigma.size() > 0)
                for (Eigen::Index i = 0; i < mac.cols(); ++i)
                    for (Eigen::Index j = 0; j < mac.rows(); ++j) mac(j, i) += static_cast<float>(sigma(i) * noise->normal());
            return mac;
        }
        const LayerAdc& adc = hw.adcs[l];
        x = convert(adc, mac, sigma, noise) / static_cast<float>(adc.hi);
    }
    return x;
}

}  // namespace nladc::dnn
