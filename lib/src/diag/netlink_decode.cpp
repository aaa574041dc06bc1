// Builds sock_diag dump requests and decodes their replies into SocketRecords.
#include "socklab/detail/netlink_decode.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

namespace socklab::diag::detail {
namespace {

// include/net/tcp_states.h: TCP_NEW_SYN_RECV is 12; request sockets live there
// and inet_diag only dumps them when that bit is asked for.
constexpr StateMask new_syn_recv_bit = StateMask{1} << 12;

std::uint8_t family_number(Family f) {
    switch (f) {
        case Family::inet:
            return AF_INET;
        case Family::inet6:
            return AF_INET6;
        case Family::unix_:
            return AF_UNIX;
    }
    return AF_UNSPEC;
}

std::uint8_t protocol_number(Netid n) {
    switch (n) {
        case Netid::tcp:
            return IPPROTO_TCP;
        case Netid::udp:
            return IPPROTO_UDP;
        case Netid::raw:
            return IPPROTO_RAW;
        case Netid::unix_:
            return 0;
    }
    return 0;
}

template <class T>
void append_bytes(std::vector<std::byte>& buf, const T& value) {
    // resize + memcpy: GCC 12 -O3 misreads insert() from a cast pointer as an overflow.
    const std::size_t old = buf.size();
    buf.resize(old + sizeof(T));
    std::memcpy(buf.data() + old, &value, sizeof(T));
}

void pad_to_alignment(std::vector<std::byte>& buf) {
    buf.resize(NLMSG_ALIGN(buf.size()), std::byte{0});
}

Error malformed(std::string what) {
    return make_error(std::errc::bad_message, "sock_diag reply: " + std::move(what));
}

/// One netlink attribute: its type and the bytes of its payload (inside the chunk).
struct Attr {
    unsigned type = 0;
    std::span<const std::byte> data;
};

/// Walks the rtattrs in `bytes`, calling `fn` for each. Every length is checked
/// against what is left, so a lying rta_len can never make us read past the end.
template <class Fn>
Result<void> walk_attrs(std::span<const std::byte> bytes, Fn&& fn) {
    while (bytes.size() >= sizeof(rtattr)) {
        rtattr head{};
        std::memcpy(&head, bytes.data(), sizeof head);
        if (head.rta_len < sizeof(rtattr) || head.rta_len > bytes.size()) {
            return malformed("attribute length " + std::to_string(head.rta_len) + " past the end");
        }
        fn(Attr{static_cast<unsigned>(head.rta_type & NLA_TYPE_MASK),
                bytes.subspan(RTA_LENGTH(0), head.rta_len - RTA_LENGTH(0))});
        bytes = bytes.subspan(std::min<std::size_t>(RTA_ALIGN(head.rta_len), bytes.size()));
    }
    return {};
}

/// Copies min(sizeof(T), data.size()) bytes: older kernels send shorter structs
/// (tcp_info grows with every release), the missing tail stays zero.
template <class T>
T read_prefix(std::span<const std::byte> data) {
    T value{};
    std::memcpy(&value, data.data(), std::min(sizeof(T), data.size()));
    return value;
}

std::string_view attr_string(std::span<const std::byte> data) {
    std::string_view s(reinterpret_cast<const char*>(data.data()), data.size());
    const auto nul = s.find('\0');
    return nul == std::string_view::npos ? s : s.substr(0, nul);
}

TimerInfo::Kind timer_kind(unsigned number) {
    // inet_diag_msg.idiag_timer and /proc/net/tcp "tr" share numbering
    // (net/ipv4/inet_diag.c, tcp_ipv4.c get_tcp4_sock): 1 retransmit, 2 keepalive
    // (sk_timer), 3 TIME_WAIT, 4 zero-window probe.
    switch (number) {
        case 0:
            return TimerInfo::Kind::off;
        case 1:
            return TimerInfo::Kind::on;
        case 2:
            return TimerInfo::Kind::keepalive;
        case 3:
            return TimerInfo::Kind::timewait;
        case 4:
            return TimerInfo::Kind::persist;
        default:
            return TimerInfo::Kind::unknown;
    }
}

TcpInfo to_tcp_info(const tcp_info& k) {
    TcpInfo t;
    t.ca_state = k.tcpi_ca_state;
    t.retransmits = k.tcpi_retransmits;
    t.probes = k.tcpi_probes;
    t.backoff = k.tcpi_backoff;
    t.options = k.tcpi_options;
    t.snd_wscale = k.tcpi_snd_wscale;
    t.rcv_wscale = k.tcpi_rcv_wscale;
    t.rto_us = k.tcpi_rto;
    t.ato_us = k.tcpi_ato;
    t.snd_mss = k.tcpi_snd_mss;
    t.rcv_mss = k.tcpi_rcv_mss;
    t.unacked = k.tcpi_unacked;
    t.sacked = k.tcpi_sacked;
    t.lost = k.tcpi_lost;
    t.retrans = k.tcpi_retrans;
    t.last_data_sent_ms = k.tcpi_last_data_sent;
    t.last_data_recv_ms = k.tcpi_last_data_recv;
    t.last_ack_recv_ms = k.tcpi_last_ack_recv;
    t.pmtu = k.tcpi_pmtu;
    t.rcv_ssthresh = k.tcpi_rcv_ssthresh;
    t.rtt_us = k.tcpi_rtt;
    t.rttvar_us = k.tcpi_rttvar;
    t.snd_ssthresh = k.tcpi_snd_ssthresh;
    t.snd_cwnd = k.tcpi_snd_cwnd;
    t.advmss = k.tcpi_advmss;
    t.reordering = k.tcpi_reordering;
    t.rcv_rtt_us = k.tcpi_rcv_rtt;
    t.rcv_space = k.tcpi_rcv_space;
    t.total_retrans = k.tcpi_total_retrans;
    t.segs_out = k.tcpi_segs_out;
    t.segs_in = k.tcpi_segs_in;
    t.min_rtt_us = k.tcpi_min_rtt;
    t.bytes_acked = k.tcpi_bytes_acked;
    t.bytes_received = k.tcpi_bytes_received;
    t.bytes_sent = k.tcpi_bytes_sent;
    t.bytes_retrans = k.tcpi_bytes_retrans;
    t.delivery_rate = k.tcpi_delivery_rate;
    t.pacing_rate = k.tcpi_pacing_rate;
    t.busy_time_us = k.tcpi_busy_time;
    t.delivered = k.tcpi_delivered;
    t.notsent_bytes = k.tcpi_notsent_bytes;
    t.data_segs_out = k.tcpi_data_segs_out;
    t.data_segs_in = k.tcpi_data_segs_in;
    return t;
}

MemInfo to_mem_info(std::span<const std::byte> data) {
    const auto v = read_prefix<std::array<std::uint32_t, SK_MEMINFO_VARS>>(data);
    MemInfo m;
    m.rmem_alloc = v[SK_MEMINFO_RMEM_ALLOC];
    m.rcvbuf = v[SK_MEMINFO_RCVBUF];
    m.wmem_alloc = v[SK_MEMINFO_WMEM_ALLOC];
    m.sndbuf = v[SK_MEMINFO_SNDBUF];
    m.fwd_alloc = v[SK_MEMINFO_FWD_ALLOC];
    m.wmem_queued = v[SK_MEMINFO_WMEM_QUEUED];
    m.optmem = v[SK_MEMINFO_OPTMEM];
    m.backlog = v[SK_MEMINFO_BACKLOG];
    m.drops = v[SK_MEMINFO_DROPS];
    return m;
}

std::uint64_t join_cookie(const std::uint32_t (&words)[2]) {
    // sock_diag_save_cookie(): word 0 is the low half, word 1 the high half (as ss joins them).
    return (std::uint64_t{words[1]} << 32) | words[0];
}

Endpoint inet_endpoint(Family family, const std::uint32_t (&addr)[4], std::uint16_t port_be) {
    Endpoint e;
    e.addr.family = family;
    std::memcpy(e.addr.bytes.data(), addr, family == Family::inet ? 4 : 16);
    e.port = ntohs(port_be);
    return e;
}

Result<void> decode_inet(std::span<const std::byte> payload, DumpRequest request,
                         std::vector<SocketRecord>& out) {
    if (payload.size() < sizeof(inet_diag_msg)) return malformed("short inet_diag_msg");
    inet_diag_msg m{};
    std::memcpy(&m, payload.data(), sizeof m);
    if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6) {
        return malformed("address family " + std::to_string(m.idiag_family));
    }
    SocketRecord& r = out.emplace_back();
    r.netid = request.netid;
    r.family = m.idiag_family == AF_INET ? Family::inet : Family::inet6;
    r.state = state_from_kernel(m.idiag_state);
    r.local = inet_endpoint(r.family, m.id.idiag_src, m.id.idiag_sport);
    r.peer = inet_endpoint(r.family, m.id.idiag_dst, m.id.idiag_dport);
    // For LISTEN, tcp_diag_get_info() already puts the accept queue in rqueue and
    // the backlog in wqueue, which is what ss shows.
    r.recv_q = m.idiag_rqueue;
    r.send_q = m.idiag_wqueue;
    r.inode = m.idiag_inode;
    r.uid = m.idiag_uid;
    r.cookie = join_cookie(m.id.idiag_cookie);
    r.ifindex = m.id.idiag_if;
    if (m.idiag_timer != 0) {
        r.timer = TimerInfo{timer_kind(m.idiag_timer), m.idiag_expires, m.idiag_retrans};
    }
    std::string_view congestion;
    auto res = walk_attrs(payload.subspan(NLMSG_ALIGN(sizeof m)), [&](const Attr& a) {
        switch (a.type) {
            case INET_DIAG_INFO:
                r.tcp_info = to_tcp_info(read_prefix<tcp_info>(a.data));
                break;
            case INET_DIAG_CONG:
                congestion = attr_string(a.data);
                break;
            case INET_DIAG_SKMEMINFO:
                r.mem = to_mem_info(a.data);
                break;
            case INET_DIAG_SKV6ONLY:
                if (!a.data.empty() && r.family == Family::inet6)
                    r.v6only = std::to_integer<unsigned>(a.data[0]) != 0;
                break;
            default:
                break;
        }
    });
    if (!res) {
        out.pop_back();
        return res;
    }
    if (!congestion.empty()) {
        if (!r.tcp_info) r.tcp_info.emplace();
        r.tcp_info->congestion = std::string(congestion);
    }
    return {};
}

UnixType unix_type(unsigned type) {
    switch (type) {
        case SOCK_STREAM:
            return UnixType::stream;
        case SOCK_DGRAM:
            return UnixType::dgram;
        case SOCK_SEQPACKET:
            return UnixType::seqpacket;
        default:
            return UnixType::none;
    }
}

/// UNIX_DIAG_NAME is sun_path without terminator; abstract names start with a
/// NUL, shown as '@' (every NUL in them is, as /proc/net/unix prints it).
std::string unix_path(std::span<const std::byte> data) {
    std::string path(reinterpret_cast<const char*>(data.data()), data.size());
    if (!path.empty() && path[0] == '\0') {
        std::replace(path.begin(), path.end(), '\0', '@');
    } else {
        path = std::string(attr_string(data));
    }
    return path;
}

Result<void> decode_unix(std::span<const std::byte> payload, std::vector<SocketRecord>& out) {
    if (payload.size() < sizeof(unix_diag_msg)) return malformed("short unix_diag_msg");
    unix_diag_msg m{};
    std::memcpy(&m, payload.data(), sizeof m);
    SocketRecord& r = out.emplace_back();
    r.netid = Netid::unix_;
    r.family = Family::unix_;
    r.unix_type = unix_type(m.udiag_type);
    r.state = state_from_kernel(m.udiag_state);
    r.inode = m.udiag_ino;
    r.local.port = m.udiag_ino;  // ss shows the inode in the port column
    r.cookie = join_cookie(m.udiag_cookie);
    auto res = walk_attrs(payload.subspan(NLMSG_ALIGN(sizeof m)), [&](const Attr& a) {
        switch (a.type) {
            case UNIX_DIAG_NAME:
                r.local.path = unix_path(a.data);
                break;
            case UNIX_DIAG_PEER:
                r.peer_inode = read_prefix<std::uint32_t>(a.data);
                r.peer.port = static_cast<std::uint32_t>(r.peer_inode);
                break;
            case UNIX_DIAG_RQLEN: {
                const auto q = read_prefix<unix_diag_rqlen>(a.data);
                r.recv_q = q.udiag_rqueue;
                r.send_q = q.udiag_wqueue;
                break;
            }
            case UNIX_DIAG_UID:
                r.uid = read_prefix<std::uint32_t>(a.data);
                break;
            case UNIX_DIAG_MEMINFO:
                r.mem = to_mem_info(a.data);
                break;
            default:
                break;
        }
    });
    if (!res) out.pop_back();
    return res;
}

}  // namespace

std::string describe(DumpRequest request) {
    std::string s = "sock_diag dump ";
    s += netid_name(request.netid);
    if (request.family != Family::unix_) s += request.family == Family::inet ? "4" : "6";
    return s;
}

std::vector<DumpRequest> plan_requests(const Query& query) {
    std::vector<DumpRequest> plan;
    for (const auto& [want, netid] :
         {std::pair{query.tcp, Netid::tcp}, std::pair{query.udp, Netid::udp},
          std::pair{query.raw, Netid::raw}}) {
        if (!want) continue;
        if (query.ipv4) plan.push_back({netid, Family::inet});
        if (query.ipv6) plan.push_back({netid, Family::inet6});
    }
    if (query.unix_) plan.push_back({Netid::unix_, Family::unix_});
    return plan;
}

StateMask kernel_states(const Query& query, Netid netid) {
    StateMask mask = query.states;
    if (netid == Netid::tcp && (mask & state_bit(TcpState::syn_recv)) != 0) {
        mask |= new_syn_recv_bit;
    }
    return mask;
}

std::vector<std::byte> build_request(const Query& query, DumpRequest request, std::uint32_t seq) {
    std::vector<std::byte> buf;
    buf.reserve(NLMSG_SPACE(sizeof(inet_diag_req_v2)) + RTA_SPACE(query.bytecode.size()));
    nlmsghdr head{};
    head.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    head.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    head.nlmsg_seq = seq;
    append_bytes(buf, head);
    pad_to_alignment(buf);
    if (request.netid == Netid::unix_) {
        unix_diag_req req{};
        req.sdiag_family = AF_UNIX;
        req.udiag_states = kernel_states(query, request.netid);
        req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
        if (query.want_memory) req.udiag_show |= UDIAG_SHOW_MEMINFO;
        append_bytes(buf, req);
    } else {
        inet_diag_req_v2 req{};
        req.sdiag_family = family_number(request.family);
        req.sdiag_protocol = protocol_number(request.netid);
        req.idiag_states = kernel_states(query, request.netid);
        // idiag_ext bit (n-1) asks for attribute n (inet_diag.h).
        if (query.want_info) {
            req.idiag_ext |= 1U << (INET_DIAG_INFO - 1);
            req.idiag_ext |= 1U << (INET_DIAG_CONG - 1);
        }
        if (query.want_memory) req.idiag_ext |= 1U << (INET_DIAG_SKMEMINFO - 1);
        append_bytes(buf, req);
        if (!query.bytecode.empty()) {
            pad_to_alignment(buf);
            rtattr attr{};
            attr.rta_type = INET_DIAG_REQ_BYTECODE;
            attr.rta_len = static_cast<unsigned short>(RTA_LENGTH(query.bytecode.size()));
            append_bytes(buf, attr);
            buf.insert(buf.end(), query.bytecode.begin(), query.bytecode.end());
        }
    }
    pad_to_alignment(buf);
    const auto total = static_cast<std::uint32_t>(buf.size());
    std::memcpy(buf.data() + offsetof(nlmsghdr, nlmsg_len), &total, sizeof total);
    return buf;
}

std::vector<std::byte> build_destroy(const SocketRecord& record, std::uint32_t seq) {
    std::vector<std::byte> buf;
    nlmsghdr head{};
    head.nlmsg_len = NLMSG_LENGTH(sizeof(inet_diag_req_v2));
    head.nlmsg_type = SOCK_DESTROY;
    head.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    head.nlmsg_seq = seq;
    append_bytes(buf, head);
    pad_to_alignment(buf);
    inet_diag_req_v2 req{};
    req.sdiag_family = family_number(record.family);
    req.sdiag_protocol = protocol_number(record.netid);
    req.idiag_states = ~StateMask{0};
    const std::size_t addr_len = record.family == Family::inet ? 4 : 16;
    std::memcpy(req.id.idiag_src, record.local.addr.bytes.data(), addr_len);
    std::memcpy(req.id.idiag_dst, record.peer.addr.bytes.data(), addr_len);
    req.id.idiag_sport = htons(static_cast<std::uint16_t>(record.local.port));
    req.id.idiag_dport = htons(static_cast<std::uint16_t>(record.peer.port));
    req.id.idiag_if = record.ifindex;
    req.id.idiag_cookie[0] = static_cast<std::uint32_t>(record.cookie);
    req.id.idiag_cookie[1] = static_cast<std::uint32_t>(record.cookie >> 32);
    append_bytes(buf, req);
    pad_to_alignment(buf);
    return buf;
}

Result<void> decode_ack(std::span<const std::byte> chunk, const std::string& context) {
    if (chunk.size() < NLMSG_HDRLEN + sizeof(int)) return malformed("short acknowledgement");
    nlmsghdr head{};
    std::memcpy(&head, chunk.data(), sizeof head);
    if (head.nlmsg_type != NLMSG_ERROR || head.nlmsg_len > chunk.size()) {
        return malformed("expected an acknowledgement");
    }
    int err = 0;
    std::memcpy(&err, chunk.data() + NLMSG_HDRLEN, sizeof err);
    if (err == 0) return {};
    return errno_error(context, err < 0 ? -err : EPROTO);
}

Result<bool> decode_replies(std::span<const std::byte> chunk, DumpRequest request,
                            std::vector<SocketRecord>& out) {
    while (!chunk.empty()) {
        if (chunk.size() < sizeof(nlmsghdr)) return malformed("truncated netlink header");
        nlmsghdr head{};
        std::memcpy(&head, chunk.data(), sizeof head);
        if (head.nlmsg_len < sizeof(nlmsghdr) || head.nlmsg_len > chunk.size()) {
            return malformed("message length " + std::to_string(head.nlmsg_len) + " past the end");
        }
        const auto payload = chunk.subspan(NLMSG_HDRLEN, head.nlmsg_len - NLMSG_HDRLEN);
        chunk = chunk.subspan(std::min<std::size_t>(NLMSG_ALIGN(head.nlmsg_len), chunk.size()));
        if (head.nlmsg_type == NLMSG_DONE || head.nlmsg_type == NLMSG_ERROR) {
            // NLMSG_DONE carries the dump's status: a negative errno when the dump
            // failed, e.g. -ENOENT when no diag module handles the protocol
            // (raw_diag not loaded). NLMSG_ERROR always carries one.
            int err = 0;
            if (payload.size() >= sizeof err) std::memcpy(&err, payload.data(), sizeof err);
            if (head.nlmsg_type == NLMSG_ERROR && payload.size() < sizeof err) {
                return malformed("short NLMSG_ERROR");
            }
            if (err < 0) return errno_error(describe(request), -err);
            if (head.nlmsg_type == NLMSG_ERROR) return malformed("unexpected acknowledgement");
            return true;
        }
        if (head.nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
        auto res = request.netid == Netid::unix_ ? decode_unix(payload, out)
                                                 : decode_inet(payload, request, out);
        if (!res) return res.error();
    }
    return false;
}

}  // namespace socklab::diag::detail
