// packet: capture on the loopback interface (AF_PACKET) and pcap files (libpcap).
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "socklab/packet.hpp"

namespace socklab::packet {
namespace {

// Bounds one drain: a scenario's own segments are a few hundred at most.
constexpr int max_per_drain = 100000;
// Room for every segment of a scenario between two drains.
constexpr int capture_rcvbuf = 4 << 20;

}  // namespace

Result<Capture> Capture::open_loopback() {
    Fd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    if (!fd) return errno_error("capture: socket(AF_PACKET)");
    const unsigned index = ::if_nametoindex("lo");
    if (index == 0) return errno_error("capture: interface lo");
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_ALL);
    at.sll_ifindex = static_cast<int>(index);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0)
        return errno_error("capture: bind to lo");
    const int size = capture_rcvbuf;
    // RCVBUFFORCE needs CAP_NET_ADMIN (ours in a private namespace); else the cap.
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    const int on = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0)
        return errno_error("capture: SO_TIMESTAMPNS");
    return Capture(std::move(fd));
}

Result<void> Capture::drain() {
    for (int i = 0; i < max_per_drain; ++i) {
        std::array<std::uint8_t, snap_length> buf{};
        alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
        sockaddr_ll from{};
        iovec iov{buf.data(), buf.size()};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_TRUNC);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
            return errno_error("capture: recvmsg");
        }
        if (from.sll_pkttype == PACKET_OUTGOING) continue;  // lo: the same packet comes back in
        const std::size_t kept = std::min(static_cast<std::size_t>(n), buf.size());
        auto seg = decode(std::span<const std::uint8_t>(buf.data(), kept));
        if (!seg) continue;  // not TCP (or not a packet we can read): not the scenario's
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                timespec ts{};
                std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
                seg->time = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
            }
        }
        // TCP stamps its skbs with their departure time on another clock (EDT pacing),
        // and lo may pass such a stamp on: a time before the previous packet's is that,
        // so the previous time stands in (capture order is the wire's order).
        if (!segments_.empty() && seg->time < segments_.back().time)
            seg->time = segments_.back().time;
        seg->bytes.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(kept));
        segments_.push_back(std::move(seg.value()));
    }
    return {};
}

Result<void> write_pcap(const std::string& path, std::span<const Segment> segments) {
    std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(
        pcap_open_dead(DLT_RAW, static_cast<int>(snap_length)), &pcap_close);
    if (!dead) return make_error(std::errc::not_enough_memory, "pcap: pcap_open_dead");
    std::unique_ptr<pcap_dumper_t, decltype(&pcap_dump_close)> dump(
        pcap_dump_open(dead.get(), path.c_str()), &pcap_dump_close);
    if (!dump) return make_error(std::errc::io_error, path + ": " + pcap_geterr(dead.get()));
    for (const auto& s : segments) {
        pcap_pkthdr h{};
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(s.time).count();
        h.ts.tv_sec = static_cast<time_t>(us / 1000000);
        h.ts.tv_usec = static_cast<suseconds_t>(us % 1000000);
        h.caplen = static_cast<bpf_u_int32>(s.bytes.size());
        h.len = std::max<bpf_u_int32>(s.wire_length, h.caplen);
        pcap_dump(reinterpret_cast<u_char*>(dump.get()), &h, s.bytes.data());
    }
    if (pcap_dump_flush(dump.get()) != 0) return errno_error(path + ": write");
    return {};
}

}  // namespace socklab::packet
