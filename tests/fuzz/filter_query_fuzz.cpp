// libFuzzer target for sockls's other option parsers: ss's -A QUERY lists
// (listing::apply_query) and ss -s's /proc text (diag::parse_ss_totals).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "socklab/diag.hpp"
#include "socklab/listing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    socklab::listing::Request r;
    if (!socklab::listing::apply_query(text, r)) {
        // Accepted: some table is left, and a unix table lists some type.
        const bool some = r.tcp || r.udp || r.raw || r.unix_;
        if (!some || (r.unix_ && r.unix_types == 0) ||
            (r.unix_types & ~socklab::listing::kAllUnixTypes) != 0) {
            std::fprintf(stderr, "filter_query_fuzz: accepted %.*s with no table\n",
                         static_cast<int>(size), text.data());
            std::abort();
        }
    }
    const std::size_t third = size / 3;
    const auto totals = socklab::diag::parse_ss_totals(
        text.substr(0, third), text.substr(third, third), text.substr(2 * third));
    if (socklab::diag::format_ss_totals(totals).find("Transport Total") == std::string::npos)
        std::abort();
    return 0;
}
