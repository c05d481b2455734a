// Behavioral NL-ADC speed: static conversions of a 64-row MAC pair with ideal wires
// (target >= 1e7 per second on one core; batched, convert_batch: >= 5e7) and transient
// conversions (target >= 1e4/s).
// Baseline: the bare 64-element dot product the static path cannot avoid.
// Usage: build/bench/bench_adc
#include <fmt/format.h>

#include <chrono>

#include "bench_common.hpp"
#include "nladc/adc/behavioral.hpp"
#include "nladc/core/random.hpp"

using namespace nladc;

int main()
{
    Technology tech;
    tech.array.rows = 64;
    tech.array.wire_resistance_ohm = 0.0;  // ideal wires, as in the target
    const LevelSet set = bench::example_levels();
    const ReplicaDesign design = map_levels(set, tech, {});
    const BehavioralAdc adc(design, design.tech, nominal_chip(design, design.tech));

    RandomStream random(1, 0);
    const int batch = 4096;
    std::vector<Eigen::VectorXd> inputs(batch, Eigen::VectorXd(64));
    for (auto& x : inputs)
        for (int i = 0; i < 64; ++i) x(i) = random.uniform();
    Eigen::VectorXd weights(64);
    for (int i = 0; i < 64; ++i) weights(i) = 0.3 * (random.uniform() - 0.2);
    const PreparedColumn column = adc.prepare(weights);

    const int repeats = 50;
    const double t_dot = bench::median_seconds(7, [&] {
        double total = 0;
        for (int r = 0; r < repeats; ++r)
            for (const auto& x : inputs) total += x.dot(weights);
        bench::keep(total);
    });
    long long code_sum = 0;
    const double t_static = bench::median_seconds(7, [&] {
        for (int r = 0; r < repeats; ++r)
            for (const auto& x : inputs) code_sum += adc.convert(column, x);
        bench::keep(code_sum);
    });
    // The same conversions batched: inputs as a rows x batch matrix (one conversion per column).
    Eigen::MatrixXd batch_inputs(64, batch);
    for (int c = 0; c < batch; ++c) batch_inputs.col(c) = inputs[static_cast<std::size_t>(c)];
    std::vector<int> batch_codes(batch);
    const double t_batched = bench::median_seconds(7, [&] {
        for (int r = 0; r < repeats; ++r) adc.convert_batch(column, batch_inputs, batch_codes);
        bench::keep(batch_codes[0]);
    });
    const double n = double(repeats) * batch;
    fmt::print("4-bit NL-ADC, 64-row MAC pair, ideal wires, default nonidealities otherwise\n");
    fmt::print("{:<42} {:>14} {:>10}\n", "path", "conversions/s", "time/dot");
    fmt::print("{:<42} {:>14.3e} {:>10.2f}\n", "64-element dot product (baseline)", n / t_dot, 1.0);
    fmt::print("{:<42} {:>14.3e} {:>10.2f}\n", "static convert (prepared column)", n / t_static, t_static / t_dot);
    fmt::print("{:<42} {:>14.3e} {:>10.2f}   (target >= 5e7/s: {})\n", "static convert_batch (4 AVX2 lanes)", n / t_batched,
               t_batched / t_dot, n / t_batched >= 5e7 ? "met" : "MISSED");

    AdcOptions transient;
    transient.mode = AdcMode::transient;
    const BehavioralAdc slow(design, design.tech, nominal_chip(design, design.tech), transient);
    const PreparedColumn slow_column = slow.prepare(weights);
    const int transient_batch = 2000;
    const double t_transient = bench::median_seconds(3, [&] {
        for (int i = 0; i < transient_batch; ++i) code_sum += slow.convert(slow_column, inputs[static_cast<std::size_t>(i % batch)]);
        bench::keep(code_sum);
    });
    fmt::print("{:<42} {:>14.3e} {:>10.2f}\n", "transient convert (odeint latch per decision)",
               transient_batch / t_transient, (t_transient / transient_batch) / (t_dot / n));
    tech.array.input_encoding = "pulse-width";
    const ReplicaDesign pulse_design = map_levels(set, tech, {});
    const BehavioralAdc pulse(pulse_design, pulse_design.tech, nominal_chip(pulse_design, pulse_design.tech), transient);
    const PreparedColumn pulse_column = pulse.prepare(weights);
    const int pulse_batch = 200;
    const double t_pulse = bench::median_seconds(3, [&] {
        for (int i = 0; i < pulse_batch; ++i) code_sum += pulse.convert(pulse_column, inputs[i]);
        bench::keep(code_sum);
    });
    fmt::print("{:<42} {:>14.3e} {:>10.2f}\n", "transient, pulse-width inputs (MAC ODE too)", pulse_batch / t_pulse,
               (t_pulse / pulse_batch) / (t_dot / n));
    return 0;
}
