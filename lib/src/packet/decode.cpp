// packet: the bounds-checked IPv4/IPv6/TCP decoder and the flag names.
#include <fmt/format.h>

#include <cstring>

#include "socklab/packet.hpp"

namespace socklab::packet {
namespace {

constexpr std::uint8_t proto_tcp = 6;
constexpr std::size_t tcp_fixed = 20;

std::uint16_t be16(std::span<const std::uint8_t> d, std::size_t at) {
    return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}

std::uint32_t be32(std::span<const std::uint8_t> d, std::size_t at) {
    return (std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) |
           (std::uint32_t{d[at + 2]} << 8) | std::uint32_t{d[at + 3]};
}

Error bad(std::string why) {
    return make_error(std::errc::invalid_argument, std::move(why));
}

IpAddr addr_of(Family family, std::span<const std::uint8_t> bytes) {
    IpAddr a;
    a.family = family;
    std::memcpy(a.bytes.data(), bytes.data(), bytes.size());
    return a;
}

/// Where the TCP header starts and how many bytes the IP layer says follow it.
struct Network {
    Family family = Family::inet;
    IpAddr src;
    IpAddr dst;
    std::size_t tcp_at = 0;
    std::size_t tcp_length = 0;  ///< TCP header + payload per the IP lengths
};

Result<Network> ipv4(std::span<const std::uint8_t> d) {
    if (d.size() < 20) return bad("IPv4 header cut short");
    const std::size_t ihl = static_cast<std::size_t>(d[0] & 0x0f) * 4;
    if (ihl < 20) return bad("IPv4 header length below 20");
    if (d.size() < ihl) return bad("IPv4 options cut short");
    const std::size_t total = be16(d, 2);
    if (total < ihl) return bad("IPv4 total length below its header");
    if ((be16(d, 6) & 0x1fff) != 0) return bad("IPv4 fragment after the first");
    if (d[9] != proto_tcp) return bad("not TCP");
    Network n;
    n.family = Family::inet;
    n.src = addr_of(Family::inet, d.subspan(12, 4));
    n.dst = addr_of(Family::inet, d.subspan(16, 4));
    n.tcp_at = ihl;
    n.tcp_length = total - ihl;
    return n;
}

Result<Network> ipv6(std::span<const std::uint8_t> d) {
    if (d.size() < 40) return bad("IPv6 header cut short");
    std::size_t left = be16(d, 4);  // payload length: extension headers included
    std::uint8_t next = d[6];
    std::size_t at = 40;
    // Hop-by-hop (0), routing (43) and destination options (60) share one layout;
    // a fragment header (44) is 8 bytes. At most a handful: bounded by the bytes.
    for (int hops = 0; next != proto_tcp; ++hops) {
        if (hops >= 8) return bad("IPv6: too many extension headers");
        if (next == 44) {
            if (d.size() < at + 8 || left < 8) return bad("IPv6 fragment header cut short");
            if ((be16(d, at + 2) & 0xfff8) != 0) return bad("IPv6 fragment after the first");
            next = d[at];
            at += 8;
            left -= 8;
            continue;
        }
        if (next != 0 && next != 43 && next != 60) return bad("not TCP");
        if (d.size() < at + 2) return bad("IPv6 extension header cut short");
        const std::size_t len = (static_cast<std::size_t>(d[at + 1]) + 1) * 8;
        if (d.size() < at + len || left < len) return bad("IPv6 extension header cut short");
        next = d[at];
        at += len;
        left -= len;
    }
    Network n;
    n.family = Family::inet6;
    n.src = addr_of(Family::inet6, d.subspan(8, 16));
    n.dst = addr_of(Family::inet6, d.subspan(24, 16));
    n.tcp_at = at;
    n.tcp_length = left;
    return n;
}

}  // namespace

Result<TcpOptions> decode_options(std::span<const std::uint8_t> o) {
    TcpOptions out;
    std::size_t i = 0;
    while (i < o.size()) {
        const std::uint8_t kind = o[i];
        if (kind == 0) break;  // end of options
        if (kind == 1) {       // no-operation
            ++i;
            continue;
        }
        if (i + 1 >= o.size()) return bad(fmt::format("TCP option {} has no length", kind));
        const std::size_t len = o[i + 1];
        if (len < 2 || i + len > o.size())
            return bad(fmt::format("TCP option {}: length {} does not fit", kind, len));
        const auto body = o.subspan(i + 2, len - 2);
        auto want = [&](std::size_t n) -> Result<void> {
            if (body.size() != n)
                return bad(fmt::format("TCP option {}: length {}, not {}", kind, len, n + 2));
            return {};
        };
        switch (kind) {
            case 2:
                if (auto r = want(2); !r) return r.error();
                out.mss = be16(body, 0);
                break;
            case 3:
                if (auto r = want(1); !r) return r.error();
                out.wscale = body[0];
                break;
            case 4:
                if (auto r = want(0); !r) return r.error();
                out.sack_permitted = true;
                break;
            case 5:
                if (body.empty() || body.size() % 8 != 0 || body.size() > 32)
                    return bad(fmt::format("TCP option 5: length {} is no SACK block list", len));
                for (std::size_t b = 0; b < body.size(); b += 8)
                    out.sack.emplace_back(be32(body, b), be32(body, b + 4));
                break;
            case 8:
                if (auto r = want(8); !r) return r.error();
                out.timestamps = std::pair{be32(body, 0), be32(body, 4)};
                break;
            default:
                break;  // unknown kinds are skipped by their length
        }
        i += len;
    }
    return out;
}

Result<Segment> decode(std::span<const std::uint8_t> d) {
    if (d.empty()) return bad("empty packet");
    const unsigned version = d[0] >> 4;
    Result<Network> net = version == 4 ? ipv4(d)
                          : version == 6
                              ? ipv6(d)
                              : Result<Network>(bad(fmt::format("IP version {}", version)));
    if (!net) return net.error();
    const std::size_t at = net->tcp_at;
    if (net->tcp_length < tcp_fixed || d.size() < at + tcp_fixed)
        return bad("TCP header cut short");
    const auto tcp = d.subspan(at);
    const std::size_t hlen = static_cast<std::size_t>(tcp[12] >> 4) * 4;
    if (hlen < tcp_fixed) return bad("TCP data offset below 20");
    if (hlen > net->tcp_length || hlen > tcp.size()) return bad("TCP options cut short");
    auto opts = decode_options(tcp.subspan(tcp_fixed, hlen - tcp_fixed));
    if (!opts) return opts.error();
    Segment s;
    s.src.addr = net->src;
    s.dst.addr = net->dst;
    s.src.port = be16(tcp, 0);
    s.dst.port = be16(tcp, 2);
    s.seq = be32(tcp, 4);
    s.ack = be32(tcp, 8);
    s.flags = tcp[13];
    s.window = be16(tcp, 14);
    s.payload = static_cast<std::uint32_t>(net->tcp_length - hlen);
    s.options = std::move(opts.value());
    s.wire_length = static_cast<std::uint32_t>(at + net->tcp_length);
    return s;
}

std::string flags_text(std::uint8_t flags) {
    static constexpr std::pair<std::uint8_t, std::string_view> names[] = {
        {syn, "SYN"}, {rst, "RST"}, {psh, "PSH"}, {fin, "FIN"},
        {urg, "URG"}, {ece, "ECE"}, {cwr, "CWR"}, {ack, "ACK"}};
    std::string out;
    for (const auto& [bit, name] : names) {
        if ((flags & bit) == 0) continue;
        if (!out.empty()) out += '-';
        out += name;
    }
    return out.empty() ? std::string("none") : out;
}

std::string tcpdump_flags(std::uint8_t flags) {
    static constexpr std::pair<std::uint8_t, char> letters[] = {
        {syn, 'S'}, {fin, 'F'}, {psh, 'P'}, {rst, 'R'}, {urg, 'U'}, {ece, 'E'}, {cwr, 'W'}};
    std::string out = "[";
    for (const auto& [bit, letter] : letters)
        if ((flags & bit) != 0) out += letter;
    if ((flags & ack) != 0) out += '.';
    if (out.size() == 1) out += "none";
    return out + "]";
}

}  // namespace socklab::packet
