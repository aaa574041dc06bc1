// diag: where socket records come from — netlink sock_diag, /proc/net, recorded dumps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/model.hpp"

namespace socklab::diag {

/// What to dump. The state mask goes to the kernel (inet_diag idiag_states), so
/// unwanted states are never copied to user space.
struct Query {
    bool tcp = true;
    bool udp = false;
    bool raw = false;
    bool unix_ = false;
    bool ipv4 = true;
    bool ipv6 = true;
    StateMask states = all_states_mask;
    bool want_info = false;    ///< tcp_info and congestion (-i)
    bool want_memory = false;  ///< skmeminfo (-m)
    /// inet_diag bytecode (INET_DIAG_REQ_BYTECODE) from the filter module; empty for none.
    /// Only the netlink source uses it; others return everything the mask selects.
    std::vector<std::byte> bytecode;
};

/// Receives records batch by batch; the span is valid only during the call and the
/// callee may move from it. Returning an Error stops the dump with that Error.
using RecordBatchSink = std::function<Result<void>(std::span<SocketRecord>)>;

/// A source of socket records. Implementations own their fds; dump() blocks
/// until the whole dump is read.
class SocketSource {
  public:
    virtual ~SocketSource() = default;
    /// Every socket matching the query. Errors carry the operation as context.
    [[nodiscard]] virtual Result<std::vector<SocketRecord>> dump(const Query& query) = 0;
    /// Streams the dump in batches (netlink: one datagram, a few hundred records)
    /// without keeping them, so memory stays flat at any socket count (as ss
    /// prints while it reads). Blocks until the dump ends or the sink fails.
    /// The default calls dump() and passes everything as one batch.
    [[nodiscard]] virtual Result<void> dump_each(const Query& query, const RecordBatchSink& sink) {
        auto records = dump(query);
        if (!records) return records.error();
        return sink(*records);
    }
    /// "netlink", "procfs" or "replay".
    [[nodiscard]] virtual std::string_view name() const = 0;
};

enum class SourceKind { automatic, netlink, procfs };

/// Netlink sock_diag (inet_diag for tcp/udp/raw over v4/v6, unix_diag).
[[nodiscard]] Result<std::unique_ptr<SocketSource>> make_netlink_source();
/// /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix} under `proc_root` (tests pass a fake tree).
[[nodiscard]] std::unique_ptr<SocketSource> make_procfs_source(std::string proc_root = "/proc");
/// Replays a dump recorded by record_dump(): the raw netlink replies, decoded by
/// the same code as the live source, so golden tests exercise the real decoder.
[[nodiscard]] Result<std::unique_ptr<SocketSource>> make_replay_source(std::string path);
/// ss's TCPDIAG_FILE: TCP sockets from the dump at `path` (read as
/// make_replay_source() reads it, `ss -D` files included), every other table from
/// `live`. The caller reads the environment; the library never does.
[[nodiscard]] Result<std::unique_ptr<SocketSource>> make_tcp_file_source(
    std::string path, std::unique_ptr<SocketSource> live);
/// The one place the fallback is chosen: netlink, else /proc/net (automatic).
[[nodiscard]] Result<std::unique_ptr<SocketSource>> open_source(SourceKind kind);

/// Runs the query on live netlink and writes the raw replies to `path` for replay.
[[nodiscard]] Result<void> record_dump(const Query& query, const std::string& path);

/// Moves the calling thread into the named network namespace (/run/netns/NAME),
/// as `ip netns exec` would. Call before opening a source.
[[nodiscard]] Result<void> enter_netns(const std::string& name);

/// Destroys one socket with SOCK_DESTROY (needs CAP_NET_ADMIN; like ss -K).
[[nodiscard]] Result<void> destroy_socket(const SocketRecord& record);

/// Finds single sockets by protocol, family and 4-tuple in the current network
/// namespace (sock_diag's exact request, with tcp_info), for event sources that
/// know a socket's tuple but not its cookie, inode or uid. One netlink socket,
/// kept open; not thread-safe.
class TupleLookup {
  public:
    [[nodiscard]] static Result<std::unique_ptr<TupleLookup>> open();
    ~TupleLookup();
    TupleLookup(const TupleLookup&) = delete;
    TupleLookup& operator=(const TupleLookup&) = delete;
    /// The socket with `key`'s netid (tcp, udp), family, local and peer
    /// endpoints; nullopt when the kernel has none (closed, another namespace).
    [[nodiscard]] Result<std::optional<SocketRecord>> find(const SocketRecord& key);

  private:
    TupleLookup();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};
/// The numbers `ss -s` prints, from /proc/net/sockstat, sockstat6 and snmp (field
/// names as ss's). socks, tcp_total (alloc) and tcp_orphans are host-wide counters.
struct SsTotals {
    long socks = 0, tcp_total = 0, tcp_tws = 0, tcp_orphans = 0, tcp_estab = 0;
    long tcp4 = 0, tcp6 = 0, udp4 = 0, udp6 = 0, raw4 = 0, raw6 = 0, frag4 = 0, frag6 = 0;
};
/// Reads what ss reads (an absent sockstat6 counts as zeros, as in ss).
[[nodiscard]] SsTotals parse_ss_totals(std::string_view sockstat, std::string_view sockstat6,
                                       std::string_view snmp);
/// parse_ss_totals over proc_root/net/{sockstat,sockstat6,snmp}; an error when
/// sockstat cannot be read.
[[nodiscard]] Result<SsTotals> read_ss_totals(const std::string& proc_root = "/proc");
/// The lines `ss -s` prints for them (Total, TCP, the Transport table, a blank line).
[[nodiscard]] std::string format_ss_totals(const SsTotals& totals);

}  // namespace socklab::diag
