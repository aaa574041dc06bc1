// filter: user-space evaluation of the AST (for /proc and replay sources) and its rendering.
#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <string>

#include "filter/ast.hpp"
#include "socklab/filter.hpp"

namespace socklab::filter {
namespace {

// First `bits` bits of two network-order byte strings agree (the kernel's
// bitstring_match in net/ipv4/inet_diag.c).
bool prefix_match(const std::uint8_t* a, const std::uint8_t* b, unsigned bits) {
    const unsigned whole = bits / 8;
    if (!std::equal(a, a + whole, b)) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
    return (a[whole] & mask) == (b[whole] & mask);
}

// INET_DIAG_BC_S_COND/D_COND as inet_diag_bc_run() evaluates them, so the user-space
// and the kernel paths agree; unix sockets as ss's run_ssfilter() treats them.
bool host_matches(const HostCond& c, const SocketRecord& r) {
    const Endpoint& ep = c.side == Side::local ? r.local : r.peer;
    if (c.unix_pattern) {
        return r.family == Family::unix_ &&
               ::fnmatch(c.unix_pattern->c_str(), ep.path.c_str(), FNM_CASEFOLD) == 0;
    }
    if (c.port >= 0 && c.port != static_cast<std::int64_t>(ep.port)) return false;
    if (!c.addr) return true;
    if (r.family == Family::unix_) return false;
    if (c.addr->family != r.family) {
        // An IPv4 rule also matches an IPv6 socket's v4-mapped address (::ffff:a.b.c.d).
        if (r.family == Family::inet6 && c.addr->family == Family::inet && ep.addr.is_v4_mapped())
            return prefix_match(ep.addr.bytes.data() + 12, c.addr->bytes.data(), c.prefix_len);
        return false;
    }
    return prefix_match(ep.addr.bytes.data(), c.addr->bytes.data(), c.prefix_len);
}

// ss's user-space `autobound`: a kernel-chosen port lies in the ephemeral range;
// a unix socket is autobound when unnamed or bound to an abstract "@xxxxx".
bool autobound(const Filter& f, const SocketRecord& r) {
    if (r.family == Family::unix_) {
        const std::string& p = r.local.path;
        return p.empty() || (p.size() == 6 && p[0] == '@' &&
                             p.find_first_not_of("0123456789abcdef", 1) == std::string::npos);
    }
    return r.local.port >= f.ephemeral_lo && r.local.port <= f.ephemeral_hi;
}

bool eval(const Node& n, const Filter& f, const SocketRecord& r) {
    switch (n.kind) {
        case Node::Kind::all_of:
            return std::all_of(n.children.begin(), n.children.end(),
                               [&](const Node& c) { return eval(c, f, r); });
        case Node::Kind::any_of:
            return std::any_of(n.children.begin(), n.children.end(),
                               [&](const Node& c) { return eval(c, f, r); });
        case Node::Kind::negate:
            return !eval(n.children.front(), f, r);
        case Node::Kind::host:
            return host_matches(n.host, r);
        case Node::Kind::port_cmp: {
            const std::uint32_t p = n.port.side == Side::local ? r.local.port : r.peer.port;
            return n.port.op == PortOp::ge ? p >= n.port.port : p <= n.port.port;
        }
        case Node::Kind::dev:
            return r.ifindex == n.ifindex;
        case Node::Kind::autobound:
            return autobound(f, r);
    }
    return false;
}

std::string describe_host(const HostCond& c) {
    const std::string_view kw = c.side == Side::local ? "src" : "dst";
    if (c.unix_pattern) return fmt::format("{} unix:{}", kw, *c.unix_pattern);
    if (!c.addr) {
        const std::string_view pk = c.side == Side::local ? "sport" : "dport";
        return c.port < 0 ? fmt::format("{} *", kw) : fmt::format("{} = :{}", pk, c.port);
    }
    std::string a = c.addr->to_string();
    if (c.addr->family == Family::inet6) a = "[" + a + "]";
    const unsigned bits = c.addr->family == Family::inet ? 32 : 128;
    if (c.prefix_len != bits) a += fmt::format("/{}", c.prefix_len);
    if (c.port >= 0) a += fmt::format(":{}", c.port);
    return fmt::format("{} {}", kw, a);
}

std::string describe_node(const Node& n) {
    switch (n.kind) {
        case Node::Kind::all_of:
        case Node::Kind::any_of: {
            std::string out = "(";
            for (std::size_t i = 0; i < n.children.size(); ++i) {
                if (i) out += n.kind == Node::Kind::all_of ? " and " : " or ";
                out += describe_node(n.children[i]);
            }
            return out + ")";
        }
        case Node::Kind::negate:
            return "not " + describe_node(n.children.front());
        case Node::Kind::host:
            return describe_host(n.host);
        case Node::Kind::port_cmp:
            return fmt::format("{} {} :{}", n.port.side == Side::local ? "sport" : "dport",
                               n.port.op == PortOp::ge ? ">=" : "<=", n.port.port);
        case Node::Kind::dev:
            return fmt::format("dev {}", n.ifindex);
        case Node::Kind::autobound:
            return "autobound";
    }
    return "?";
}

}  // namespace

bool matches(const Filter& filter, const SocketRecord& record) {
    if (static_cast<unsigned>(record.state) >= 32 || (filter.states & state_bit(record.state)) == 0)
        return false;
    return !filter.expr || eval(*filter.expr, filter, record);
}

std::string describe(const Filter& filter) {
    return filter.expr ? describe_node(*filter.expr) : std::string{};
}

}  // namespace socklab::filter
