// listing: sockls's one step: ss's defaults as data, then dump, filter, blocks, owners, render,
// kill.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/diag.hpp"
#include "socklab/filter.hpp"
#include "socklab/output.hpp"
#include "socklab/proc.hpp"

namespace socklab::listing {

/// Where the records come from (--source).
enum class SourceChoice { automatic, netlink, procfs };
/// Where the filter expression is evaluated (--filter-path): "both" (bytecode in the
/// kernel, then again in user space, as ss does), "kernel" (bytecode only), "user".
enum class FilterPath { both, kernel, user };

/// One option's accepted words, in the order help and error texts list them. The one
/// table per option: CLI11's IsMember check, the help text and parse_* all read it.
struct Keywords {
    std::string_view option;  ///< "--format"
    std::span<const std::string_view> words;

    /// The words as CLI11's IsMember wants them.
    [[nodiscard]] std::vector<std::string> strings() const;
    /// "a, b or c", for help texts.
    [[nodiscard]] std::string text() const;
};
[[nodiscard]] Keywords format_keywords();       ///< output's format names
[[nodiscard]] Keywords group_by_keywords();     ///< output's --by names
[[nodiscard]] Keywords source_keywords();       ///< auto, netlink, proc
[[nodiscard]] Keywords filter_path_keywords();  ///< both, kernel, user
[[nodiscard]] Keywords family_keywords();       ///< -f: inet, inet6, unix
[[nodiscard]] std::optional<SourceChoice> parse_source(std::string_view word);
[[nodiscard]] std::optional<FilterPath> parse_filter_path(std::string_view word);

/// Every unix type (stream, dgram, seqpacket) as Request::unix_types bits.
inline constexpr std::uint8_t kAllUnixTypes = (1U << static_cast<unsigned>(UnixType::stream)) |
                                              (1U << static_cast<unsigned>(UnixType::dgram)) |
                                              (1U << static_cast<unsigned>(UnixType::seqpacket));

/// What the user asked for, as plain values (the app fills it from its options).
struct Request {
    /// Tables and families named on the command line; none named: ss's defaults.
    bool tcp = false, udp = false, unix_ = false, raw = false;
    bool ipv4 = false, ipv6 = false;
    /// Which unix types the unix table lists (-A unix_stream...): bits 1 << UnixType.
    std::uint8_t unix_types = kAllUnixTypes;
    bool all = false, listening = false;  ///< -a, -l (the app refuses both)
    output::Format format = output::Format::ss;
    bool header = true, numeric = false, resolve = false, processes = false;
    bool extended = false, timers = false, info = false, memory = false, one_line = false;
    bool summary = false;               ///< -s
    std::optional<output::GroupBy> by;  ///< --by
    bool kill = false;                  ///< -K: SOCK_DESTROY what matched
    FilterPath filter_path = FilterPath::both;
    /// State words and the ss expression (already read from -F and argv).
    std::vector<std::string> filter;
    /// Where the ephemeral range for `autobound` is read (tests point it elsewhere).
    std::string port_range_file = "/proc/sys/net/ipv4/ip_local_port_range";
};

/// ss's `-f FAMILY`: inet is -4, inet6 is -6, unix is -x (a word of family_keywords()).
void apply_family(std::string_view word, Request& request);

/// ss's `-A QUERY`: a comma list of all, inet, tcp, udp, raw, unix, unix_dgram,
/// unix_stream, unix_seqpacket (a word after `!` is taken away), added to the tables
/// already named. The first call starts from no table, as ss's first -A does.
/// Returns the reason when a word is unknown or not listed by sockls (packet,
/// netlink), or when no table is left; the request is then unspecified.
[[nodiscard]] std::optional<std::string> apply_query(std::string_view list, Request& request);

/// The netstat dialects (netstat, windows) change the default states and table order.
[[nodiscard]] bool netstat_dialect(output::Format format);

/// ss's default tables and families: what the query dumps for the flags given.
[[nodiscard]] diag::Query default_query(const Request& request);

/// ss 6.1's default states, as measured: -a every state, -l LISTEN and UNCONN,
/// otherwise the `connected` group; netstat's dialects: everything but listeners.
[[nodiscard]] StateMask default_states(const Request& request);

/// ss hides the State column when the selection is one state as displayed.
[[nodiscard]] bool single_state(StateMask states);

/// One query per table of `query`, in the order the dialect prints them.
[[nodiscard]] std::vector<diag::Query> table_queries(const diag::Query& query,
                                                     output::Format format);

/// A request checked and parsed: what is dumped, filtered and rendered.
struct Plan {
    Request request;
    filter::Filter filter;
    diag::Query query;                ///< every table, with state mask and bytecode
    std::vector<diag::Query> tables;  ///< query split per table, in printing order
};

/// Why a step failed: the message's `what` ("filter", "kill", "dump"...), the error,
/// and whether it is the user's mistake (exit 2) or the system's (exit 1).
struct Failure {
    std::string what;
    Error error;
    bool usage = false;
};

/// What the request is refused for before anything is opened or parsed (--kill
/// without a filter), as a usage Failure; nullopt when it may go on.
[[nodiscard]] std::optional<Failure> refusal(const Request& request);

/// Checks (refusal()) and parses the request (no I/O but the ephemeral range file and, for
/// host names in the filter, DNS). Call inside the namespace to list, since
/// `autobound` reads that namespace's port range. Failures are usage errors:
/// a bad filter, --kill without a filter.
[[nodiscard]] std::optional<Failure> make_plan(const Request& request, Plan& plan);

/// The render options for the plan (resolver not owned; null: numeric everything).
[[nodiscard]] output::RenderOptions render_options(const Plan& plan,
                                                   const output::Resolver* resolver);

/// The seams of run(), so tests need no root and no /proc of their own.
struct Hooks {
    /// -p's owner scan (default: proc::scan_owners over /proc).
    std::function<proc::OwnerMap(const std::unordered_set<std::uint64_t>&, proc::ScanStats&)>
        scan_owners;
    /// --kill's SOCK_DESTROY (default: diag::destroy_socket).
    std::function<Result<void>(const SocketRecord&)> destroy;
    /// Names of ports and hosts (default: the system resolver; may block on DNS).
    const output::Resolver* resolver = nullptr;
    /// Called once, right after an incomplete owner scan left `unknown` sockets
    /// without owners and before any row is rendered, so the app's message comes
    /// first, as it did when the app ran the scan (the same facts are in the Outcome).
    std::function<void(std::size_t unknown, const proc::ScanStats& stats)> owners_hidden;
};

/// What run() found besides the text.
struct Outcome {
    std::size_t matched = 0;  ///< records that passed the filter (in the rendering pass)
    /// -p: sockets whose owner stayed unknown because the scan was incomplete (0 when
    /// it was complete), and what it could not read.
    std::size_t owners_unknown = 0;
    proc::ScanStats scan;
    std::size_t destroyed = 0;       ///< --kill: sockets destroyed (and listed)
    std::size_t destroy_failed = 0;  ///< --kill: sockets the kernel refused to destroy
    std::optional<Failure> failure;  ///< set when the run failed (text may be partial)
};

/// Runs the plan on `source`: streams the matched records in blocks of 1024 to the
/// renderer, which writes text to `sink` in chunks, so memory stays flat at any
/// socket count; with -p a first pass gathers the inodes and /proc is scanned once
/// for those. -s, --by and --kill collect the whole matched set. Blocks until the
/// dump ends. Never prints: failures and facts come back in the Outcome.
[[nodiscard]] Outcome run(const Plan& plan, diag::SocketSource& source, const output::Sink& sink,
                          const Hooks& hooks = {});

/// "out of file descriptors; 2 processes not readable: run as root": why owners are
/// hidden, from what the scan could not read (for the app's one-line message).
[[nodiscard]] std::string hidden_because(const proc::ScanStats& stats);

}  // namespace socklab::listing
