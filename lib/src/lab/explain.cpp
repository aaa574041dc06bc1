// lab: the state explanations and sysctl notes, as data (RFC 9293 and the Linux source).
#include <fmt/format.h>
#include <algorithm>
#include <array>

#include "socklab/lab.hpp"

namespace socklab::lab {
namespace {

// Defaults are Linux 6.x's; "scaled" ones are computed at boot from memory or
// the established-hash size (tcp_init, inet_hashinfo sizing in net/ipv4/tcp.c).
constexpr std::array<SysctlDoc, 17> kSysctls{{
    {"net.ipv4.tcp_fin_timeout", "60",
     "seconds an orphaned FIN_WAIT2 socket (closed by its process) waits for the peer's FIN",
     "30 frees orphans sooner when peers never close; it does not shorten TIME_WAIT (fixed "
     "60 s) nor FIN_WAIT2 sockets a process still holds after shutdown()"},
    {"net.ipv4.tcp_max_syn_backlog", "scaled (>= 128)",
     "half-open (SYN_RECV) requests a listener keeps; without syncookies the kernel starts "
     "dropping SYNs at 3/4 of it",
     "raise it (e.g. 4096) together with net.core.somaxconn and the listen() backlog on busy "
     "servers; during a flood rely on tcp_syncookies"},
    {"net.core.somaxconn", "4096", "the cap on every listen() backlog (the accept queue)",
     "raise it only together with the application's own backlog"},
    {"net.ipv4.tcp_syncookies", "1",
     "1: when a listener's SYN queue overflows, answer with SYN cookies and keep no state",
     "keep it at 1: it is what keeps a SYN flood from filling the queue"},
    {"net.ipv4.tcp_synack_retries", "5",
     "SYN-ACK retransmissions before a half-open request is dropped (5: about 63 s)",
     "2 frees half-open entries after about 7 s during a flood"},
    {"net.ipv4.tcp_syn_retries", "6",
     "SYN retransmissions before connect() fails with ETIMEDOUT (6: about 127 s)",
     "2 or 3 makes clients give up on dead destinations in 7 or 15 s"},
    {"net.ipv4.tcp_tw_reuse", "2",
     "0 off; 1 lets new outgoing connections take a TIME_WAIT 4-tuple when timestamps prove it "
     "safe; 2 (default) does so for loopback only",
     "1 on hosts that open many outgoing connections to one destination. tcp_tw_recycle was "
     "removed in Linux 4.12 because it broke clients behind NAT: do not look for it"},
    {"net.ipv4.tcp_max_tw_buckets", "scaled",
     "the most TIME_WAIT sockets the host keeps; past it a closing socket skips TIME_WAIT and "
     "the kernel logs \"time wait bucket table overflow\"",
     "rarely worth changing: a TIME_WAIT socket costs a few hundred bytes and no process"},
    {"net.ipv4.ip_local_port_range", "32768 60999",
     "the ephemeral ports for outgoing connections; TIME_WAIT holds its port toward that peer",
     "widen it (e.g. 10000 65000) when connect() fails with EADDRNOTAVAIL"},
    {"net.ipv4.tcp_keepalive_time", "7200",
     "idle seconds before the first keepalive probe, for sockets with SO_KEEPALIVE only",
     "600 to 1200 finds vanished peers in minutes instead of hours; or set TCP_KEEPIDLE per "
     "socket"},
    {"net.ipv4.tcp_keepalive_intvl", "75", "seconds between keepalive probes",
     "with tcp_keepalive_probes it sets how long a dead peer is probed (9 x 75 s by default)"},
    {"net.ipv4.tcp_keepalive_probes", "9", "unanswered keepalive probes before the reset",
     "3 to 5 with a shorter interval detects dead peers faster"},
    {"net.ipv4.tcp_orphan_retries", "0 (means 8)",
     "retransmissions of a closed socket's FIN or data (FIN_WAIT1, CLOSING, LAST_ACK orphans) "
     "before it is killed",
     "lower it (e.g. 3) on servers with many orphans stuck behind dead or zero-window peers"},
    {"net.ipv4.tcp_max_orphans", "scaled",
     "closed sockets without a process the host keeps; past it they are reset (\"too many of "
     "orphaned sockets\")",
     "raise only if the kernel log says so and memory allows"},
    {"net.ipv4.tcp_retries2", "15",
     "data retransmissions before an established connection is dropped (about 15 minutes)",
     "8 gives up on dead peers after about 100 s"},
    {"net.ipv4.tcp_rmem", "4096 131072 6291456",
     "receive buffer min, default, max per socket (autotuned); a full one advertises a zero window",
     "defaults suit most hosts"},
    {"net.ipv4.tcp_wmem", "4096 16384 4194304",
     "send buffer min, default, max per socket (autotuned)", "defaults suit most hosts"},
}};

using Names = std::array<std::string_view, 4>;
constexpr std::array<std::string_view, 2> kListen{"net.core.somaxconn",
                                                  "net.ipv4.tcp_max_syn_backlog"};
constexpr std::array<std::string_view, 2> kSynSent{"net.ipv4.tcp_syn_retries",
                                                   "net.ipv4.ip_local_port_range"};
constexpr Names kSynRecv{"net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",
                         "net.ipv4.tcp_synack_retries", "net.core.somaxconn"};
constexpr Names kEstab{"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
                       "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_retries2"};
constexpr std::array<std::string_view, 3> kFinWait1{
    "net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_max_orphans", "net.ipv4.tcp_retries2"};
constexpr std::array<std::string_view, 1> kFinWait2{"net.ipv4.tcp_fin_timeout"};
constexpr std::array<std::string_view, 3> kCloseWait{
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"};
constexpr std::array<std::string_view, 1> kOrphan{"net.ipv4.tcp_orphan_retries"};
constexpr std::array<std::string_view, 3> kTimeWait{
    "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_max_tw_buckets", "net.ipv4.ip_local_port_range"};
constexpr std::array<std::string_view, 1> kClosed{"net.ipv4.ip_local_port_range"};

constexpr std::array<Explanation, 11> kExplanations{{
    {TcpState::listen, "a passive socket waiting for connection requests",
     "the server: any socket after listen()",
     "listen() on a bound socket (CLOSED -> LISTEN); no segment is involved",
     "close() -> CLOSED, resetting connections still queued for accept(). The listener itself "
     "never becomes a connection: each SYN makes a request socket (SYN_RECV) and the final ACK "
     "an ESTABLISHED child queued for accept()",
     "none on the listener; its request sockets retransmit the SYN-ACK", kListen,
     "many listening ports means many services, each one attack surface (a trojan listens too): "
     "every listener belongs to a process (sockls -ltp names it), close those you do not need. A "
     "listener whose Recv-Q (accept queue) reaches its Send-Q (backlog) has an application that "
     "does not accept() fast enough: new SYNs are then dropped"},
    {TcpState::syn_sent, "a client that sent SYN and waits for SYN-ACK", "the client (active open)",
     "connect(): the kernel sends SYN (CLOSED -> SYN_SENT)",
     "SYN-ACK -> sends ACK -> ESTABLISHED; a bare SYN (simultaneous open) -> SYN_RECV; RST -> "
     "CLOSED and connect() fails with ECONNREFUSED; no answer after tcp_syn_retries "
     "retransmissions -> CLOSED and ETIMEDOUT",
     "SYN retransmission: 1 s, doubling each time (6 retries: about 127 s in all)", kSynSent,
     "normally too brief to see. Many: the destination is down, filtered (a firewall that drops) "
     "or its accept queue is full; or this host is scanning a network (malware spreading). "
     "sockls -p state syn-sent names the process"},
    {TcpState::syn_recv, "a half-open connection: SYN received, SYN-ACK sent",
     "the server (Linux keeps a small request socket, not a full socket, until the handshake "
     "completes); also a client in a simultaneous open",
     "a SYN on a listener: the kernel answers SYN-ACK",
     "the final ACK -> ESTABLISHED child in the accept queue (with TCP_DEFER_ACCEPT only once "
     "data arrives); RST -> dropped; no ACK after tcp_synack_retries SYN-ACK retransmissions -> "
     "dropped",
     "SYN-ACK retransmission: 1 s, doubling (5 retries: about 63 s)", kSynRecv,
     "a dozen is normal on a busy server. Hundreds on one port, from many sources that never "
     "answer: a SYN flood (spoofed sources), or clients whose ACKs are lost. Keep "
     "tcp_syncookies=1; tcp_synack_retries=2 frees half-open entries sooner; raise "
     "tcp_max_syn_backlog and somaxconn for legitimate load"},
    {TcpState::established, "an open connection: data flows both ways",
     "both ends: the client on the SYN-ACK, the server on the final ACK",
     "the three-way handshake completes",
     "close() or shutdown(SHUT_WR) sends FIN -> FIN_WAIT1; the peer's FIN -> CLOSE_WAIT; RST, "
     "too many retransmissions (tcp_retries2) or failed keepalive -> CLOSED",
     "retransmission, delayed ACK, zero-window probe (persist); keepalive only with SO_KEEPALIVE",
     kEstab,
     "normal: compare with what the service expects (one monitoring setup warns at 600 and "
     "alarms at 800). A peer that vanished without a FIN (crash, cable, NAT timeout) leaves an "
     "idle ESTABLISHED socket forever (sending data would fail after tcp_retries2) unless "
     "SO_KEEPALIVE is on, and then only after tcp_keepalive_time + probes x intvl (about 2 h "
     "11 min by default). Repeated reconnects by such clients pile up ESTABLISHED and "
     "CLOSE_WAIT sockets until new clients cannot get in"},
    {TcpState::fin_wait1, "the active closer sent FIN and waits for its ACK",
     "the end that closes first (the active closer)",
     "close() or shutdown(SHUT_WR) in ESTABLISHED: a FIN is queued after any unsent data",
     "the ACK of its FIN -> FIN_WAIT2; the peer's FIN first (simultaneous close) -> CLOSING; FIN "
     "and ACK together -> TIME_WAIT; RST or retransmission limit -> CLOSED",
     "retransmission of FIN and data; zero-window probes while the peer's window is closed; "
     "orphans give up after tcp_orphan_retries",
     kFinWait1,
     "rarely seen: the FIN is ACKed within a round trip. Many: peers that stopped reading "
     "(zero windows, see Send-Q) or vanished, with data still queued"},
    {TcpState::fin_wait2, "the active closer's FIN was ACKed; the peer has not closed",
     "the active closer", "the ACK of its FIN, in FIN_WAIT1",
     "the peer's FIN -> sends ACK -> TIME_WAIT. An orphan (after close()) is dropped after "
     "tcp_fin_timeout; after shutdown(), with the descriptor open, it is a half-closed "
     "connection that can still receive, with no time limit",
     "for orphans only: the FIN_WAIT2 timer (tcp_fin_timeout, or TCP_LINGER2 per socket)",
     kFinWait2,
     "peers that never close their side: their CLOSE_WAIT leak, on the other host. Orphans with "
     "no process expire after tcp_fin_timeout; 30 frees them sooner"},
    {TcpState::close_wait, "the peer closed; this application has not",
     "the passive closer: the end that received the first FIN",
     "the peer's FIN in ESTABLISHED: the kernel ACKs it and recv() returns 0 (EOF)",
     "only the application's close() or shutdown(SHUT_WR): FIN -> LAST_ACK; or a RST -> CLOSED",
     "none: no kernel timer ends CLOSE_WAIT (keepalive probes, with SO_KEEPALIVE, may reset it "
     "once the peer is gone)",
     kCloseWait,
     "an application bug, never a tuning problem: the program saw EOF (or never read) and does "
     "not close the socket — a descriptor leak. Find the process (socklab doctor, sockls -p "
     "state close-wait) and fix its close path; restarting it only buys time"},
    {TcpState::closing, "both ends sent FIN before either got an ACK (simultaneous close)",
     "an active closer whose peer closed at the same time",
     "the peer's FIN in FIN_WAIT1, before the ACK of our FIN: we ACK it",
     "the ACK of our FIN -> TIME_WAIT", "retransmission of the FIN (orphans: tcp_orphan_retries)",
     kOrphan,
     "rare. Many: both ends close at once while ACKs are lost, or FINs are stuck behind data a "
     "peer's zero window does not take"},
    {TcpState::last_ack, "the passive closer sent its FIN and waits for the last ACK",
     "the passive closer", "close() or shutdown(SHUT_WR) in CLOSE_WAIT: FIN sent",
     "the ACK of its FIN -> CLOSED, the socket is freed (no TIME_WAIT for the passive closer); "
     "RST or retransmission limit -> CLOSED",
     "retransmission of the FIN (orphans: tcp_orphan_retries)", kOrphan,
     "peers that vanished after sending their FIN, or FINs stuck behind data a zero window does "
     "not take"},
    {TcpState::time_wait, "the active closer waits 2*MSL after the last ACK",
     "the active closer only: the end that sent the first FIN",
     "the peer's FIN in FIN_WAIT2 (or the ACK in CLOSING, or FIN+ACK in FIN_WAIT1): it sends "
     "the last ACK",
     "after 60 s (TCP_TIMEWAIT_LEN, fixed in Linux: tcp_fin_timeout does not change it) the "
     "socket is freed. A resent FIN is ACKed again and restarts the wait; a new SYN for the same "
     "4-tuple may take it over when its sequence number or timestamp is newer (RFC 6191)",
     "the TIME_WAIT timer (60 s). Linux keeps a small timewait socket with no file or process",
     kTimeWait,
     "normal on busy clients and proxies that open and close many short connections: it lets a "
     "lost last ACK be resent and old duplicates die. Trouble only when the ephemeral ports "
     "toward one destination run out (connect() fails with EADDRNOTAVAIL): keep connections "
     "alive (pools, HTTP keep-alive), let the server close less, widen ip_local_port_range, set "
     "tcp_tw_reuse=1 for outgoing connections. tcp_tw_recycle was removed in Linux 4.12 (it "
     "broke clients behind NAT)"},
    {TcpState::close, "no connection",
     "any socket before listen() or connect(), or after its connection ended",
     "socket(); or the end of LAST_ACK, TIME_WAIT, a RST, or a timeout",
     "listen() -> LISTEN; connect() -> SYN_SENT", "none", kClosed,
     "ss lists no closed socket; this kernel reports bound ones to sock_diag as state 13 "
     "(TCP_BOUND_INACTIVE, Linux 6.5+). Many bound but inactive sockets hold ports some "
     "application bound and never used"},
}};

constexpr std::string_view kDiagram = R"(                          +--------+
              +---------- | CLOSED | ------------+
   listen()   |           +--------+             |  connect(): send SYN
              v                                  v
        +--------+  recv SYN               +----------+
        | LISTEN |  send SYN-ACK           | SYN_SENT |
        +--------+ ---------+              +----------+
                            v                    |
                      +----------+               | recv SYN-ACK
                      | SYN_RECV |               | send ACK
                      +----------+               |
                  recv ACK  |                    |
                            v                    v
                      +----------------------------+
                      |        ESTABLISHED         |
                      +----------------------------+
      close(): send FIN |                   | recv FIN: send ACK
                        v                   v
+---------+ recv FIN +-----------+    +------------+
| CLOSING | <------- | FIN_WAIT1 |    | CLOSE_WAIT |
+---------+ send ACK +-----------+    +------------+
     |                     | recv ACK       | close(): send FIN
     |                     v                v
     |               +-----------+    +----------+
     |               | FIN_WAIT2 |    | LAST_ACK |
     |               +-----------+    +----------+
     | recv ACK            | recv FIN       | recv ACK
     |                     | send ACK       |
     v                     v                v
+--------------------------------+    +--------+
| TIME_WAIT (2*MSL: 60 s, fixed) | -> | CLOSED |
+--------------------------------+    +--------+

A RST in any synchronized state goes straight to CLOSED: no FIN_WAIT, no TIME_WAIT.
)";

}  // namespace

std::span<const SysctlDoc> sysctl_docs() {
    return kSysctls;
}

const SysctlDoc* find_sysctl_doc(std::string_view name) {
    const auto it = std::find_if(kSysctls.begin(), kSysctls.end(),
                                 [&](const SysctlDoc& d) { return d.name == name; });
    return it == kSysctls.end() ? nullptr : &*it;
}

/// The abortive close is no state but a way out of every one (RFC 9293 3.10.7.x,
/// "reset processing"; Linux tcp_reset() and tcp_disconnect()).
constexpr std::array<std::string_view, 0> kNoSysctl{};
constexpr Explanation kRst{
    TcpState::close,
    "an abortive close: one RST instead of the FIN handshake; both ends go straight to CLOSED",
    "either end: the one that aborts, and its peer that receives the RST",
    "close() with SO_LINGER {1, 0}, close() with unread data in the receive queue (RFC 2525 "
    "2.17), a segment for a connection the host does not know, or a SOCK_DESTROY (ss -K)",
    "the sender is CLOSED at once, with no TIME_WAIT; the receiver's next call fails with "
    "ECONNRESET (connection reset by peer) and its socket is CLOSED",
    "none: no retransmission, no TIME_WAIT (which is why some programs abuse it)",
    kNoSysctl,
    "many RSTs (netstat -s: connections reset) mean crashing peers, middleboxes killing idle "
    "connections, or applications closing with unread data"};

const Explanation& explain_rst() {
    return kRst;
}

std::span<const Explanation> explanations() {
    return kExplanations;
}

const Explanation* explain(TcpState state) {
    const TcpState s = display_state(state);
    const auto it = std::find_if(kExplanations.begin(), kExplanations.end(),
                                 [&](const Explanation& e) { return e.state == s; });
    return it == kExplanations.end() ? nullptr : &*it;
}

std::string tcpdump_filter(const Explanation& e) {
    // libpcap's tcp[] reads TCP over IPv4 only: ip6[53] is byte 13 of the TCP header
    // behind an IPv6 header without extension headers (loopback and most hosts).
    const auto flags = [](std::string_view set) {
        return fmt::format("tcp port PORT and (tcp[tcpflags] & {0} != 0 or ip6[53] & {0} != 0)",
                           set);
    };
    if (&e == &kRst) return flags("tcp-rst");
    switch (e.state) {
        case TcpState::listen:
        case TcpState::syn_sent:
            return flags("(tcp-syn|tcp-rst)");
        case TcpState::syn_recv:  // the bare final ACK matters too: every segment
        case TcpState::established:
            return "tcp port PORT";
        case TcpState::close:
            return {};
        default:
            return flags("(tcp-fin|tcp-rst)");
    }
}

std::string_view wire_recipe(ScenarioId id) {
    switch (id) {
        case ScenarioId::fin_wait1:
            return "the client shuts down; a socket filter on it drops the server's ACK of its "
                   "FIN";
        case ScenarioId::closing:
            return "a socket filter on the server drops all it gets; the client shuts down, then "
                   "the server: both FINs cross, and the client's ACK is dropped";
        case ScenarioId::last_ack:
            return "the client shuts down, then the server; a socket filter on the server drops "
                   "the client's last ACK";
        default:
            return {};
    }
}

std::string_view state_diagram() {
    return kDiagram;
}

}  // namespace socklab::lab
