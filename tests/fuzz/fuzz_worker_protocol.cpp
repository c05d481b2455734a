// libFuzzer harness: the WorkerPool <-> nladc-spice-worker wire protocol
// (src/spice/ngspice_internal.hpp: take_frame, Reader, decode_request / _result /
// _failure) and the reading of a conversion's vectors out of a decoded result
// (read_conversion, sample_at in src/spice/extract.cpp). The input is a byte stream of
// frames as a socket would deliver them. Invariants: a decoded message encodes and
// decodes back to itself; a request or failure re-encodes to the very bytes received;
// a conversion read from any vectors has one decision per step and a code in range.
#include "fuzz_common.hpp"

#include <optional>

#include "ngspice_internal.hpp"
#include "nladc/core/error.hpp"
#include "nladc/spice/extract.hpp"

namespace {

using namespace nladc::spice;

bool same_vector(const Eigen::VectorXd& a, const Eigen::VectorXd& b)
{
    return a.size() == b.size() &&
           (a.size() == 0 || std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(double)) == 0);
}

bool same_result(const SimulationResult& a, const SimulationResult& b)
{
    if (std::memcmp(&a.wall_s, &b.wall_s, sizeof(double)) != 0 || a.log != b.log || a.vectors.size() != b.vectors.size())
        return false;
    for (auto i = a.vectors.begin(), j = b.vectors.begin(); i != a.vectors.end(); ++i, ++j)
        if (i->first != j->first || !same_vector(i->second, j->second)) return false;
    return true;
}

/// The frame's bytes as they arrived: header + payload.
std::string frame_bytes(const detail::Frame& frame)
{
    detail::Writer empty;
    std::string header = empty.frame(frame.kind);
    const std::uint64_t size = frame.payload.size();
    std::memcpy(header.data() + 8, &size, 8);
    return header + frame.payload;
}

detail::Frame reframe(const std::string& bytes)
{
    std::string buffer = bytes;
    auto frame = detail::take_frame(buffer);
    NLADC_FUZZ_CHECK(frame.has_value() && buffer.empty());
    return *frame;
}

/// A 3-step conversion's timing (what generate_netlist records), read from the result.
void read_vectors(const SimulationResult& result)
{
    Netlist net;
    net.compare_times = {10e-9, 20e-9, 30e-9};
    net.decision_times = {12e-9, 22e-9, 32e-9};
    net.stop_time = 35e-9;
    for (const bool early_stop : {false, true}) {
        SpiceConversion c;
        try {
            c = read_conversion(net, result, early_stop);
        } catch (const nladc::Error&) {
            return;
        }
        NLADC_FUZZ_CHECK(c.decisions.size() == 3 && c.ramp_V.size() == 3);
        NLADC_FUZZ_CHECK(c.code >= 0 && c.code <= 3);
    }
    const auto time = result.vectors.find("time");
    if (time == result.vectors.end()) return;
    for (const auto& [name, values] : result.vectors) {
        for (const double t : {-1.0, 0.0, 15e-9, 1.0}) {
            try {
                (void)sample_at(time->second, values, t);
            } catch (const nladc::Error&) {
            }
        }
    }
}

void handle(const detail::Frame& frame)
{
    switch (frame.kind) {
    case detail::FrameKind::Ready:
        try {
            detail::Reader r(frame.payload);
            (void)r.i32();
            r.finish();
        } catch (const NgspiceError&) {
        }
        break;
    case detail::FrameKind::InitFailed:
        try {
            (void)detail::Reader(frame.payload).str();
        } catch (const NgspiceError&) {
        }
        break;
    case detail::FrameKind::Request: {
        SimulationRequest request;
        try {
            request = detail::decode_request(frame.payload);
        } catch (const NgspiceError&) {
            return;
        }
        const std::string encoded = detail::encode_request(request);
        NLADC_FUZZ_CHECK(encoded == frame_bytes(frame));
        const SimulationRequest back = detail::decode_request(reframe(encoded).payload);
        NLADC_FUZZ_CHECK(back.netlist == request.netlist && back.vectors == request.vectors);
        break;
    }
    case detail::FrameKind::Result: {
        SimulationResult result;
        try {
            result = detail::decode_result(frame.payload);
        } catch (const NgspiceError&) {
            return;
        }
        const SimulationResult back = detail::decode_result(reframe(detail::encode_result(result)).payload);
        NLADC_FUZZ_CHECK(same_result(result, back));
        read_vectors(result);
        break;
    }
    case detail::FrameKind::Failure: {
        std::optional<NgspiceError> error;
        try {
            error.emplace(detail::decode_failure(frame.payload));
        } catch (const NgspiceError&) {
            return;
        }
        (void)error->what();
        NLADC_FUZZ_CHECK(detail::encode_failure(*error) == frame_bytes(frame));
        break;
    }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string buffer(reinterpret_cast<const char*>(data), size);
    try {
        while (auto frame = detail::take_frame(buffer)) handle(*frame);
    } catch (const NgspiceError&) {  // a corrupt frame header ends the stream
    }
    return 0;
}
