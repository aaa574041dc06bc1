// net: endpoints, socket options, close policies, TCP state reads and the relay sockcat runs.
#pragma once

#include <sys/socket.h>

#include <chrono>
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

namespace asio {
class io_context;
}

namespace socklab::net {

using std::chrono::nanoseconds;

// ---------------------------------------------------------------- words and numbers

/// What happens when our input (stdin, or --source) ends.
enum class OnEof : std::uint8_t { shutdown, close, rst, wait };
/// What happens when the peer's FIN arrives.
enum class OnPeerClose : std::uint8_t { finish, close, hold, exit };
/// How the socket is closed: FIN (orderly) or RST (SO_LINGER {1,0}).
enum class CloseMode : std::uint8_t { fin, rst };

/// Keyword tables (one per enum): parse returns nullopt for an unknown word.
[[nodiscard]] std::optional<OnEof> parse_on_eof(std::string_view word);
[[nodiscard]] std::optional<OnPeerClose> parse_on_peer_close(std::string_view word);
[[nodiscard]] std::optional<CloseMode> parse_close_mode(std::string_view word);
[[nodiscard]] std::string_view on_eof_name(OnEof v);
[[nodiscard]] std::string_view on_peer_close_name(OnPeerClose v);
[[nodiscard]] std::string_view close_mode_name(CloseMode v);
/// Every word of a table, in its order, joined by '|' ("shutdown|close|rst|wait"): the
/// one list that help texts, error messages and the command line's checks show.
[[nodiscard]] std::string on_eof_words();
[[nodiscard]] std::string on_peer_close_words();
[[nodiscard]] std::string close_mode_words();

/// A TCP/UDP port: decimal, 1-65535, or 0 too when `allow_zero` (listen on "any").
/// Never wraps: "99999" and "65536" are errors ("port '99999' is outside 1-65535").
[[nodiscard]] Result<std::uint16_t> parse_port(std::string_view text, bool allow_zero);

/// An inclusive port range for -z: "80" or "20-25" (first <= last).
struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    friend bool operator==(const PortRange&, const PortRange&) = default;
};
[[nodiscard]] Result<PortRange> parse_port_range(std::string_view text);

/// --keepalive[=IDLE,INTVL,CNT]: empty text enables SO_KEEPALIVE with the sysctl
/// defaults; given fields set TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT (empty field = default).
struct Keepalive {
    std::optional<unsigned> idle_s;
    std::optional<unsigned> interval_s;
    std::optional<unsigned> count;
};
[[nodiscard]] Result<Keepalive> parse_keepalive(std::string_view text);

// ---------------------------------------------------------------- addresses

enum class Proto : std::uint8_t { tcp, udp, unix_stream };
enum class Want : std::uint8_t { any, v4, v6 };

/// A port as nc takes it: a decimal number as parse_port(), or a service name that
/// /etc/services lists for `proto` ("http" is 80; getservbyname(3)). Errors: "port
/// 'nosuch' is not a number or a known tcp service".
[[nodiscard]] Result<std::uint16_t> parse_service(std::string_view text, Proto proto,
                                                  bool allow_zero);
/// A -z range whose ends are numbers or service names ("ftp-http", "20-ssh"); a name
/// with a dash in it ("http-alt") is tried whole first.
[[nodiscard]] Result<PortRange> parse_port_range(std::string_view text, Proto proto);

/// A socket address of any family, as the kernel takes it.
struct SockAddr {
    sockaddr_storage storage{};
    socklen_t len = 0;

    [[nodiscard]] int family() const noexcept { return storage.ss_family; }
    [[nodiscard]] std::uint16_t port() const noexcept;  ///< 0 for unix
    void set_port(std::uint16_t port) noexcept;         ///< no-op for unix
    /// Numeric host ("127.0.0.1", "::1") or the unix path.
    [[nodiscard]] std::string host() const;
    /// "127.0.0.1:41000", "[::1]:41000", or the unix path.
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] const sockaddr* raw() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
};

/// Resolves host and port to addresses, in the resolver's order. `numeric` (-n)
/// refuses anything but a literal address (no DNS). `passive` with an empty host
/// gives the wildcard address. Blocks on DNS. Errors: "unknown host" (EAI_NONAME),
/// "temporary failure in name resolution" (EAI_AGAIN: DNS unreachable), "non-recoverable
/// failure in name resolution" (EAI_FAIL), an address family mismatch (a literal IPv6
/// address with Want::v4 or the reverse), "not a numeric address (-n)".
[[nodiscard]] Result<std::vector<SockAddr>> resolve(std::string_view host, std::uint16_t port,
                                                    Want want, bool numeric, bool passive,
                                                    Proto proto);
/// A unix socket address; errors when the path does not fit sun_path.
[[nodiscard]] Result<SockAddr> unix_address(std::string_view path);
[[nodiscard]] Result<SockAddr> local_address(int fd);
[[nodiscard]] Result<SockAddr> peer_address(int fd);
/// The host's name for -v as nc prints it: the reverse lookup (getnameinfo(3), hosts
/// file first, so 127.0.0.1 is "localhost"), or the numeric address when `numeric`, when
/// the address is the wildcard, or when the lookup fails. Blocks on DNS unless numeric.
[[nodiscard]] std::string host_name(const SockAddr& addr, bool numeric);
/// The service name of a TCP port from /etc/services ("http"), or "*" (nc's habit).
[[nodiscard]] std::string service_name(std::uint16_t port, Proto proto);

// ---------------------------------------------------------------- sockets and options

/// Socket options applied before bind/listen/connect (the kernel sizes the window
/// from SO_RCVBUF at SYN time, so buffers must be set first: socket(7)).
struct SocketOptions {
    std::optional<int> rcvbuf;
    std::optional<int> sndbuf;
    std::optional<unsigned> linger_s;        ///< SO_LINGER {1,N}: close() waits N s for the ACKs
    std::optional<int> linger2_s;            ///< TCP_LINGER2: orphan FIN_WAIT_2 lifetime
    std::optional<unsigned> defer_accept_s;  ///< TCP_DEFER_ACCEPT (listeners)
    std::optional<Keepalive> keepalive;
    std::optional<unsigned> user_timeout_ms;  ///< TCP_USER_TIMEOUT
    bool nodelay = false;
    bool reuseaddr = false;
    bool reuseport = false;
    bool v6only = false;  ///< IPV6_V6ONLY on IPv6 listeners (-6): no IPv4-mapped clients
    int backlog = 128;
};

/// Sets every option `opts` asks for on `fd` (TCP-only ones only when proto is tcp).
[[nodiscard]] Result<void> apply_options(int fd, const SocketOptions& opts, Proto proto);

/// Creates a listening (tcp, unix) or bound (udp) socket, non-blocking and close-on-exec.
[[nodiscard]] Result<Fd> open_listener(const SockAddr& addr, Proto proto,
                                       const SocketOptions& opts);

/// Where a client binds before connecting (-s ADDR, -p PORT); empty host = wildcard.
struct Source {
    std::string host;
    std::uint16_t port = 0;
};

/// Connects to the first address that answers, trying each in turn; `source`
/// binds first (-s/-p, numeric addresses only). Blocks up to `timeout` per address (zero = the
/// kernel's). Returns a non-blocking socket. Errors name the last address tried.
/// `cancel_fd` (-1: none): when it becomes readable (a stop signal's self-pipe), the wait
/// ends with errc::operation_canceled.
[[nodiscard]] Result<Fd> connect_to(const std::vector<SockAddr>& addrs, Proto proto,
                                    const SocketOptions& opts, const std::optional<Source>& source,
                                    nanoseconds timeout, int cancel_fd = -1);

/// accept4() on a non-blocking listener: the new socket is non-blocking and
/// close-on-exec. EAGAIN comes back as an Error with errc::resource_unavailable_try_again.
[[nodiscard]] Result<Fd> accept_from(int listen_fd);

/// For UDP "listen": waits (blocking, up to `timeout`, zero = forever) for the first
/// datagram, then connects the socket to its sender, which it returns. A readable
/// `cancel_fd` (-1: none) ends the wait with errc::operation_canceled.
[[nodiscard]] Result<SockAddr> udp_accept(int fd, nanoseconds timeout, int cancel_fd = -1);

/// Arranges how the next close() ends the connection: rst = SO_LINGER {1,0}
/// (RFC 9293 3.10.7.1 abort: RST, no TIME_WAIT); fin with `linger_s` = SO_LINGER {1,N}.
[[nodiscard]] Result<void> set_close_mode(int fd, CloseMode mode, std::optional<unsigned> linger_s);

/// The kernel's own state of a TCP socket (TCP_INFO tcpi_state); nullopt when
/// the fd is not a TCP socket.
[[nodiscard]] std::optional<TcpState> tcp_state(int fd);

// ---------------------------------------------------------------- single socket steps
// For callers that drive sockets step by step (lab's scenarios) rather than relay.

/// The socket address of an endpoint (inet or inet6), and back (port 0 for unix).
[[nodiscard]] SockAddr to_sockaddr(const Endpoint& e);
[[nodiscard]] Endpoint to_endpoint(const SockAddr& a);

/// A socket of `family` (AF_INET, AF_INET6) with `opts` applied, neither bound nor
/// connected. Non-blocking, close-on-exec.
[[nodiscard]] Result<Fd> open_socket(int family, Proto proto, const SocketOptions& opts);

/// A socket bound to `addr` with `opts` applied and nothing more: no listen(), no
/// connect() (a TCP socket so left is CLOSED). Non-blocking, close-on-exec.
[[nodiscard]] Result<Fd> open_bound(const SockAddr& addr, Proto proto, const SocketOptions& opts);

/// Starts a non-blocking connect of `fd` and returns at once: EINPROGRESS is success, the
/// handshake goes on in the kernel (tcp_state() tells when it is done). Never blocks.
[[nodiscard]] Result<void> start_connect(int fd, const SockAddr& to);

/// Connections waiting in a listener's accept queue: TCP_INFO tcpi_unacked, which the
/// kernel fills with sk_ack_backlog for a listener (tcp_get_info). nullopt: not TCP.
[[nodiscard]] std::optional<std::uint32_t> accept_queue_length(int fd);

// ---------------------------------------------------------------- the relay

/// What moved or changed; the app narrates these (-v, --show-state).
enum class RelayEventKind : std::uint8_t {
    input_eof,      ///< stdin (or --source) ended
    fin_sent,       ///< shutdown(SHUT_WR) sent our FIN
    peer_fin,       ///< the peer's FIN arrived (read returned 0)
    rst_sent,       ///< closed abortively (SO_LINGER {1,0})
    closed,         ///< closed with a FIN (or it was already sent)
    peer_reset,     ///< ECONNRESET/EPIPE from the socket
    output_closed,  ///< stdout went away (EPIPE): the session ends cleanly
    holding,        ///< the socket is kept open on purpose (--on-peer-close=hold, --hold)
    timeout,        ///< -w idle, --close-after, -q expired
};

struct RelayEvent {
    RelayEventKind kind;
    std::optional<TcpState>
        state;        ///< TCP_INFO right after the event; nullopt once closed or not TCP
    std::string why;  ///< "sent FIN after stdin EOF"
};

/// What the data pump reads and writes besides the socket.
enum class Service : std::uint8_t {
    stdio,    ///< in_fd -> socket, socket -> out_fd (either may be -1: not used)
    echo,     ///< socket -> socket
    discard,  ///< socket -> nowhere
    source,   ///< `source_bytes` of a pattern -> socket; socket -> out_fd
};

struct RelayConfig {
    Service service = Service::stdio;
    int in_fd = -1;   ///< borrowed; -1: no input (-d, --recv-only)
    int out_fd = -1;  ///< borrowed (see own_out_fd); -1: received data is read and dropped
    /// out_fd is the relay's to close: it closes it once the peer's FIN arrived and every
    /// byte before it was written (nc's habit: the reader of our stdout sees EOF at once),
    /// and at the end of the session at the latest.
    bool own_out_fd = false;
    int hexdump_fd = -1;  ///< borrowed; -1: no hex dump
    std::uint64_t source_bytes = 0;
    OnEof on_eof = OnEof::shutdown;
    OnPeerClose on_peer_close = OnPeerClose::finish;
    CloseMode close_mode = CloseMode::fin;
    std::optional<unsigned> linger_s;
    bool no_read = false;            ///< never read the socket (the peer's window fills)
    bool crlf = false;               ///< LF -> CRLF on the way out
    bool datagram = false;           ///< UDP: a zero-length read is a datagram, not EOF
    bool zero_copy = true;           ///< splice/sendfile where the fds allow
    nanoseconds line_interval{0};    ///< -i: send one line per interval
    nanoseconds idle_timeout{0};     ///< -w: end after this long without data
    nanoseconds close_after{0};      ///< --close-after
    nanoseconds quit_after_eof{-1};  ///< -q: end this long after input EOF (<0: never)
    nanoseconds hold{0};             ///< --hold: keep the socket this long before closing
    std::optional<std::uint64_t> close_after_bytes;
    std::size_t buffer_size = 256 * 1024;
};

struct RelayOutcome {
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    bool exit_program = false;  ///< --on-peer-close=exit fired
};

using RelayEventFn = std::function<void(const RelayEvent&)>;
using RelayDoneFn = std::function<void(Result<RelayOutcome>)>;

namespace detail {
class Relay;
}

/// Refers to a running relay without keeping it alive.
class RelayHandle {
  public:
    RelayHandle() = default;
    explicit RelayHandle(std::weak_ptr<detail::Relay> r) : relay_(std::move(r)) {}
    /// Ends the relay now (closing the socket as configured; on_done runs). No-op once over.
    void stop() const;
    [[nodiscard]] bool running() const { return !relay_.expired(); }

  private:
    std::weak_ptr<detail::Relay> relay_;
};

/// Starts relaying on `socket` inside `io` (never blocks; work happens in
/// io.run()). Owns the socket and closes it as the config says; borrows the
/// other fds. Returns a handle that can stop it. Calls `on_event` for each event and `on_done` once
/// at the end: an Error for a reset by the peer or an I/O failure, else the byte counts.
RelayHandle start_relay(asio::io_context& io, Fd socket, const RelayConfig& config,
                        RelayEventFn on_event, RelayDoneFn on_done);

/// Runs a relay to completion on a private io_context (blocks).
[[nodiscard]] Result<RelayOutcome> run_relay(Fd socket, const RelayConfig& config,
                                             const RelayEventFn& on_event);

// ---------------------------------------------------------------- serving loops
//
// sockcat's connect/listen loops. They never print: each connection is handed to the
// caller's SessionFn, which returns the relay's config and the callbacks its events and
// its end go to. `stop_fd` is a stop signal's self-pipe (readable once a signal came,
// never drained; -1: none): every wait below ends when it becomes readable.

/// How a session began: it names the state the narration starts from.
enum class SessionKind : std::uint8_t {
    connected,  ///< connect_to() succeeded: from SYN_SENT
    accepted,   ///< accept(2) on a TCP or unix listener: from SYN_RECV
    received,   ///< UDP: the first datagram connected the socket to its sender: from CLOSED
};

/// A new connection, as a serving loop hands it to its caller before relaying on it.
struct SessionStart {
    int fd = -1;  ///< the connection (borrowed: the relay owns it)
    SessionKind kind = SessionKind::connected;
    std::optional<SockAddr> peer;  ///< getpeername(2) (the datagram's sender for UDP)
    TcpState before = TcpState::close;
    std::optional<TcpState> now;  ///< TCP_INFO at the start; nullopt when not TCP
    std::string_view why;         ///< "connected", "accepted", "received"
};

/// What the caller wants done with one connection.
struct Session {
    RelayConfig config;
    RelayEventFn on_event;                                     ///< may be empty
    std::function<void(const Result<RelayOutcome>&)> on_done;  ///< called once; may be empty
};
using SessionFn = std::function<Session(const SessionStart&)>;

/// accept(2) errors that mean "no fd or memory for the new socket now" (EMFILE, ENFILE,
/// ENOBUFS, ENOMEM): the client stays queued and the listener stays readable.
[[nodiscard]] bool out_of_fds(const std::error_code& ec);

/// Blocks up to `wait` (negative: forever; zero: a look) until `stop_fd` is readable;
/// true when it is. A poll(2) failure other than EINTR counts as no stop.
[[nodiscard]] bool wait_for_stop(int stop_fd, nanoseconds wait);

/// Relays on one connection on a private io_context; a readable `stop_fd` stops the relay
/// (it closes as configured). Blocks until the session ends. Calls `on_session` once, then
/// its on_done once (errc::operation_canceled "relay" if the relay never reported).
void serve_connection(Fd socket, SessionKind kind, const SessionFn& on_session, int stop_fd);

/// nc -l without -k: waits (blocking) for one client and serves it as serve_connection().
/// TCP and unix: accept(2), then the listener is closed so later SYNs are refused, as nc
/// does. UDP: the first datagram connects `listener` to its sender, and it is the session.
/// Returns success without a session when `stop_fd` ended the wait. Errors: accept(2) or
/// recvfrom(2) failures, named "accept" or "recvfrom".
[[nodiscard]] Result<void> serve_first(Fd listener, Proto proto, const SessionFn& on_session,
                                       int stop_fd);

/// The callbacks of serve_clients().
struct ClientsHooks {
    SessionFn on_session;
    /// accept(2) failed (never EAGAIN). After an out_of_fds() error the listener is not
    /// watched for 250 ms or until a session ends (its fds are free then): retrying at once
    /// would spin on the still readable listener.
    std::function<void(const Error&)> on_accept_error;
    /// Owned (-1: none): the loop ends when it reports an error, as a pipe's write end
    /// does once its reader is gone (pipe_poll() in fs/pipe.c sets EPOLLERR).
    int end_on_error_fd = -1;
};

/// nc -k: accepts forever, one relay per client, all on one private io_context. Blocks
/// until `stop_fd` is readable, a session ends with exit_program (--on-peer-close=exit),
/// a session's output went away (RelayEventKind::output_closed: later clients' data would
/// have nowhere to go), or end_on_error_fd reports an error; running sessions are stopped.
void serve_clients(Fd listener, const ClientsHooks& hooks, int stop_fd);

/// nc -z: what to scan.
struct ScanSpec {
    std::vector<SockAddr> addrs;  ///< the host's addresses; each port is tried on all
    std::vector<PortRange> ranges;
    Proto proto = Proto::tcp;
    SocketOptions opts;
    std::optional<Source> source;
    nanoseconds timeout{0};   ///< per connect (zero: the kernel's)
    nanoseconds interval{0};  ///< -i: pause between ports
};

/// Connects to each port of `spec` in turn (blocking) and calls `on_port` with the port and
/// the connected socket or the error (the socket is closed after). Ends early when
/// `stop_fd` is readable. True when any port connected.
[[nodiscard]] bool scan_ports(const ScanSpec& spec,
                              const std::function<void(std::uint16_t, const Result<Fd>&)>& on_port,
                              int stop_fd);

/// open_listener() on the first of `addrs` that binds; else the first error.
[[nodiscard]] Result<Fd> open_first_listener(const std::vector<SockAddr>& addrs, Proto proto,
                                             const SocketOptions& opts);

// ---------------------------------------------------------------- sockcat's command line
//
// sockcat's options as data: the app declares them to CLI11 from cat_options() and hands
// what was typed to convert_options(), which holds the conflict table and every check.

/// One option as the app declares it to CLI11.
struct CatOption {
    enum Kind : std::uint8_t {
        flag,            ///< no value
        value,           ///< one value ("-w SECS")
        optional_value,  ///< a flag that may take "=VALUE" (--keepalive[=IDLE,INTVL,CNT])
    };
    std::string_view names;  ///< CLI11's spelling: "-w,--wait"
    Kind kind = flag;
    std::string_view type;  ///< the value's name in the help ("SECS"); empty for a flag
    std::string help;       ///< a keyword option's help ends with its words
    bool keyword = false;   ///< its value must be a word of a table (check_cat_keyword)

    /// The name messages use: nc's short flag where there is one ("-w", "-c"), else the
    /// first long one ("--on-eof").
    [[nodiscard]] std::string_view message_name() const;
};

/// Every option of sockcat, in the help's order (not --help, --version or the operands).
[[nodiscard]] const std::vector<CatOption>& cat_options();

/// The pairs of options that cannot go together (nc's "cannot use -s and -l"), by message
/// name, in the order convert_options() looks at them: the first pair given is the message.
[[nodiscard]] std::span<const std::pair<std::string_view, std::string_view>> cat_conflicts();

/// Empty when `value` is a word of the keyword table of option `name` (its message name)
/// or the option has none; else why not ("'maybe' is not shutdown|close|rst|wait"). An
/// empty value passes: convert_options() names it.
[[nodiscard]] std::string check_cat_keyword(std::string_view name, std::string_view value);

/// The command line as typed.
struct RawCatOptions {
    /// Each option given, by its message name, with its value ("" for a flag; "on" for an
    /// optional_value flag given bare), in cat_options()' order.
    std::vector<std::pair<std::string, std::string>> given;
    std::vector<std::string> operands;
    bool stdin_is_tty = false;  ///< then the peer's FIN ends the session (nobody types on)
};

/// Everything sockcat was asked to do.
struct CatOptions {
    bool listen = false;
    bool keep = false;     ///< -k
    bool scan = false;     ///< -z
    bool verbose = false;  ///< -v
    bool numeric = false;  ///< -n
    bool show_state = false;
    bool no_accept = false;
    Proto proto = Proto::tcp;
    Want want = Want::any;
    std::string host;                         ///< connect target or listen address ("" = any)
    std::uint16_t port = 0;                   ///< connect or listen port
    std::vector<PortRange> ranges;            ///< -z
    std::string unix_path;                    ///< -U
    std::optional<Source> source;             ///< -s / -p when connecting
    nanoseconds timeout{0};                   ///< -w
    std::optional<std::string> hexdump_path;  ///< -o
    SocketOptions sock;
    RelayConfig relay;  ///< fds are filled in at run time
    bool read_stdin = true;
    bool write_stdout = true;
};

/// Checks and converts the command line in one place: empty values, the conflict table
/// (one message a pair: "cannot use -s and -l"), options that need -l or refuse -U, the
/// operands, every number and duration. Errors: errc::invalid_argument with the usage
/// message (without "sockcat: ") as context. Looks up service names (/etc/services).
[[nodiscard]] Result<CatOptions> convert_options(const RawCatOptions& raw);

// ---------------------------------------------------------------- sockcat's words
// Pure: each returns one line with its '\n', as nc -v and --show-state print it.

/// nc -v: "Connection to HOST (ADDR) PORT port [tcp/SERVICE] succeeded!"; the address in
/// parentheses only when it differs from the HOST typed and -n is off (netcat-openbsd).
/// `service` is service_name()'s word. A unix socket: "Connection to PATH succeeded!".
[[nodiscard]] std::string connected_line(const CatOptions& o, std::string_view peer_host,
                                         std::uint16_t port, std::string_view service);
/// nc -v: "Connection received on NAME PORT" (`name`: host_name() of the peer).
[[nodiscard]] std::string received_line(const CatOptions& o, std::string_view name,
                                        std::uint16_t port);
/// nc -v at the start: "Listening on NAME PORT" (UDP: "Bound on"); a unix listener says
/// "Bound on PATH" and "Listening on PATH".
[[nodiscard]] std::string listening_lines(const CatOptions& o, std::string_view name,
                                          std::uint16_t port);
/// --show-state: "sockcat: LOCAL -> PEER FROM -> TO (WHY)"; nullopt states are CLOSED.
[[nodiscard]] std::string state_line(std::string_view local, std::string_view peer,
                                     std::optional<TcpState> from, std::optional<TcpState> to,
                                     std::string_view why);
/// --show-state of a new listener: "sockcat: LOCAL CLOSED -> LISTEN (listening)".
[[nodiscard]] std::string listening_state_line(std::string_view local, std::optional<TcpState> now);
/// -k at the fd limit, said once: "sockcat: accept: REASON; new clients wait until a
/// session ends".
[[nodiscard]] std::string fd_limit_line(const std::error_code& ec);

// ---------------------------------------------------------------- sockcat's run

/// Where sockcat's words go; the app prints them (the library never does).
struct CatHooks {
    std::function<void(std::string_view)> say;  ///< lines of the functions above (stderr)
    std::function<void(const Error&)> error;  ///< one failure ("connect 127.0.0.1:9", ECONNREFUSED)
    int in_fd = 0;                            ///< where stdin data comes from
    int out_fd = 1;  ///< where received data goes; detach_fd() moves it aside per session
};

/// nc -l's stdout at the peer's FIN: returns a close-on-exec copy of `fd` (the session
/// owns and closes it, so the reader of a pipe sees EOF then) and puts /dev/null on `fd`,
/// so that nothing lands there afterwards. -1 when there is no fd for it.
[[nodiscard]] int detach_fd(int fd);

/// Runs what `o` asks: a scan (-z), a listener (once, -k or --no-accept) or a connection,
/// narrated through `hooks`, until done or `stop_fd` (the stop signals' self-pipe) is
/// readable. Opens the -o file; removes a unix listener's socket file at the end. Blocks.
/// Returns exit_ok, or exit_runtime when it failed (a scan: when no port answered).
[[nodiscard]] int run_cat(const CatOptions& o, const CatHooks& hooks, int stop_fd);

}  // namespace socklab::net
