// model: SocketRecord, endpoints, and the ONE state table with every spelling.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"

namespace socklab {

/// Kernel TCP state numbers (include/net/tcp_states.h). UDP and unix sockets reuse
/// them: an unconnected UDP socket is CLOSE, a connected one ESTABLISHED.
enum class TcpState : std::uint8_t {
    unknown = 0,
    established = 1,
    syn_sent = 2,
    syn_recv = 3,
    fin_wait1 = 4,
    fin_wait2 = 5,
    time_wait = 6,
    close = 7,
    close_wait = 8,
    last_ack = 9,
    listen = 10,
    closing = 11,
    new_syn_recv = 12,    ///< request socket; inet_diag reports it as SYN_RECV
    bound_inactive = 13,  ///< bound, not listening (Linux 6.5+); shown as CLOSE
};
inline constexpr int kernel_state_count = 14;

/// Bit n set = kernel state n selected (the mask inet_diag takes).
using StateMask = std::uint32_t;
constexpr StateMask state_bit(TcpState s) {
    return StateMask{1} << static_cast<unsigned>(s);
}

/// One row of the state table: every dialect's spelling of one state.
struct StateInfo {
    TcpState state;
    std::string_view json;     ///< contract name: ESTABLISHED, SYN_RECV, FIN_WAIT1, CLOSE...
    std::string_view ss;       ///< ss: ESTAB, SYN-RECV, FIN-WAIT-1, UNCONN...
    std::string_view netstat;  ///< Linux netstat: ESTABLISHED, FIN_WAIT1, CLOSE...
    std::string_view windows;  ///< Windows netstat -an: LISTENING, SYN_RECEIVED, CLOSED...
    std::string_view tcpview;  ///< TCPView: Listen, Syn Received, Fin Wait 1...
    std::string_view label;    ///< what people write in prose: FIN_WAIT_1, SYN_RECV, CLOSED
};

/// All rows, in kernel-number order (index = kernel number).
[[nodiscard]] std::span<const StateInfo> state_table();
/// The row for a state; unknown numbers get the "UNKNOWN" row.
[[nodiscard]] const StateInfo& state_info(TcpState state);
/// The state for a kernel number (out-of-range numbers give unknown).
[[nodiscard]] TcpState state_from_kernel(unsigned number);
/// The state we display: new_syn_recv as syn_recv, bound_inactive as close.
[[nodiscard]] TcpState display_state(TcpState state);

/// Named sets of states (ss's groups plus ours).
struct StateGroup {
    std::string_view name;
    StateMask mask;
};
[[nodiscard]] std::span<const StateGroup> state_groups();

/// Every state ss can show (kernel 1..12): what `-a` selects.
inline constexpr StateMask all_states_mask = 0x1ffe;
/// ss's `connected`: all but LISTEN, CLOSE, TIME_WAIT and SYN_RECV.
[[nodiscard]] StateMask connected_mask();

/// Parses a state word or group in any spelling people type, case-insensitively:
/// "established", "estab", "ESTAB", "TIME_WAIT", "time-wait", "LISTENING",
/// "listen", "syn-received", "fin_wait_1", "closed", "unconn", "all", "bucket"...
/// Returns the mask, or nullopt when the word is not a state.
[[nodiscard]] std::optional<StateMask> parse_state_word(std::string_view word);
/// Parses one state name (not a group) in any spelling.
[[nodiscard]] std::optional<TcpState> parse_state(std::string_view word);

enum class Netid : std::uint8_t { tcp, udp, raw, unix_ };
enum class Family : std::uint8_t { inet, inet6, unix_ };
enum class UnixType : std::uint8_t { none, stream, dgram, seqpacket };

[[nodiscard]] std::string_view netid_name(Netid n);         ///< "tcp" "udp" "raw" "unix"
[[nodiscard]] std::string_view family_name(Family f);       ///< "inet" "inet6" "unix"
[[nodiscard]] std::string_view unix_type_name(UnixType t);  ///< "stream" "dgram" "seqpacket"
/// ss's Netid column: tcp udp raw u_str u_dgr u_seq.
[[nodiscard]] std::string_view ss_netid(Netid n, UnixType t);

/// An IPv4 or IPv6 address in network byte order (IPv4 in the first 4 bytes).
struct IpAddr {
    Family family = Family::inet;
    std::array<std::uint8_t, 16> bytes{};

    [[nodiscard]] bool is_any() const;
    [[nodiscard]] bool is_v4_mapped() const;
    /// "127.0.0.1", "::1", "::ffff:127.0.0.1"; "*" is the caller's choice for any.
    [[nodiscard]] std::string to_string() const;
    static std::optional<IpAddr> parse(std::string_view text);
    static IpAddr v4(std::uint32_t host_order);
    friend bool operator==(const IpAddr&, const IpAddr&) = default;
};

/// "127.0.0.1:80" or "[::1]:80": an address and a port (or "*") as people paste
/// them, IPv6 bracketed so the port stays readable. Wildcards are the caller's.
[[nodiscard]] std::string host_port(const IpAddr& addr, std::string_view port);

/// One end of a socket. Unix sockets use `path` ("@name" for abstract) and put
/// the inode in `port` as ss does.
struct Endpoint {
    IpAddr addr;
    std::uint32_t port = 0;
    std::string path;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

/// Kernel timer of a socket (inet_diag idiag_timer, /proc/net/tcp "tr").
struct TimerInfo {
    enum class Kind : std::uint8_t { off, on, keepalive, timewait, persist, unknown };
    Kind kind = Kind::off;
    std::uint32_t expires_ms = 0;
    std::uint32_t retrans = 0;
};
[[nodiscard]] std::string_view timer_kind_name(
    TimerInfo::Kind k);  ///< ss's: on keepalive timewait persist

/// The tcp_info fields we show (struct tcp_info, include/uapi/linux/tcp.h).
struct TcpInfo {
    std::uint8_t ca_state = 0, retransmits = 0, probes = 0, backoff = 0, options = 0;
    std::uint8_t snd_wscale = 0, rcv_wscale = 0;
    std::uint32_t rto_us = 0, ato_us = 0, snd_mss = 0, rcv_mss = 0;
    std::uint32_t unacked = 0, sacked = 0, lost = 0, retrans = 0;
    std::uint32_t last_data_sent_ms = 0, last_data_recv_ms = 0, last_ack_recv_ms = 0;
    std::uint32_t pmtu = 0, rcv_ssthresh = 0, rtt_us = 0, rttvar_us = 0, snd_ssthresh = 0;
    std::uint32_t snd_cwnd = 0, advmss = 0, reordering = 0, rcv_rtt_us = 0, rcv_space = 0;
    std::uint32_t total_retrans = 0, segs_out = 0, segs_in = 0, min_rtt_us = 0;
    std::uint64_t bytes_acked = 0, bytes_received = 0, bytes_sent = 0, bytes_retrans = 0;
    std::uint64_t delivery_rate = 0, pacing_rate = 0, busy_time_us = 0;
    std::uint32_t delivered = 0, notsent_bytes = 0, data_segs_out = 0, data_segs_in = 0;
    std::string congestion;  ///< INET_DIAG_CONG, e.g. "cubic"
};

/// Socket memory (INET_DIAG_SKMEMINFO / SK_MEMINFO_*).
struct MemInfo {
    std::uint32_t rmem_alloc = 0, rcvbuf = 0, wmem_alloc = 0, sndbuf = 0, fwd_alloc = 0;
    std::uint32_t wmem_queued = 0, optmem = 0, backlog = 0, drops = 0;
};

/// A process holding a socket open: one entry per (pid, fd).
struct Owner {
    int pid = 0;
    std::string comm;
    int fd = -1;
    friend bool operator==(const Owner&, const Owner&) = default;
};

/// One socket as every source reports it and every renderer shows it.
struct SocketRecord {
    Netid netid = Netid::tcp;
    Family family = Family::inet;
    TcpState state = TcpState::unknown;  ///< as the kernel said; see display_state()
    UnixType unix_type = UnixType::none;
    Endpoint local;
    Endpoint peer;
    std::uint32_t recv_q = 0;
    std::uint32_t send_q = 0;
    std::uint64_t inode = 0;  ///< 0 for TIME_WAIT and request sockets: they have no file
    std::uint32_t uid = 0;
    std::uint64_t cookie = 0;      ///< the kernel's socket cookie; stable for the socket's life
    std::uint32_t ifindex = 0;     ///< SO_BINDTODEVICE interface, 0 for none
    std::uint64_t peer_inode = 0;  ///< unix: the peer's inode
    /// IPV6_V6ONLY as sock_diag said (INET_DIAG_SKV6ONLY); unset from /proc.
    std::optional<bool> v6only;
    bool from_procfs = false;  ///< read from /proc/net: no cookie, tcp_info or memory
    std::optional<TimerInfo> timer;
    Box<TcpInfo> tcp_info;
    Box<MemInfo> mem;
    std::vector<Owner> owners;
};

/// The ephemeral port range (net.ipv4.ip_local_port_range): where the kernel picks a
/// port for bind(port 0) and connect() without bind. Linux's default is 32768-60999.
struct EphemeralRange {
    std::uint32_t lo = 32768;
    std::uint32_t hi = 60999;
    [[nodiscard]] bool contains(std::uint32_t port) const { return port >= lo && port <= hi; }
};
/// The sysctl's text ("32768\t60999\n", or with one space as a SysctlReader gives it):
/// two ports 1-65535, the first not above the second (as the kernel's handler demands);
/// nullopt for anything else.
[[nodiscard]] std::optional<EphemeralRange> parse_ephemeral_range(std::string_view text);

/// Per-state counts, indexed by kernel state number (display states only): the
/// one count type of --counts, the status line, -s and the doctor.
using StateCounts = std::array<std::uint64_t, kernel_state_count>;

/// Room for any numeric address text (INET6_ADDRSTRLEN).
using HostText = std::array<char, 46>;
/// Numeric address text written into `buf`: "127.0.0.1", "::1", "0.0.0.0" (no
/// brackets, no "*": the wildcard is the address it is). Valid while `buf` is.
[[nodiscard]] std::string_view numeric_host(const IpAddr& addr, HostText& buf);

/// "pid/comm": the one label of a process in groupings and listings.
[[nodiscard]] std::string process_label(const Owner& owner);

/// The socket object's base keys (JSON CONTRACT in sockls(1)), in their order:
/// netid family state local_addr local_port peer_addr peer_port recv_q send_q
/// inode uid cookie.
[[nodiscard]] std::span<const std::string_view> socket_keys();
/// Appends `s` as a JSON string with quotes. Control characters, quotes and
/// backslashes are escaped; bytes that are not valid UTF-8 become \u00XX so the
/// result is always valid JSON. The one JSON string escaper of the tree.
void append_json_string(fmt::memory_buffer& out, std::string_view s);
/// Appends `s` as one RFC 4180 CSV field: quoted when it holds a comma, quote,
/// CR or LF, quotes doubled.
void append_csv_field(fmt::memory_buffer& out, std::string_view s);
/// Appends the base members of the socket object, `"netid":"tcp",...,"cookie":N`
/// without braces: the one writer sockls (json, jsonl) and sockwatch (jsonl)
/// share. `with_state` false leaves out "state" (an event writes its own).
void append_socket_json(fmt::memory_buffer& out, const SocketRecord& record, bool with_state);
/// Appends the base fields as CSV, in socket_keys() order.
void append_socket_csv(fmt::memory_buffer& out, const SocketRecord& record);

}  // namespace socklab
