// metrics: the host model (kernel TCP counters, sysctls, socket counts), its Prometheus
// text exposition, the small HTTP server that serves it, and the sysctl readers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/diag.hpp"
#include "socklab/model.hpp"
#include "socklab/proc.hpp"

namespace socklab::metrics {

// ---------------------------------------------------------------------------
// Sysctls: read through an injectable reader so tests can fake the host.

/// Reads a sysctl by its dotted name ("net.ipv4.tcp_fin_timeout").
class SysctlReader {
  public:
    virtual ~SysctlReader() = default;
    /// The value with surrounding whitespace trimmed and inner runs of blanks as one space,
    /// or nullopt when it does not exist or cannot be read.
    [[nodiscard]] virtual std::optional<std::string> read(std::string_view name) const = 0;
};

/// Reads /proc/sys (or `root`, for tests): "net.ipv4.x" -> ROOT/net/ipv4/x.
[[nodiscard]] std::unique_ptr<SysctlReader> make_proc_sysctl_reader(std::string root = "/proc/sys");
/// Answers from a fixed map; names not in it are nullopt. For tests and replays.
[[nodiscard]] std::unique_ptr<SysctlReader> make_fixed_sysctl_reader(
    std::map<std::string, std::string, std::less<>> values);

// ---------------------------------------------------------------------------
// Kernel counters: /proc/net/netstat, /proc/net/snmp (paired header/value lines)
// and /proc/net/sockstat ("TCP: inuse 5 orphan 0 tw 2 ...").

/// "TcpExt.ListenOverflows" -> value, "Tcp.ActiveOpens", "sockstat.TCP.orphan".
/// Signed: snmp's Tcp.MaxConn is -1.
using Counters = std::map<std::string, std::int64_t, std::less<>>;

/// Parses the paired lines of /proc/net/netstat or /proc/net/snmp into `out`: each
/// "Prefix: A B C" header is followed by "Prefix: 1 2 3". Errors (invalid_argument):
/// a value line without its header, a different prefix or count, a value that is not
/// a number. An empty text is no counters, not an error.
[[nodiscard]] Result<void> parse_paired(std::string_view text, Counters& out);
/// Parses /proc/net/sockstat ("TCP: inuse 5 orphan 0") into "sockstat.TCP.inuse"...
/// Errors as parse_paired (a key without a number).
[[nodiscard]] Result<void> parse_sockstat(std::string_view text, Counters& out);
/// Reads and parses PROC/net/netstat, snmp and sockstat (each capped at 64 KiB).
/// Errors: a file that cannot be read or parsed (its path as context).
[[nodiscard]] Result<Counters> read_counters(const std::string& proc_root = "/proc");

/// One kernel counter as a metric: its name (socklab_tcp_..._total), the key in
/// Counters, and its help text.
struct CounterDoc {
    std::string_view metric;
    std::string_view key;
    std::string_view help;
};
/// The kernel counters exposed as counters, in exposition order.
[[nodiscard]] std::span<const CounterDoc> kernel_counters();
/// The sysctls exposed as socklab_sysctl{name} (numeric ones the doctor explains).
[[nodiscard]] std::span<const std::string_view> exposed_sysctls();

// ---------------------------------------------------------------------------
// The host model: what one scrape (or one doctor sample) saw.

struct Listener {
    std::string addr;  ///< numeric, "0.0.0.0" / "::" for the wildcard
    std::uint32_t port = 0;
    std::uint64_t queue = 0;    ///< accept queue fill (sock_diag rqueue)
    std::uint64_t backlog = 0;  ///< its limit (wqueue: min(listen() backlog, somaxconn))
};

struct SummaryOptions {
    /// At most this many process names get series of their own; the others are
    /// summed under "other" (busiest first, ties by name).
    std::size_t max_processes = 50;
    /// Local ports below this are kept in by-port series even when nothing listens.
    std::uint32_t well_known_below = 1024;
};

/// Counts keyed by (netid, display state, label).
using LabelCounts = std::map<std::tuple<Netid, TcpState, std::string>, std::uint64_t>;

struct HostSample {
    std::map<std::pair<Netid, TcpState>, std::uint64_t> sockets;
    LabelCounts by_port;     ///< listening and well-known local ports, else "other"
    LabelCounts by_process;  ///< by comm of the first owner; "-" for none; "other"
    std::vector<Listener> listeners;
    std::map<std::pair<TcpState, TcpState>, std::uint64_t> transitions;
    Counters counters;  ///< read_counters()
    /// exposed_sysctls() values that parse as one integer, plus tcp_max_tw_buckets.
    std::map<std::string, std::int64_t, std::less<>> sysctls;
    std::uint64_t events_lost = 0;
    double scrape_seconds = 0;
};

/// Fills sockets, by_port, by_process and listeners from records (owners attached).
/// Pure. UDP sockets in CLOSE count as listening on their port.
void summarize(std::span<const SocketRecord> records, const SummaryOptions& options,
               HostSample& sample);
/// Reads exposed_sysctls() through `sysctls` into sample.sysctls.
void read_sysctls(const SysctlReader& sysctls, HostSample& sample);

/// The Prometheus text exposition (format 0.0.4): every family with # HELP and
/// # TYPE, in a fixed order, labels escaped (backslash, quote, newline). Pure.
[[nodiscard]] std::string render(const HostSample& sample);
/// The content type of render()'s text.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";
/// Appends `s` as a label value body (no quotes): \\ \" \n escaped.
void append_label_value(std::string& out, std::string_view s);
/// The metric family names render() writes, in order (for tests and dashboards).
[[nodiscard]] std::span<const std::string_view> family_names();

// ---------------------------------------------------------------------------
// The collector: one scrape = one sock_diag dump, cached owners, the counters.

struct CollectorOptions {
    SummaryOptions summary;
    std::string proc_root = "/proc";
    /// Owners of sockets not seen before are looked up at most this often; between
    /// lookups they count under "-" once and keep their owners afterwards, so a
    /// scrape never walks every /proc/PID/fd.
    std::chrono::milliseconds owner_refresh{2000};
};

/// Keeps inode -> owner between scrapes: only inodes it has not seen are looked
/// up, with proc's scan stopped once all of them are found; vanished inodes are
/// forgotten. Not thread-safe.
class OwnerCache {
  public:
    explicit OwnerCache(std::string proc_root = "/proc",
                        std::chrono::milliseconds refresh = std::chrono::milliseconds{2000});
    /// Attaches cached owners to `records`, first looking up the unknown inodes when
    /// the last lookup is at least `refresh` old (or `force`).
    void attach(std::span<SocketRecord> records, std::chrono::steady_clock::time_point now,
                bool force = false);
    [[nodiscard]] std::size_t size() const noexcept { return owners_.size(); }
    /// How many /proc lookups ran (for tests of the cache).
    [[nodiscard]] std::size_t lookups() const noexcept { return lookups_; }

  private:
    std::string proc_root_;
    std::chrono::milliseconds refresh_;
    std::chrono::steady_clock::time_point last_{};
    std::size_t lookups_ = 0;
    std::unordered_map<std::uint64_t, Owner> owners_;
    std::unordered_set<std::uint64_t> ownerless_;  ///< looked up, no owner found
};

/// Thread-safe counters the watch loop feeds and the scraper reads.
class Collector {
  public:
    Collector(std::unique_ptr<diag::SocketSource> source, std::unique_ptr<SysctlReader> sysctls,
              CollectorOptions options);
    ~Collector();
    Collector(const Collector&) = delete;
    Collector& operator=(const Collector&) = delete;

    /// One transition seen by the watch loop (display states); thread-safe.
    void note_transition(TcpState from, TcpState to, std::uint64_t n = 1);
    /// Events an event source reported lost; thread-safe.
    void note_lost(std::uint64_t n);
    /// A full scrape: dump, owners, counters, sysctls, rendered. Call from one thread.
    /// Errors: the dump failed (the counters alone are still worth nothing without it).
    [[nodiscard]] Result<std::string> scrape();
    /// The sample a scrape renders, without the rendering (for the doctor and tests).
    [[nodiscard]] Result<HostSample> sample();

  private:
    std::unique_ptr<diag::SocketSource> source_;
    std::unique_ptr<SysctlReader> sysctls_;
    CollectorOptions options_;
    OwnerCache owners_;
    std::mutex mu_;
    std::map<std::pair<TcpState, TcpState>, std::uint64_t> transitions_;
    std::uint64_t lost_ = 0;
};

// ---------------------------------------------------------------------------
// HTTP: GET /metrics only, hostile-input safe.

/// What parse_request() made of the bytes so far.
struct Request {
    enum class Status : std::uint8_t { incomplete, ok, bad, too_large };
    Status status = Status::incomplete;
    std::string method;
    std::string target;  ///< path without the query string
};
/// Parses an HTTP/1.x request head (request line and headers up to the blank line;
/// CRLF or LF). `incomplete` until the blank line arrives; `too_large` past
/// `max_bytes` without one; `bad` for a malformed request line. A body is ignored.
[[nodiscard]] Request parse_request(std::string_view bytes, std::size_t max_bytes = 8192);
/// The full response to a request: 200 with `body` for GET/HEAD /metrics, 404 for
/// another path, 405 (Allow: GET, HEAD) for another method, 400 / 431 for bad or
/// oversized requests. HEAD gets the headers alone.
/// A body that fails is answered 500 with the error's message.
using BodyFn = std::function<Result<std::string>()>;
[[nodiscard]] std::string respond(const Request& request, const BodyFn& body);

/// "127.0.0.1:9977", "[::1]:0", "0.0.0.0:9100": a numeric address and a port (0: any).
[[nodiscard]] Result<Endpoint> parse_listen_address(std::string_view text);

struct ServerOptions {
    std::size_t max_request = 8192;
    std::chrono::milliseconds connection_timeout{5000};
    std::size_t max_connections = 64;  ///< more wait in the listen backlog
};

/// Serves GET /metrics from its own thread with a poll loop: connections are
/// non-blocking, each gets `connection_timeout` in all, so a slow or hostile client
/// never holds the others (or the caller's loop).
class Server {
  public:
    /// Binds and listens (SO_REUSEADDR), then starts the thread. `body` is called on
    /// that thread for every GET /metrics. Errors: bind/listen (context "ADDR:PORT").
    [[nodiscard]] static Result<std::unique_ptr<Server>> start(const Endpoint& at, BodyFn body,
                                                               ServerOptions options = {});
    ~Server();  ///< stops the thread and closes every connection
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    /// The address it listens on, with the port the kernel chose for port 0.
    [[nodiscard]] const Endpoint& address() const noexcept;
    /// Requests answered so far (any status).
    [[nodiscard]] std::uint64_t answered() const noexcept;

    struct Impl;

  private:
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------

/// sockwatch --metrics in one piece: the host's sock_diag source (or /proc/net), the
/// /proc/sys reader, a Collector and its Server. Thread-safe notes from the watch loop.
class Exporter {
  public:
    /// Errors: no socket source, or the server could not listen.
    [[nodiscard]] static Result<std::unique_ptr<Exporter>> start(const Endpoint& at,
                                                                 CollectorOptions options,
                                                                 ServerOptions server = {});
    void note_transition(TcpState from, TcpState to, std::uint64_t n = 1) {
        collector_->note_transition(from, to, n);
    }
    void note_lost(std::uint64_t n) { collector_->note_lost(n); }
    [[nodiscard]] const Endpoint& address() const noexcept { return server_->address(); }
    /// "http://127.0.0.1:9977/metrics", "http://[::1]:9977/metrics" (the chosen port).
    [[nodiscard]] std::string url() const;

  private:
    Exporter() = default;
    std::shared_ptr<Collector> collector_;
    std::unique_ptr<Server> server_;  ///< stopped first: it calls the collector
};

}  // namespace socklab::metrics
