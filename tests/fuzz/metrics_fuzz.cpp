// libFuzzer target for the metrics module's parsers: HTTP request heads (and the
// response built from them), /proc/net/netstat and snmp pairs, sockstat lines and
// --metrics addresses. The first byte picks the parser; the rest is its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "socklab/metrics.hpp"

namespace {

using namespace socklab;

void fuzz_request(std::string_view text) {
    const auto r = metrics::parse_request(text, 256);
    if (r.status == metrics::Request::Status::ok) {
        if (r.method.empty() || r.target.empty() || r.target.front() != '/') std::abort();
    }
    const auto reply =
        metrics::respond(r, [] { return Result<std::string>(std::string("m 1\n")); });
    if (reply.rfind("HTTP/1.1 ", 0) != 0) std::abort();
}

void fuzz_counters(std::string_view text, bool sockstat) {
    metrics::Counters c;
    (void)(sockstat ? metrics::parse_sockstat(text, c) : metrics::parse_paired(text, c));
    // Whatever parsed renders, and every label value stays on its line.
    metrics::HostSample s;
    s.counters = std::move(c);
    (void)metrics::render(s);
}

void fuzz_label(std::string_view text) {
    std::string out;
    metrics::append_label_value(out, text);
    if (out.find('\n') != std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 5) {
        case 0:
            fuzz_request(text);
            break;
        case 1:
            fuzz_counters(text, false);
            break;
        case 2:
            fuzz_counters(text, true);
            break;
        case 3:
            (void)metrics::parse_listen_address(text);
            break;
        default:
            fuzz_label(text);
            break;
    }
    return 0;
}
