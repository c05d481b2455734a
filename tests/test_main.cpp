// The one translation unit that holds Catch2's main (BRIEF §6: keep it alone). It also
// serves as the small launcher of run_cli_peak_rss (support.hpp).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <string_view>

#include "launcher.hpp"

int main(int argc, char* argv[])
{
    if (argc >= 4 && std::string_view(argv[1]) == nladc::test::kPeakRssLauncher)
        return nladc::test::launch_and_report_peak_rss(argv[2], argv + 3);
    return Catch::Session().run(argc, argv);
}
