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
        std::size_t k = line.find(" " + std::string(key) + " ");
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
    SsTotals t;
    t.socks = field(st, "sockets:", "used");
    t.tcp4 = field(st, "TCP:", "inuse");
    t.tcp_orphans = field(st, "TCP:", "orphan");
    t.tcp_tws = field(st, "TCP:", "tw");
    t.tcp_total = field(st, "TCP:", "alloc");
    t.udp4 = field(st, "UDP:", "inuse");
    t.raw4 = field(st, "RAW:", "inuse");
    t.frag4 = field(st, "FRAG:", "inuse");
    t.tcp6 = field(st6, "TCP6:", "inuse");
    t.udp6 = field(st6, "UDP6:", "inuse");
    t.raw6 = field(st6, "RAW6:", "inuse");
    t.frag6 = field(st6, "FRAG6:", "inuse");
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
