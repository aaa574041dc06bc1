// Reads /proc/net/sockstat{,6} into a socket count estimate.
#include "diag/sockstat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string_view>

#include "socklab/core.hpp"

namespace socklab::diag {
namespace {

/// The number after `key` on the line starting with `label` ("TCP:", "inuse"), or 0.
std::size_t field(std::string_view text, std::string_view label, std::string_view key) {
    std::size_t line = 0;
    while (line < text.size()) {
        auto end = text.find('\n', line);
        if (end == std::string_view::npos) end = text.size();
        const auto row = text.substr(line, end - line);
        if (row.substr(0, label.size()) == label) {
            // The key as a word: spaces on both sides. Searched in place, not as a
            // concatenated " key " string, whose inlined copy GCC 12 at -O3 takes for
            // an overlapping memcpy (a false -Wrestrict on "literal" + std::string).
            for (auto at = row.find(key); at != std::string_view::npos;
                 at = row.find(key, at + 1)) {
                const auto after = at + key.size();
                if (at > 0 && row[at - 1] == ' ' && after < row.size() && row[after] == ' ')
                    return std::strtoull(row.data() + after + 1, nullptr, 10);
            }
            return 0;
        }
        line = end + 1;
    }
    return 0;
}

/// /proc/net/sockstat is a few lines; unreadable or absent reads as empty (no estimate).
std::string read_small_file(const std::string& path) {
    auto text = read_file(path, 4096);
    return text ? std::move(*text) : std::string();
}

}  // namespace

std::size_t estimate_socket_count(const Query& query, const std::string& proc_root) {
    const auto v4 = read_small_file(proc_root + "/net/sockstat");
    const auto v6 = read_small_file(proc_root + "/net/sockstat6");
    std::size_t n = 0;
    if (query.tcp) {
        if (query.ipv4) n += field(v4, "TCP:", "inuse") + field(v4, "TCP:", "tw");
        if (query.ipv6) n += field(v6, "TCP6:", "inuse");
    }
    if (query.udp) {
        if (query.ipv4) n += field(v4, "UDP:", "inuse");
        if (query.ipv6) n += field(v6, "UDP6:", "inuse");
    }
    if (query.raw) {
        if (query.ipv4) n += field(v4, "RAW:", "inuse");
        if (query.ipv6) n += field(v6, "RAW6:", "inuse");
    }
    // Unix sockets have no line of their own; "sockets: used" counts every socket.
    if (query.unix_) n += field(v4, "sockets:", "used");
    // A guess only: bounded so a bogus file cannot make us reserve gigabytes.
    constexpr std::size_t cap = std::size_t{1} << 22;
    return n < cap ? n + 16 : cap;
}

}  // namespace socklab::diag
