#pragma once
// What the CPU running nladc can do, for the kernels compiled a second time for AVX2
// (src/crossbar/row_blocks_avx2.cpp, src/adc/convert_lanes_avx2.cpp,
// src/quant/histogram_lanes_avx2.cpp; CMakeLists.txt): each is called only where this says so.

namespace nladc {

/// Whether this CPU has AVX2 (checked once).
bool cpu_has_avx2();

}  // namespace nladc
