// Unit tests for the packet module: the decoder's bounds, the flag names, our state
// machine over hand-built segments, and a pcap file read back by libpcap.
#include <pcap/pcap.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "socklab/packet.hpp"

using namespace socklab;
using packet::Flag;
using Bytes = std::vector<std::uint8_t>;

namespace {

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v));
}

struct Tcp {
    std::uint16_t sport = 40000;
    std::uint16_t dport = 80;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 65535;
    Bytes options{};
    std::size_t payload = 0;
};

Bytes tcp_bytes(const Tcp& t) {
    Bytes b;
    put16(b, t.sport);
    put16(b, t.dport);
    put32(b, t.seq);
    put32(b, t.ack);
    b.push_back(static_cast<std::uint8_t>(((20 + t.options.size()) / 4) << 4));
    b.push_back(t.flags);
    put16(b, t.window);
    put32(b, 0);  // checksum, urgent pointer
    b.insert(b.end(), t.options.begin(), t.options.end());
    b.insert(b.end(), t.payload, 'x');
    return b;
}

Bytes ipv4(const Tcp& t, std::uint8_t last_src = 1, std::uint8_t last_dst = 1) {
    const Bytes tcp = tcp_bytes(t);
    Bytes b{0x45, 0};
    put16(b, static_cast<std::uint16_t>(20 + tcp.size()));
    put32(b, 0x4000);  // id 0, DF
    b.insert(b.end(), {64, 6, 0, 0, 127, 0, 0, last_src, 127, 0, 0, last_dst});
    b.insert(b.end(), tcp.begin(), tcp.end());
    return b;
}

Bytes ipv6(const Tcp& t, Bytes ext = {}, std::uint8_t next = 6) {
    const Bytes tcp = tcp_bytes(t);
    Bytes b{0x60, 0, 0, 0};
    put16(b, static_cast<std::uint16_t>(ext.size() + tcp.size()));
    b.push_back(ext.empty() ? 6 : next);
    b.push_back(64);
    for (int i = 0; i < 2; ++i) {
        b.insert(b.end(), 15, 0);
        b.push_back(1);  // ::1
    }
    b.insert(b.end(), ext.begin(), ext.end());
    b.insert(b.end(), tcp.begin(), tcp.end());
    return b;
}

packet::Segment seg(const Tcp& t) {
    auto s = packet::decode(ipv4(t, t.sport == 80 ? 2 : 1, t.sport == 80 ? 1 : 2));
    REQUIRE(s);
    return s.value();
}

}  // namespace

TEST_CASE("an IPv4 SYN decodes with its options", "[packet]") {
    // MSS 65495, SACK permitted, timestamps, NOP, window scale 7: Linux's SYN.
    const Bytes opts{2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    const auto s = packet::decode(ipv4({.seq = 1000, .flags = Flag::syn, .options = opts}));
    REQUIRE(s);
    CHECK(s->src.addr.to_string() == "127.0.0.1");
    CHECK(s->src.port == 40000);
    CHECK(s->dst.port == 80);
    CHECK(s->seq == 1000);
    CHECK(s->flags == Flag::syn);
    CHECK(s->payload == 0);
    CHECK(s->options.mss == 65495);
    CHECK(s->options.wscale == 7);
    CHECK(s->options.sack_permitted);
    REQUIRE(s->options.timestamps);
    CHECK(s->options.timestamps->first == 1);
    CHECK(s->wire_length == 60);
}

TEST_CASE("an IPv6 segment decodes through an extension header", "[packet]") {
    const Bytes hop{6, 0, 1, 4, 0, 0, 0, 0};  // hop-by-hop, next TCP, PadN
    const auto s =
        packet::decode(ipv6({.seq = 7, .ack = 9, .flags = Flag::ack, .payload = 100}, hop, 0));
    REQUIRE(s);
    CHECK(s->src.addr.family == Family::inet6);
    CHECK(s->dst.addr.to_string() == "::1");
    CHECK(s->payload == 100);
    CHECK(s->ack == 9);
}

TEST_CASE("the payload length comes from the IP header when the capture is cut", "[packet]") {
    Bytes b = ipv4({.flags = Flag::ack | Flag::psh, .payload = 1000});
    b.resize(60);
    const auto s = packet::decode(b);
    REQUIRE(s);
    CHECK(s->payload == 1000);
}

TEST_CASE("the decoder refuses every cut or inconsistent header", "[packet]") {
    const Bytes good = ipv4({.flags = Flag::syn, .options = {2, 4, 1, 0}});
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("cut at " << n);
        CHECK_FALSE(packet::decode(std::span(good.data(), n)));
    }
    Bytes udp = good;
    udp[9] = 17;
    CHECK(packet::decode(udp).error().context == "not TCP");
    Bytes frag = good;
    frag[7] = 8;  // fragment offset 8
    CHECK_FALSE(packet::decode(frag));
    Bytes small_total = good;
    small_total[3] = 30;  // total length shorter than the TCP header
    CHECK_FALSE(packet::decode(small_total));
    Bytes v5 = good;
    v5[0] = 0x55;
    CHECK_FALSE(packet::decode(v5));
    const Bytes v6 = ipv6({.flags = Flag::syn});
    for (std::size_t n = 0; n < v6.size(); ++n)
        CHECK_FALSE(packet::decode(std::span(v6.data(), n)));
}

TEST_CASE("TCP options are checked against their lengths", "[packet]") {
    CHECK(packet::decode_options(Bytes{1, 1, 0, 99}));             // NOP NOP EOL: rest ignored
    CHECK_FALSE(packet::decode_options(Bytes{2}));                 // no length
    CHECK_FALSE(packet::decode_options(Bytes{2, 1}));              // length below 2
    CHECK_FALSE(packet::decode_options(Bytes{2, 6, 0, 0}));        // longer than the area
    CHECK_FALSE(packet::decode_options(Bytes{2, 3, 0}));           // MSS of 1 byte
    CHECK_FALSE(packet::decode_options(Bytes{5, 6, 0, 0, 0, 0}));  // SACK block of 4 bytes
    auto sack = packet::decode_options(Bytes{5, 10, 0, 0, 0, 1, 0, 0, 0, 2});
    REQUIRE(sack);
    REQUIRE(sack->sack.size() == 1);
    CHECK(sack->sack[0].second == 2);
    CHECK(packet::decode_options(Bytes{30, 4, 0, 0}));  // unknown kind: skipped
}

TEST_CASE("flags are named as the lab texts and as tcpdump do", "[packet]") {
    CHECK(packet::flags_text(Flag::syn) == "SYN");
    CHECK(packet::flags_text(Flag::syn | Flag::ack) == "SYN-ACK");
    CHECK(packet::flags_text(Flag::fin | Flag::ack) == "FIN-ACK");
    CHECK(packet::flags_text(Flag::psh | Flag::ack) == "PSH-ACK");
    CHECK(packet::flags_text(Flag::rst) == "RST");
    CHECK(packet::flags_text(0) == "none");
    CHECK(packet::tcpdump_flags(Flag::syn | Flag::ack) == "[S.]");
    CHECK(packet::tcpdump_flags(Flag::fin | Flag::ack) == "[F.]");
    CHECK(packet::tcpdump_flags(Flag::rst) == "[R]");
}

namespace {

constexpr std::uint32_t J = 1000;        // client ISN
constexpr std::uint32_t K = 0xfffffff0;  // server ISN: wraps, relative numbers still work

Tcp c2s(std::uint32_t seq, std::uint32_t ack, std::uint8_t flags) {
    return {.sport = 40000, .dport = 80, .seq = seq, .ack = ack, .flags = flags};
}

Tcp s2c(std::uint32_t seq, std::uint32_t ack, std::uint8_t flags) {
    return {.sport = 80, .dport = 40000, .seq = seq, .ack = ack, .flags = flags};
}

/// A machine after the three-way handshake; checks the states on the way.
packet::Machine handshake() {
    packet::Machine m;
    auto a = m.feed(seg(c2s(J, 0, Flag::syn)));
    CHECK(a.sender == TcpState::syn_sent);
    CHECK(a.receiver == TcpState::unknown);
    CHECK(a.rel_seq == 0);
    auto b = m.feed(seg(s2c(K, J + 1, Flag::syn | Flag::ack)));
    CHECK(b.sender == TcpState::syn_recv);
    CHECK(b.receiver == TcpState::established);
    CHECK(b.relative);
    CHECK(b.rel_seq == 0);
    CHECK(b.rel_ack == 1);
    auto c = m.feed(seg(c2s(J + 1, K + 1, Flag::ack)));
    CHECK(c.receiver == TcpState::established);
    CHECK(c.rel_seq == 1);
    CHECK(c.rel_ack == 1);
    return m;
}

}  // namespace

TEST_CASE("the machine: handshake, active and passive close, TIME_WAIT", "[packet]") {
    auto m = handshake();
    auto fin = m.feed(seg(c2s(J + 1, K + 1, Flag::fin | Flag::ack)));
    CHECK(fin.sender == TcpState::fin_wait1);
    CHECK(fin.receiver == TcpState::close_wait);
    CHECK(m.feed(seg(s2c(K + 1, J + 2, Flag::ack))).receiver == TcpState::fin_wait2);
    auto last = m.feed(seg(s2c(K + 1, J + 2, Flag::fin | Flag::ack)));
    CHECK(last.sender == TcpState::last_ack);
    CHECK(last.receiver == TcpState::time_wait);
    CHECK(m.feed(seg(c2s(J + 2, K + 2, Flag::ack))).receiver == TcpState::close);
}

TEST_CASE("the machine: FIN+ACK in FIN_WAIT_1 goes straight to TIME_WAIT", "[packet]") {
    auto m = handshake();
    (void)m.feed(seg(c2s(J + 1, K + 1, Flag::fin | Flag::ack)));
    const auto both = m.feed(seg(s2c(K + 1, J + 2, Flag::fin | Flag::ack)));
    CHECK(both.receiver == TcpState::time_wait);
}

TEST_CASE("the machine: crossing FINs make CLOSING; a dropped ACK keeps it", "[packet]") {
    auto m = handshake();
    const auto a = m.feed(seg(c2s(J + 1, K + 1, Flag::fin | Flag::ack)), packet::Fate::dropped);
    CHECK(a.sender == TcpState::fin_wait1);
    CHECK(a.receiver == TcpState::established);  // never saw the FIN
    const auto b = m.feed(seg(s2c(K + 1, J + 1, Flag::fin | Flag::ack)));
    CHECK(b.sender == TcpState::fin_wait1);
    CHECK(b.receiver == TcpState::closing);
    const auto c = m.feed(seg(c2s(J + 2, K + 2, Flag::ack)), packet::Fate::dropped);
    CHECK(c.receiver == TcpState::fin_wait1);
    Endpoint client = seg(c2s(0, 0, 0)).src;
    Endpoint server = seg(c2s(0, 0, 0)).dst;
    CHECK(m.state(client, server) == TcpState::closing);
    CHECK(m.state(server, client) == TcpState::fin_wait1);
    CHECK_FALSE(m.state(client, client));
}

TEST_CASE("the machine: an ignored bare ACK leaves SYN_RECV; a RST closes", "[packet]") {
    packet::Machine m;
    (void)m.feed(seg(c2s(J, 0, Flag::syn)));
    (void)m.feed(seg(s2c(K, J + 1, Flag::syn | Flag::ack)));
    CHECK(m.feed(seg(c2s(J + 1, K + 1, Flag::ack)), packet::Fate::ignored).receiver ==
          TcpState::syn_recv);
    const auto r = m.feed(seg(c2s(J + 1, K + 1, Flag::rst | Flag::ack)));
    CHECK(r.sender == TcpState::close);
    CHECK(r.receiver == TcpState::close);
}

TEST_CASE("a pcap file is read back by libpcap with every segment", "[packet]") {
    std::vector<packet::Segment> segs{seg(c2s(J, 0, Flag::syn)),
                                      seg(s2c(K, J + 1, Flag::syn | Flag::ack))};
    for (auto& s : segs)
        s.bytes = ipv4(c2s(s.seq, s.ack, s.flags));
    segs[1].time = std::chrono::milliseconds(1500);
    const auto path = std::filesystem::temp_directory_path() / "socklab_packet_test.pcap";
    REQUIRE(packet::write_pcap(path.string(), segs));
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    REQUIRE(p != nullptr);
    CHECK(pcap_datalink(p) == DLT_RAW);
    int n = 0;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p, &h, &data) == 1 && n < 10) {
        auto back = packet::decode(std::span(data, h->caplen));
        REQUIRE(back);
        CHECK(back->flags == segs[static_cast<std::size_t>(n)].flags);
        if (n == 1) CHECK(h->ts.tv_sec == 1);
        ++n;
    }
    pcap_close(p);
    std::filesystem::remove(path);
    CHECK(n == 2);
    CHECK_FALSE(packet::write_pcap("/nonexistent/dir/x.pcap", segs));
}
