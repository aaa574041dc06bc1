// diag: the totals of `ss -s` from /proc/net/sockstat{,6} and /proc/net/snmp.
#include <fmt/format.h>

#include <charconv>

#include "socklab/diag.hpp"

namespace socklab::diag {
namespace {

/// The number after `key ` in the line starting with `head` ("TCP:"), or 0.
long field(std::string_view text, std::string_view head, std::string_view key) {
    for (std::size_t at = 0; at < text.size();) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(at, end - at);
        at = end + 1;
        if (line.substr(0, head.size()) != head || line.size() == head.size() ||
            line[head.size()] != ' ')
            continue;
        // Built by appends: GCC 12 at -O3 reports a false -Wrestrict for " " + std::string.
        std::string needle(1, ' ');
        needle.append(key).push_back(' ');
        std::size_t k = line.find(needle);
        if (k == std::string_view::npos) return 0;
        k += key.size() + 2;
        long v = 0;
        std::from_chars(line.data() + k, line.data() + line.size(), v);
        return v;
    }
    return 0;
}

/// snmp's "Tcp:" CurrEstab: the value under that name on the second Tcp: line.
long curr_estab(std::string_view snmp) {
    const std::size_t names = snmp.find("Tcp: ");
    if (names == std::string_view::npos) return 0;
    const std::size_t names_end = snmp.find('\n', names);
    const std::size_t values = snmp.find("Tcp: ", names_end);
    if (names_end == std::string_view::npos || values == std::string_view::npos) return 0;
    std::string_view n = snmp.substr(names, names_end - names);
    std::string_view v = snmp.substr(values, snmp.find('\n', values) - values);
    while (!n.empty() && !v.empty()) {
        const std::size_t ns = n.find(' '), vs = v.find(' ');
        const std::string_view name = n.substr(0, ns), value = v.substr(0, vs);
        if (name == "CurrEstab") {
            long out = 0;
            std::from_chars(value.data(), value.data() + value.size(), out);
            return out;
        }
        if (ns == std::string_view::npos || vs == std::string_view::npos) break;
        n.remove_prefix(ns + 1);
        v.remove_prefix(vs + 1);
    }
    return 0;
}

}  // namespace

SsTotals parse_ss_totals(std::string_view st, std::string_view st6, std::string_view snmp) {
    // ss's fields: which file (0 sockstat, 1 sockstat6), line head and key.
    struct Field {
        long SsTotals::*into;
        int file;
        std::string_view head, key;
    };
    static constexpr Field kFields[] = {
        {&SsTotals::socks, 0, "sockets:", "used"},     {&SsTotals::tcp4, 0, "TCP:", "inuse"},
        {&SsTotals::tcp_orphans, 0, "TCP:", "orphan"}, {&SsTotals::tcp_tws, 0, "TCP:", "tw"},
        {&SsTotals::tcp_total, 0, "TCP:", "alloc"},    {&SsTotals::udp4, 0, "UDP:", "inuse"},
        {&SsTotals::raw4, 0, "RAW:", "inuse"},         {&SsTotals::frag4, 0, "FRAG:", "inuse"},
        {&SsTotals::tcp6, 1, "TCP6:", "inuse"},        {&SsTotals::udp6, 1, "UDP6:", "inuse"},
        {&SsTotals::raw6, 1, "RAW6:", "inuse"},        {&SsTotals::frag6, 1, "FRAG6:", "inuse"},
    };
    SsTotals t;
    for (const auto& f : kFields)
        t.*f.into = field(f.file == 0 ? st : st6, f.head, f.key);
    t.tcp_estab = curr_estab(snmp);
    return t;
}

Result<SsTotals> read_ss_totals(const std::string& proc_root) {
    constexpr std::size_t cap = 64 * 1024;
    auto st = read_file(proc_root + "/net/sockstat", cap);
    if (!st) return st.error();
    auto st6 = read_file(proc_root + "/net/sockstat6", cap);
    auto snmp = read_file(proc_root + "/net/snmp", cap);
    return parse_ss_totals(*st, st6 ? *st6 : std::string(), snmp ? *snmp : std::string());
}

std::string format_ss_totals(const SsTotals& s) {
    const auto row = [](std::string_view name, long v4, long v6) {
        return fmt::format("{}\t  {:<9} {:<9} {:<9}\n", name, v4 + v6, v4, v6);
    };
    return fmt::format("Total: {}\n", s.socks) +
           fmt::format("TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})\n\n",
                       s.tcp_total + s.tcp_tws, s.tcp_estab,
                       s.tcp_total - (s.tcp4 + s.tcp6 - s.tcp_tws), s.tcp_orphans, s.tcp_tws) +
           "Transport Total     IP        IPv6\n" + row("RAW", s.raw4, s.raw6) +
           row("UDP", s.udp4, s.udp6) + row("TCP", s.tcp4, s.tcp6) +
           row("INET", s.raw4 + s.udp4 + s.tcp4, s.raw6 + s.udp6 + s.tcp6) +
           row("FRAG", s.frag4, s.frag6) + "\n";
}

}  // namespace socklab::diag
