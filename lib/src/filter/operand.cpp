// filter: the operands of conditions — ports and services, hosts and prefixes, devices.
#include "filter/operand.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace socklab::filter {
namespace {

[[noreturn]] void fail(std::size_t col, std::string what) {
    throw ParseFailure{col, std::move(what)};
}

// A port is 16 bits (RFC 9293 section 3.1): beyond it no inet socket can ever match,
// whatever tables are listed (a unix socket's "port" is its inode, but ss's users
// mean a port, and `sport = :70000` is a slip).
constexpr unsigned long long max_inet_port = 65535;
constexpr unsigned long long max_port_number = max_inet_port;

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool name_chars(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '+';
    });
}

// One protocol's entry in /etc/services (getservbyname_r: no static buffer).
std::optional<std::uint16_t> service_port(const std::string& name, const char* proto) {
    servent entry{};
    servent* found = nullptr;
    std::array<char, 1024> buf{};
    if (::getservbyname_r(name.c_str(), proto, &entry, buf.data(), buf.size(), &found) != 0 ||
        found == nullptr)
        return std::nullopt;
    return ntohs(static_cast<std::uint16_t>(found->s_port));
}

// A number read as strtoul(3) base 0 reads it, as ss does: "0x16" hex, "026" octal,
// "22" decimal; nullopt when `text` does not start like a number at all. A number
// with bad digits ("08", "0x") or above `max` is an error naming the rule.
std::optional<unsigned long long> base0_number(std::string_view text, std::size_t col,
                                               unsigned long long max, std::string_view what) {
    // A number is all digits, or 0x and anything ("0x1g" is a bad number);
    // "22x" may be a service name.
    const bool hex = text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    if (!hex && !all_digits(text)) return std::nullopt;
    unsigned base = 10;
    std::string_view digits = text;
    if (hex) {
        base = 16;
        digits.remove_prefix(2);
    } else if (text.size() > 1 && text[0] == '0') {
        base = 8;
        digits.remove_prefix(1);
    }
    const std::string bad =
        fmt::format("{} '{}' is not a number (a leading 0 is octal, 0x hex, as in ss)", what, text);
    if (digits.empty()) fail(col, bad);
    unsigned long long v = 0;
    for (const char c : digits) {
        unsigned d = 16;
        if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
        if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
        if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
        if (d >= base) fail(col, bad);
        v = v * base + d;
        if (v > max) fail(col, fmt::format("{} '{}' is out of range (0-{})", what, text, max));
    }
    return v;
}

// A number (a port up to `max`) or a service name; never wraps.
std::int64_t port_value(std::string_view text, std::size_t col, unsigned long long max) {
    if (text == "*") return -1;
    if (const auto v = base0_number(text, col, max, "port")) return static_cast<std::int64_t>(*v);
    if (!name_chars(text) || text.size() > 64)
        fail(col, fmt::format("expected a port number or service name, got '{}'", text));
    const std::string name(text);
    const auto tcp = service_port(name, "tcp");
    const auto udp = service_port(name, "udp");
    if (tcp && udp && *tcp != *udp)
        fail(col, fmt::format("service '{}' is ambiguous (tcp {}, udp {})", text, *tcp, *udp));
    if (tcp) return *tcp;
    if (udp) return *udp;
    fail(col, fmt::format("unknown service '{}'", text));
}

// The port after the ':' at `colon_col` ("" is the classic slip: `dst 10.0.0.1:`).
std::int64_t port_after_colon(std::string_view text, std::size_t colon_col,
                              unsigned long long max) {
    if (text.empty()) fail(colon_col, "expected a port after ':'");
    return port_value(text, colon_col + 1, max);
}

// iproute2's get_addr_ipv4(): one to four dotted parts, each a base-0 number up
// to 255, missing parts zero on the right ("10" is 10.0.0.0, "127.1" 127.1.0.0,
// "193.233.7" 193.233.7.0). nullopt when `text` is not of that shape.
std::optional<IpAddr> short_ipv4(std::string_view text) {
    IpAddr a;
    a.family = Family::inet;
    std::size_t part = 0;
    while (true) {
        const std::size_t dot = text.find('.');
        const std::string_view p = text.substr(0, dot);
        if (p.empty() || part == 4 || p.front() < '0' || p.front() > '9') return std::nullopt;
        std::optional<unsigned long long> v;
        try {
            v = base0_number(p, 0, 255, "part");
        } catch (const ParseFailure&) {
            return std::nullopt;
        }
        if (!v) return std::nullopt;
        a.bytes[part++] = static_cast<std::uint8_t>(*v);
        if (dot == std::string_view::npos) return a;
        text.remove_prefix(dot + 1);
    }
}

// A numeric address as ss reads one: IPv6 when it has a ':', else the short
// dotted IPv4 forms.
std::optional<IpAddr> numeric_addr(std::string_view text) {
    if (text.find(':') != std::string_view::npos) return IpAddr::parse(text);
    return short_ipv4(text);
}

// "ADDR" or "ADDR/N" into cond; false when ADDR is not numeric (maybe a name).
bool numeric_prefix(std::string_view text, std::size_t col, HostCond& cond) {
    const std::size_t slash = text.find('/');
    const auto addr = numeric_addr(text.substr(0, slash));
    if (!addr) {
        if (slash != std::string_view::npos)
            fail(col,
                 fmt::format("expected an address before '/', got '{}'", text.substr(0, slash)));
        return false;
    }
    const unsigned bits = addr->family == Family::inet ? 32 : 128;
    cond.addr = *addr;
    cond.prefix_len = bits;
    if (slash != std::string_view::npos) {
        const std::string_view len = text.substr(slash + 1);
        const std::string bad = fmt::format("expected a prefix length 0-{}, got '{}'", bits, len);
        if (!all_digits(len)) fail(col + slash + 1, bad);
        const auto v = parse_uint(len, 0, bits);
        if (!v.ok()) fail(col + slash + 1, bad);
        cond.prefix_len = static_cast<unsigned>(*v);
    }
    return true;
}

// Every address a host name resolves to (getaddrinfo; may block on DNS).
std::vector<IpAddr> resolve_name(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::vector<IpAddr> out;
    if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return out;
    for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        IpAddr a;
        if (ai->ai_family == AF_INET) {
            sockaddr_in sin{};
            std::memcpy(&sin, ai->ai_addr, sizeof sin);
            a.family = Family::inet;
            std::memcpy(a.bytes.data(), &sin.sin_addr, 4);
        } else if (ai->ai_family == AF_INET6) {
            sockaddr_in6 sin6{};
            std::memcpy(&sin6, ai->ai_addr, sizeof sin6);
            a.family = Family::inet6;
            std::memcpy(a.bytes.data(), &sin6.sin6_addr, 16);
        } else {
            continue;
        }
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    ::freeaddrinfo(res);
    return out;
}

// "ADDR[/N]" or a host name, with `port` already decided.
std::vector<HostCond> address_conds(std::string_view text, std::size_t col, std::int64_t port,
                                    bool resolve) {
    HostCond cond;
    cond.port = port;
    // iproute2's get_prefix_1(): "default", "any" and "all" are every address.
    if (text.empty() || text == "*" || text == "default" || text == "any" || text == "all")
        return {cond};
    if (numeric_prefix(text, col, cond)) return {cond};
    // Digits and dots that are no address ("256.1", "1.2.3.4.5") are no host name either.
    const bool dotted = std::all_of(text.begin(), text.end(),
                                    [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (!resolve || dotted || !name_chars(text) || text.size() > 253)
        fail(col, fmt::format("expected an address or prefix, got '{}'", text));
    std::vector<HostCond> out;
    for (const auto& a : resolve_name(std::string(text))) {
        HostCond c = cond;
        c.addr = a;
        c.prefix_len = a.family == Family::inet ? 32 : 128;
        out.push_back(c);
    }
    if (out.empty()) fail(col, fmt::format("cannot resolve host '{}'", text));
    return out;
}

// "[ADDR]", "[ADDR]/N", "[ADDR]:PORT", "[ADDR]/N:PORT".
std::vector<HostCond> bracketed(std::string_view text, std::size_t col, bool resolve) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) fail(col, "expected ']' to close the '['");
    const std::string_view inside = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    std::string_view prefix;
    if (!rest.empty() && rest.front() == '/') {
        const std::size_t colon = rest.find(':');
        prefix = rest.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
    }
    std::int64_t port = -1;
    const std::size_t rest_col = col + close + 1 + prefix.size();
    if (!rest.empty()) {
        if (rest.front() != ':') fail(rest_col, "expected ':PORT' after ']'");
        // An address is inet: its port is 16 bits whatever tables are listed.
        port = port_after_colon(rest.substr(1), rest_col, max_inet_port);
    }
    // ss's own form puts the prefix inside: "[fd00::/16]"; "[fd00::]/16" is taken too.
    const std::size_t in_slash = inside.find('/');
    if (in_slash != std::string_view::npos && !prefix.empty())
        fail(col + close + 1, "a prefix length both inside and after '[]'");
    if (!IpAddr::parse(inside.substr(0, in_slash)))
        fail(col + 1, fmt::format("expected an address inside '[]', got '{}'", inside));
    return address_conds(std::string(inside) + std::string(prefix), col + 1, port, resolve);
}

}  // namespace

std::int64_t parse_port_operand(std::string_view text, std::size_t col, std::string_view keyword,
                                bool inet_only) {
    std::string_view p = text;
    std::size_t pcol = col;
    if (!p.empty() && p.front() == ':') {
        p.remove_prefix(1);
        if (p.empty()) fail(col, "expected a port after ':'");
        ++pcol;
    }
    if (p.find_first_of(":[]/") != std::string_view::npos)
        fail(col, fmt::format("'{}' takes a port, not an address: '{}' (use '{}')", keyword, text,
                              keyword == "sport" ? "src" : "dst"));
    return port_value(p, pcol, inet_only ? max_inet_port : max_port_number);
}

std::vector<HostCond> parse_host_operand(std::string_view text, std::size_t col, bool resolve,
                                         bool inet_only) {
    const unsigned long long max_bare = inet_only ? max_inet_port : max_port_number;
    if (text.substr(0, 5) == "unix:") {
        HostCond c;
        c.unix_pattern = std::string(text.substr(5));
        return {c};
    }
    if (text.front() == '[') return bracketed(text, col, resolve);
    if (text.front() == '*') {
        const std::string_view rest = text.substr(1);
        if (rest.empty()) return {HostCond{}};
        if (rest.front() != ':') fail(col + 1, "expected ':PORT' after '*'");
        HostCond c;
        c.port = port_after_colon(rest.substr(1), col + 1, max_bare);
        return {c};
    }
    // ss splits at the last ':' after any '/': "10.0.0.1:22", "10.0.0.0/8:22", "::1:22".
    // Unbracketed IPv6 that does not split that way is taken whole ("fe80::1").
    const std::size_t slash = text.find('/');
    const std::size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        const std::string_view host = text.substr(0, colon);
        const std::string_view port = text.substr(colon + 1);
        const bool host_ok =
            host.empty() || host == "*" || numeric_addr(host.substr(0, host.find('/'))).has_value();
        const bool port_like = all_digits(port) || port == "*";
        const bool whole_v6 = IpAddr::parse(text.substr(0, slash)).has_value();
        if (!whole_v6 || (host_ok && port_like)) {
            const bool has_addr = !host.empty() && host != "*";
            const std::int64_t p =
                port_after_colon(port, col + colon, has_addr ? max_inet_port : max_bare);
            return address_conds(host, col, p, resolve);
        }
    }
    return address_conds(text, col, -1, resolve);
}

std::uint32_t parse_device_operand(std::string_view text, std::size_t col) {
    if (all_digits(text)) {
        const auto v = parse_uint(text, 0, 0xffffffffULL);
        if (!v.ok()) fail(col, fmt::format("device index '{}' is out of range", text));
        return static_cast<std::uint32_t>(*v);
    }
    if (text.size() >= IF_NAMESIZE || !name_chars(text))
        fail(col, fmt::format("expected a device name or index, got '{}'", text));
    const unsigned index = ::if_nametoindex(std::string(text).c_str());
    if (index == 0) fail(col, fmt::format("unknown device '{}'", text));
    return index;
}

}  // namespace socklab::filter
