#pragma once
// SHA-256 (FIPS 180-4), used to fingerprint inputs and designs so that outputs
// name exactly what they were made from, and the flow can tell what changed.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace nladc {

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    /// Lower-case hex digest; the object is spent afterwards.
    std::string hex_digest();

private:
    void compress(const std::uint8_t* block);
    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;
};

/// Hex SHA-256 of a string.
std::string sha256_hex(std::string_view text);
/// Hex SHA-256 of a file's bytes, read in chunks. Throws InputError.
std::string sha256_file(const std::filesystem::path& file);

}  // namespace nladc
