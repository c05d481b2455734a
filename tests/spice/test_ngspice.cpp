// ngspice through libngspice: correctness against theory, recovery from every kind of
// bad netlist in-process, and the worker pool (order, crashes, kills, timeouts).
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "nladc/spice/ngspice.hpp"

using namespace nladc::spice;
using Catch::Matchers::Contains;

namespace {

const std::string kWorker = NLADC_SPICE_WORKER_PATH;

/// Resistive divider: Vin over R1 (top) and R2 (bottom), output at "out".
std::string divider(double vin, double r1, double r2)
{
    return fmt::format("divider\nV1 in 0 {}\nR1 in out {}\nR2 out 0 {}\n.op\n.end\n", vin, r1, r2);
}

SimulationRequest request(std::string netlist, std::vector<std::string> vectors = {"v(out)"}, double timeout_s = 60.0)
{
    SimulationRequest r;
    r.netlist = std::move(netlist);
    r.vectors = std::move(vectors);
    r.timeout_s = timeout_s;
    return r;
}

/// RC low-pass driven by a 1 V step at t = 0 (uic: the capacitor starts at 0 V), time
/// step capped at `tmax` seconds.
std::string rc_step(double r, double c, double t_stop, double tmax)
{
    return fmt::format("rc step\nV1 in 0 DC 1\nR1 in out {}\nC1 out 0 {} IC=0\n.tran {} {} 0 {} uic\n.end\n", r, c, tmax,
                       t_stop, tmax);
}

/// A 16-row resistor ladder driven by a ramp, a few hundred time steps (~ms to run).
std::string ladder(int variant)
{
    std::string n = fmt::format("ladder {}\nVin in 0 PWL(0 0 1u {})\nRs in n0 100\n", variant, 1.0 + 0.1 * variant);
    for (int i = 0; i < 16; ++i) {
        n += fmt::format("R{} n{} n{} {}\n", i, i, i + 1, 1000 + 37 * ((i * 7 + variant) % 11));
        n += fmt::format("Rg{} n{} 0 {}\n", i, i + 1, 20000 + 500 * i);
        n += fmt::format("Cg{} n{} 0 {}p\n", i, i + 1, 0.2 + 0.01 * i);
    }
    n += ".tran 5n 2u 0 5n\n.end\n";
    return n;
}

/// Runs for many seconds (1 MHz sine, 100 ms of simulated time at 1 ns steps).
const std::string kEndless = "endless\nV1 in 0 SIN(0 1 1meg)\nR1 in out 1k\nC1 out 0 1n\n.tran 1n 100m 0 1n\n.end\n";

/// ngspice 39 itself segfaults on an EXTERNAL source when no data callback is
/// registered (also with one): a real crash, only survivable in a worker process.
const std::string kCrasher = "crasher\nV1 in 0 DC 0 EXTERNAL\nR1 in out 1k\nR2 out 0 3k\n.tran 1n 10n\n.end\n";

long vm_rss_kib()
{
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            long kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 20, '\n');
    }
    return -1;
}

void check_divider(NgspiceSession& session)
{
    const SimulationResult r = session.run(request(divider(1.5, 1000, 3000), {"v(out)", "i(v1)"}));
    REQUIRE(r.vectors.at("v(out)").size() == 1);
    CHECK(r.vectors.at("v(out)")[0] == Approx(1.125).epsilon(1e-12));
    CHECK(r.vectors.at("i(v1)")[0] == Approx(-1.5 / 4000).epsilon(1e-12));
}

bool same_vectors(const SimulationResult& a, const SimulationResult& b)
{
    if (a.vectors.size() != b.vectors.size()) return false;
    for (const auto& [name, v] : a.vectors) {
        const auto it = b.vectors.find(name);
        if (it == b.vectors.end() || it->second.size() != v.size()) return false;
        for (Eigen::Index i = 0; i < v.size(); ++i)
            if (std::memcmp(&v[i], &it->second[i], sizeof(double)) != 0) return false;  // bit-exact
    }
    return true;
}

}  // namespace

TEST_CASE("ngspice: resistive divider .op matches V*R2/(R1+R2)", "[ngspice]")
{
    NgspiceSession session;
    check_divider(session);

    // Empty vector list: every vector of the plot, under ngspice's names.
    const SimulationResult all = session.run(request(divider(2.0, 1000, 1000), {}));
    REQUIRE(all.vectors.count("out") == 1);
    REQUIRE(all.vectors.count("in") == 1);
    REQUIRE(all.vectors.count("v1#branch") == 1);
    CHECK(all.vectors.at("out")[0] == Approx(1.0).epsilon(1e-12));
    CHECK(all.vectors.at("in")[0] == Approx(2.0).epsilon(1e-12));
    CHECK(all.vectors.at("v1#branch")[0] == Approx(-1e-3).epsilon(1e-12));
    CHECK_THAT(all.log, Contains("stdout Circuit: divider"));
    CHECK(all.wall_s > 0);

    // Windows line ends and a missing .end are accepted.
    const SimulationResult crlf = session.run(request("crlf\r\nV1 in 0 1\r\nR1 in out 1k\r\nR2 out 0 1k\r\n.op\r\n"));
    CHECK(crlf.vectors.at("v(out)")[0] == Approx(0.5).epsilon(1e-12));
}

TEST_CASE("ngspice: RC step response follows 1 - exp(-t/RC)", "[ngspice]")
{
    // R = 1 kOhm, C = 1 nF: tau = 1 us; 5 tau simulated with the step capped at tau/100.
    // Tolerance: ngspice integrates with the trapezoidal rule; for y' = (1 - y)/tau its
    // global error is about (h^2 / 12 tau^2) * (t/tau) e^(-t/tau) <= (1e-4 / 12) / e
    // ~ 3e-6 V at h = tau/100. The check allows 3e-5 V (0.003 % of the 1 V step) for
    // ngspice's own step choices below h (breakpoints, first steps with backward Euler).
    const double r = 1e3, c = 1e-9, tau = r * c;
    NgspiceSession session;
    const SimulationResult res = session.run(request(rc_step(r, c, 5 * tau, tau / 100), {"time", "v(out)"}));
    const Eigen::VectorXd& t = res.vectors.at("time");
    const Eigen::VectorXd& v = res.vectors.at("v(out)");
    REQUIRE(t.size() == v.size());
    REQUIRE(t.size() >= 500);  // the step cap was honoured
    CHECK(t[0] < 1e-9);
    CHECK(t[t.size() - 1] == Approx(5 * tau).epsilon(1e-9));
    double worst = 0;
    for (Eigen::Index i = 0; i < t.size(); ++i) worst = std::max(worst, std::abs(v[i] - (1 - std::exp(-t[i] / tau))));
    INFO("max |v - (1 - exp(-t/RC))| = " << worst << " V over " << t.size() << " points");
    CHECK(worst < 3e-5);
}

TEST_CASE("ngspice: every kind of bad netlist gives a clear NgspiceError and the session recovers", "[ngspice]")
{
    NgspiceSession session;
    check_divider(session);

    SECTION("bad expression {1/ } (ControlledExit: library reloaded)")
    {
        const int before = session.reloads();
        try {
            session.run(request("bad expression\nV1 in 0 {1/ }\nR1 in out 1k\nR2 out 0 3k\n.op\n.end\n"));
            FAIL("no error");
        } catch (const NgspiceError& e) {
            CHECK_THAT(e.message(), Contains("Expression err"));
            CHECK(e.line_number() == 2);
            CHECK(e.netlist_line() == "V1 in 0 {1/ }");
            CHECK(e.netlist_title() == "bad expression");
            CHECK_THAT(std::string(e.what()), Contains("line 2 \"V1 in 0 {1/ }\""));
            CHECK_THAT(std::string(e.what()), Contains("library reloaded"));
            CHECK_FALSE(e.output_tail().empty());
        }
        CHECK(session.reloads() == before + 1);
    }
    SECTION("missing model")
    {
        try {
            session.run(request("missing model\nV1 in 0 1\nR1 in out 1k\n\nD1 out 0 nosuch\n.op\n.end\n"));
            FAIL("no error");
        } catch (const NgspiceError& e) {
            CHECK_THAT(e.message(), Contains("can't find model 'nosuch'"));
            CHECK(e.line_number() == 5);  // the blank line counts in the netlist as given
            CHECK(e.netlist_line() == "D1 out 0 nosuch");
        }
    }
    SECTION("floating node (no DC path: singular matrix)")
    {
        try {
            session.run(request("floating\nV1 in 0 1\nR1 in out 1k\nC1 out x 1p\n.op\n.end\n"));
            FAIL("no error");
        } catch (const NgspiceError& e) {
            CHECK_THAT(e.message(), Contains("singular matrix"));
            CHECK_THAT(e.message(), Contains("check node x"));
            CHECK(e.netlist_line() == "C1 out x 1p");
        }
    }
    SECTION("quit inside the netlist (ControlledExit: library reloaded)")
    {
        const int before = session.reloads();
        try {
            session.run(request("quitter\nV1 in 0 1\nR1 in out 1k\nR2 out 0 3k\n.control\nquit\n.endc\n.op\n.end\n"));
            FAIL("no error");
        } catch (const NgspiceError& e) {
            CHECK_THAT(e.message(), Contains("'quit'"));
        }
        CHECK(session.reloads() == before + 1);
    }
    SECTION("no analysis card")
    {
        CHECK_THROWS_WITH(session.run(request("no analysis\nV1 in 0 1\nR1 in 0 1k\n.end\n")),
                          Contains("run simulation not started"));
    }
    SECTION("unknown subcircuit names its line")
    {
        try {
            session.run(request("subckt\nV1 in 0 1\nX1 in out nosub\nR2 out 0 3k\n.op\n.end\n"));
            FAIL("no error");
        } catch (const NgspiceError& e) {
            CHECK_THAT(e.message(), Contains("unknown subckt"));
            CHECK(e.line_number() == 3);
        }
    }
    SECTION("a vector the plot does not have")
    {
        CHECK_THROWS_WITH(session.run(request(divider(1, 1e3, 1e3), {"v(nosuch)"})),
                          Contains("no vector 'v(nosuch)' in plot op1"));
    }
    SECTION("a bad timeout")
    {
        CHECK_THROWS_WITH(session.run(request(divider(1, 1e3, 1e3), {"v(out)"}, 0.0)), Contains("timeout_s"));
        CHECK_THROWS_WITH(session.run(request(divider(1, 1e3, 1e3), {"v(out)"}, std::nan(""))), Contains("timeout_s"));
    }
    SECTION("an endless run times out (bg_halt)")
    {
        const auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_WITH(session.run(request(kEndless, {"v(out)"}, 0.3)), Contains("timed out after 0.3 s"));
        CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5.0);
    }
    // The next valid simulation in the same process gives the right numbers.
    check_divider(session);
    check_divider(session);
}

TEST_CASE("ngspice: 100 bad netlists in a row neither crash nor grow RSS by 50 MB", "[ngspice]")
{
    const std::vector<std::string> bad = {
        "bad expression\nV1 in 0 {1/ }\nR1 in out 1k\nR2 out 0 3k\n.op\n.end\n",
        "missing model\nV1 in 0 1\nR1 in out 1k\nD1 out 0 nosuch\n.op\n.end\n",
        "floating\nV1 in 0 1\nR1 in out 1k\nC1 out x 1p\n.op\n.end\n",
        "quitter\nV1 in 0 1\nR1 in out 1k\nR2 out 0 3k\n.control\nquit\n.endc\n.op\n.end\n",
    };
    NgspiceSession session;
    // Warm up: first-use allocations (library, code models, allocator pools) are not growth.
    for (const auto& netlist : bad) CHECK_THROWS_AS(session.run(request(netlist)), NgspiceError);
    check_divider(session);

    const long before = vm_rss_kib();
    const int reloads_before = session.reloads();
    int errors = 0;
    for (int i = 0; i < 100; ++i) {
        try {
            session.run(request(bad[static_cast<std::size_t>(i) % bad.size()]));
        } catch (const NgspiceError&) {
            ++errors;
        }
    }
    const long after = vm_rss_kib();
    INFO("VmRSS before " << before << " KiB, after " << after << " KiB, growth " << (after - before) << " KiB; reloads "
                         << session.reloads() - reloads_before);
    CHECK(errors == 100);
    CHECK(session.reloads() - reloads_before == 50);  // bad expression + quit
    CHECK(after - before < 50 * 1024);
    check_divider(session);
}

TEST_CASE("ngspice: a missing library is a clear NgspiceError", "[ngspice]")
{
    CHECK_THROWS_WITH(NgspiceSession("/nonexistent/libngspice.so.0"), Contains("cannot load /nonexistent/libngspice.so.0"));
}

TEST_CASE("ngspice: two sessions in one process (the second loads a private copy)", "[ngspice]")
{
    NgspiceSession a;
    NgspiceSession b;
    check_divider(a);
    check_divider(b);
    CHECK_THROWS_AS(a.run(request("bad\nV1 in 0 {1/ }\n.op\n")), NgspiceError);  // reloads a only
    check_divider(b);
    check_divider(a);
}

TEST_CASE("ngspice pool: a batch returns in request order, identical to in-process results", "[ngspice]")
{
    std::vector<SimulationRequest> batch;
    for (int i = 0; i < 8; ++i) batch.push_back(request(ladder(i), {"time", "v(n16)", "v(n8)", "i(vin)"}));
    batch.push_back(request(divider(1.5, 1000, 3000), {}));  // all vectors of an .op plot

    NgspiceSession session;
    std::vector<SimulationResult> expected;
    for (const auto& r : batch) expected.push_back(session.run(r));

    WorkerPool pool(2, kWorker);
    REQUIRE(pool.size() == 2);
    for (int pid : pool.worker_pids()) CHECK(pid > 0);
    const std::vector<WorkerOutcome> out = pool.run_batch(batch);
    REQUIRE(out.size() == batch.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        INFO("request " << i << ": " << out[i].error);
        REQUIRE(out[i].ok);
        CHECK(out[i].attempts == 1);
        CHECK(same_vectors(out[i].result, expected[i]));
    }
    CHECK(out[3].result.vectors.at("v(n16)").size() > 300);
    CHECK(pool.restarts() == 0);
    // The pool is reusable.
    const auto again = pool.run_batch({batch[0]});
    REQUIRE(again.size() == 1);
    CHECK(again[0].ok);
    CHECK(same_vectors(again[0].result, expected[0]));
    CHECK(pool.run_batch({}).empty());
}

TEST_CASE("ngspice pool: ngspice errors are reported, not retried; the worker carries on", "[ngspice]")
{
    WorkerPool pool(1, kWorker);
    const auto out = pool.run_batch({
        request(divider(1.5, 1000, 3000), {"v(out)"}),
        request("bad expression\nV1 in 0 {1/ }\n.op\n"),
        request("missing model\nV1 in 0 1\nR1 in out 1k\nD1 out 0 nosuch\n.op\n"),
        request(divider(1.5, 1000, 3000), {"v(out)"}),
    });
    REQUIRE(out.size() == 4);
    CHECK(out[0].ok);
    CHECK_FALSE(out[1].ok);
    CHECK_THAT(out[1].error, Contains("Expression err"));
    CHECK_THAT(out[1].error, Contains("line 2"));
    CHECK(out[1].attempts == 1);
    CHECK_FALSE(out[2].ok);
    CHECK_THAT(out[2].error, Contains("can't find model 'nosuch'"));
    REQUIRE(out[3].ok);
    CHECK(out[3].result.vectors.at("v(out)")[0] == Approx(1.125).epsilon(1e-12));
    CHECK(pool.restarts() == 0);
}

TEST_CASE("ngspice pool: a crashing worker is restarted and its request retried, then reported", "[ngspice]")
{
    WorkerPool pool(2, kWorker);
    std::vector<SimulationRequest> batch;
    for (int i = 0; i < 4; ++i) batch.push_back(request(ladder(i), {"v(n16)"}));
    batch.insert(batch.begin() + 1, request(kCrasher));
    const auto out = pool.run_batch(batch, 1);
    REQUIRE(out.size() == 5);
    CHECK_FALSE(out[1].ok);
    CHECK(out[1].attempts == 2);
    // A plain build dies of SIGSEGV; under AddressSanitizer its handler reports and exits 1.
    CHECK_THAT(out[1].error, Contains("SIGSEGV") || Contains("exited with status"));
    CHECK_THAT(out[1].error, Contains("worker pid"));
    for (std::size_t i : {0u, 2u, 3u, 4u}) {
        INFO("request " << i << ": " << out[i].error);
        CHECK(out[i].ok);
    }
    CHECK(pool.restarts() >= 2);
}

TEST_CASE("ngspice pool: a worker killed mid-run is retried once, then reported failed", "[ngspice]")
{
    WorkerPool pool(2, kWorker);
    std::vector<std::thread> killers;
    std::mutex mutex;
    std::vector<int> killed_attempts;
    bool kill_every_attempt = false;
    const std::size_t victim = 2;
    // Kill the worker 150 ms after it received the victim request.
    pool.set_dispatch_hook([&](std::size_t index, int attempt, int pid) {
        if (index != victim || (attempt > 1 && !kill_every_attempt)) return;
        std::lock_guard lock(mutex);
        killed_attempts.push_back(attempt);
        killers.emplace_back([pid] {
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
            ::kill(pid, SIGKILL);
        });
    });
    auto join = [&] {
        for (auto& t : killers) t.join();
        killers.clear();
    };

    SECTION("killed once: the retry succeeds")
    {
        std::vector<SimulationRequest> batch;
        for (int i = 0; i < 6; ++i) batch.push_back(request(ladder(i), {"v(n16)"}));
        // The victim runs ~1 s (2e5 steps) so that the kill lands mid-run.
        batch[victim] = request(rc_step(1e3, 1e-9, 2e-4, 1e-9), {"v(out)"});
        const auto out = pool.run_batch(batch, 1);
        join();
        REQUIRE(killed_attempts == std::vector<int>{1});
        for (std::size_t i = 0; i < out.size(); ++i) {
            INFO("request " << i << ": " << out[i].error);
            CHECK(out[i].ok);
            CHECK(out[i].attempts == (i == victim ? 2 : 1));
        }
        CHECK(out[victim].result.vectors.at("v(out)").size() > 1000);
    }
    SECTION("killed again: reported failed after 2 attempts, the others complete")
    {
        kill_every_attempt = true;
        std::vector<SimulationRequest> batch;
        for (int i = 0; i < 6; ++i) batch.push_back(request(ladder(i), {"v(n16)"}));
        batch[victim] = request(kEndless);
        const auto out = pool.run_batch(batch, 1);
        join();
        CHECK(killed_attempts == std::vector<int>{1, 2});
        CHECK_FALSE(out[victim].ok);
        CHECK_FALSE(out[victim].timed_out);
        CHECK(out[victim].attempts == 2);
        CHECK_THAT(out[victim].error, Contains("killed by signal 9 (SIGKILL)"));
        CHECK_THAT(out[victim].error, Contains("attempt 2 of 2"));
        for (std::size_t i = 0; i < out.size(); ++i)
            if (i != victim) {
                INFO("request " << i << ": " << out[i].error);
                CHECK(out[i].ok);
            }
    }
    pool.set_dispatch_hook({});
}

TEST_CASE("ngspice pool: a timeout kills the worker, reports, and the batch continues", "[ngspice]")
{
    WorkerPool pool(2, kWorker);
    std::vector<SimulationRequest> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(request(ladder(i), {"v(n16)"}));
    batch[1] = request(kEndless, {"v(out)"}, 0.5);
    const auto start = std::chrono::steady_clock::now();
    const auto out = pool.run_batch(batch, 1);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(elapsed < 10.0);
    CHECK_FALSE(out[1].ok);
    CHECK(out[1].timed_out);
    CHECK(out[1].attempts == 1);  // timeouts are not retried
    CHECK_THAT(out[1].error, Contains("timed out after 0.5 s"));
    for (std::size_t i : {0u, 2u, 3u, 4u}) {
        INFO("request " << i << ": " << out[i].error);
        CHECK(out[i].ok);
    }
    CHECK(pool.restarts() == 1);  // the killed worker was replaced
    for (int pid : pool.worker_pids()) CHECK(pid > 0);
}

TEST_CASE("ngspice pool: the timeout also covers loading (a .control block that loops forever)", "[ngspice]")
{
    // In-process, ngSpice_Circ runs .control blocks synchronously and cannot be
    // interrupted; in a worker the pool's SIGKILL bounds it.
    WorkerPool pool(1, kWorker);
    const std::string loop = "loop\nV1 in 0 1\nR1 in 0 1k\n.control\nlet a = 0\nwhile a < 1\nlet b = 1\nend\n.endc\n.op\n.end\n";
    const auto out = pool.run_batch({request(loop, {"v(in)"}, 0.4), request(divider(1.5, 1000, 3000))});
    REQUIRE(out.size() == 2);
    CHECK(out[0].timed_out);
    CHECK_THAT(out[0].error, Contains("timed out after 0.4 s"));
    REQUIRE(out[1].ok);
    CHECK(out[1].result.vectors.at("v(out)")[0] == Approx(1.125).epsilon(1e-12));
}

TEST_CASE("ngspice pool: a missing worker executable is a clear NgspiceError", "[ngspice]")
{
    CHECK_THROWS_WITH(WorkerPool(1, "/nonexistent/nladc-spice-worker"), Contains("cannot start the ngspice worker"));
    CHECK_THROWS_WITH(WorkerPool(0, kWorker), Contains("at least 1 worker"));
}

TEST_CASE("ngspice pool: the default worker path finds the build tree's worker", "[ngspice]")
{
    if (std::getenv("NLADC_SPICE_WORKER")) return;
    const std::string path = default_worker_path();
    CHECK(std::filesystem::equivalent(path, kWorker));
}
