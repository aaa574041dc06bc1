// filter: state words and the ss expression language, parsed to one AST.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/model.hpp"

namespace socklab::filter {

/// A node of the expression AST (defined in the filter module).
struct Node;

/// The parsed filter: the state set and an optional expression.
struct Filter {
    StateMask states = 0;
    bool explicit_states = false;      ///< `state`/`exclude` words were given
    std::shared_ptr<const Node> expr;  ///< null: every socket of the selected states
    /// The ephemeral port range (net.ipv4.ip_local_port_range) that `autobound`
    /// uses in user space, as ss does for /proc; the kernel instead tests the
    /// socket's bind lock (SOCK_BINDPORT_LOCK), see compile_bytecode().
    std::uint32_t ephemeral_lo = 32768;
    std::uint32_t ephemeral_hi = 60999;
};

/// How parse() resolves names.
struct ParseOptions {
    /// Look up host names (`src localhost`) with getaddrinfo(3); may block on DNS.
    /// Off: only numeric addresses and prefixes are accepted.
    bool resolve_hosts = true;
    /// Read the ephemeral port range from this file (empty: keep the Linux default).
    std::string port_range_file = "/proc/sys/net/ipv4/ip_local_port_range";
    /// Unix sockets were asked for (`sockls -x`): then, as in ss, the operand of
    /// src/dst/sport/dport is a path glob (`src /run/*.sock`, `unix:` optional), and
    /// port comparisons (<, >=...) are an error (ss silently makes them constant).
    bool unix_only = false;
    /// No unix table is listed (`sockls -t`, `-4`...). Kept for callers: a port is
    /// at most 65535 either way now (a unix socket's inode is compared as its
    /// "port", as in ss, but `sport = :70000` is a slip, not an inode).
    bool inet_only = false;
    /// Only this family is listed (`-4`: inet, `-6`: inet6): an address of the
    /// other family is an error, as in ss (a host name keeps its addresses of this
    /// family). Unset: both.
    std::optional<Family> only_family;
};

/// Parses command-line words (`state established '( dport = :443 )'`).
/// `default_states` applies when no state word is given. Errors read
/// "col N: expected ..." with N counted in the words joined by single spaces.
/// Service names are looked up with getservbyname(3) (/etc/services); host names
/// with getaddrinfo(3), which may block on DNS. Never throws.
[[nodiscard]] Result<Filter> parse(std::span<const std::string> words, StateMask default_states);
/// The same with explicit options (tests and the fuzzer turn name look-ups off).
[[nodiscard]] Result<Filter> parse(std::span<const std::string> words, StateMask default_states,
                                   const ParseOptions& options);

/// Splits the text of a filter file (`sockls -F FILE`) into words: lines whose
/// first non-blank character is '#' are comments, as in ss.
[[nodiscard]] std::vector<std::string> split_filter_text(std::string_view text);

/// The most a filter file may hold: ss's filter files are a few lines; this bound keeps
/// `-F /dev/zero` from filling memory.
inline constexpr std::size_t max_filter_file_bytes = 1024 * 1024;

/// Reads a filter file ("-" is stdin) and splits it with split_filter_text(). The file
/// is checked before it is read: a directory or a block device is refused, a regular
/// file over max_filter_file_bytes is refused by its size, and a pipe or character
/// device is read up to that bound and refused past it; a NUL byte is refused. Errors
/// carry the path (errno) or "PATH: why" (invalid_argument). Blocks while a pipe
/// has no data yet.
[[nodiscard]] Result<std::vector<std::string>> read_filter_file(const std::string& path);

/// User-space evaluation: does the record pass the filter (states and expression)?
/// Address conditions follow the kernel's inet_diag rules (an IPv4 prefix also
/// matches v4-mapped IPv6 sockets); on unix sockets port conditions compare
/// inodes and `src`/`dst` compare paths (`unix:GLOB`), as ss does.
[[nodiscard]] bool matches(const Filter& filter, const SocketRecord& record);

/// inet_diag bytecode for the expression (empty when there is none, or when it
/// cannot be expressed for the kernel: callers then filter in user space).
/// Only inet dumps (tcp, udp, raw) take bytecode; unix records always need
/// matches(). The state set is not part of it: it goes in the query's state mask.
[[nodiscard]] std::vector<std::byte> compile_bytecode(const Filter& filter);

/// A one-line rendering of the expression with full brackets, for debugging and
/// tests ("(sport = :22 or (dport >= :1024 and not autobound))"); "" for none.
[[nodiscard]] std::string describe(const Filter& filter);

}  // namespace socklab::filter
