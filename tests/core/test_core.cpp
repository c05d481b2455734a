// Core utilities: SHA-256 against FIPS 180-4 vectors, the counter-based RNG.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "nladc/core/random.hpp"
#include "nladc/core/sha256.hpp"

using namespace nladc;

TEST_CASE("SHA-256 matches the FIPS 180-4 test vectors", "[core]")
{
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    Sha256 million;
    const std::string block(1000, 'a');
    for (int i = 0; i < 1000; ++i) million.update(block);
    CHECK(million.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("random streams are pure functions of (seed, stream)", "[core]")
{
    RandomStream a(7, 3), b(7, 3), c(7, 4), d(8, 3);
    for (int i = 0; i < 100; ++i) {
        const auto x = a.next_u64();
        CHECK(x == b.next_u64());
        CHECK(x != c.next_u64());
        CHECK(x != d.next_u64());
    }
}

TEST_CASE("random stream moments", "[core]")
{
    RandomStream random(1, 0);
    double sum = 0, square = 0, usum = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
        const double z = random.normal();
        sum += z;
        square += z * z;
        const double u = random.uniform();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
        usum += u;
    }
    CHECK(sum / n == Approx(0).margin(0.01));
    CHECK(square / n == Approx(1).epsilon(0.01));
    CHECK(usum / n == Approx(0.5).epsilon(0.005));
    std::vector<int> counts(7, 0);
    for (int i = 0; i < 70000; ++i) counts[random.below(7)]++;
    for (int c : counts) CHECK(c == Approx(10000).epsilon(0.05));
}
