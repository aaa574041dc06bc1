// output: renderers (ss, netstat, windows, json, jsonl, csv) over one row model.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "socklab/model.hpp"

namespace socklab::output {

enum class Format { ss, netstat, windows, json, jsonl, csv };
/// "ss" "netstat" "windows" "json" "jsonl" "csv".
[[nodiscard]] std::optional<Format> parse_format(std::string_view name);
/// The names parse_format() accepts, in that order (static storage).
[[nodiscard]] std::span<const std::string_view> format_names();

/// Name look-ups, behind an interface so renderers stay pure in tests.
class Resolver {
  public:
    virtual ~Resolver() = default;
    /// Service name for a port ("http"), or empty for none.
    [[nodiscard]] virtual std::string service(std::uint32_t port, Netid netid) const = 0;
    /// Host name for an address, or empty for none.
    [[nodiscard]] virtual std::string host(const IpAddr& addr) const = 0;
    /// Interface name for an ifindex ("lo"), or empty for none (ss then writes "if3").
    [[nodiscard]] virtual std::string interface_name(std::uint32_t ifindex) const {
        static_cast<void>(ifindex);
        return {};
    }
};
/// getservbyport(3) and getnameinfo(3); may block on DNS for host().
[[nodiscard]] std::unique_ptr<Resolver> make_system_resolver();

/// Which of netstat's header lines to print: netstat says "(servers and established)"
/// with -a, "(only servers)" with -l, "(w/o servers)" otherwise.
enum class NetstatScope { all, listening, connected };

struct RenderOptions {
    Format format = Format::ss;
    bool header = true;          ///< -H turns it off
    bool numeric_ports = false;  ///< -n: no service names
    bool resolve_hosts = false;  ///< -r
    bool show_netid = true;      ///< ss: the Netid column when several tables are shown
    bool processes = false;      ///< -p
    bool extended = false;       ///< -e: uid, inode, cookie
    bool timers = false;         ///< -o
    bool info = false;           ///< -i
    bool memory = false;         ///< -m
    bool one_line = false;       ///< -O
    bool color = false;          ///< never when not on a terminal
    bool show_state = true;      ///< ss: the State column (ss hides it when one state is asked for)
    NetstatScope netstat_scope = NetstatScope::all;  ///< netstat's header line
    const Resolver* resolver = nullptr;              ///< null: numeric everything
};

/// Receives output in chunks; called many times per render.
using Sink = std::function<void(std::string_view)>;

/// Renders rows that arrive in batches (SocketSource::dump_each), so a listing
/// of any size needs memory for one batch only. The header comes once; ss's
/// column widths are measured per batch, as ss measures per buffered chunk;
/// JSON arrays keep their brackets and commas across batches. Not thread-safe.
class StreamRenderer {
  public:
    StreamRenderer(const RenderOptions& options, Sink sink);
    ~StreamRenderer();
    StreamRenderer(const StreamRenderer&) = delete;
    StreamRenderer& operator=(const StreamRenderer&) = delete;

    /// Renders one batch; output reaches the sink in chunks as it fills.
    void add(std::span<const SocketRecord> batch);
    /// Writes what closes the listing (an empty listing's header, "]") and
    /// flushes. Call once, after the last add().
    void finish();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Renders the rows in the chosen format. Pure: same records and options, same text.
void render(std::span<const SocketRecord> records, const RenderOptions& options, const Sink& sink);
[[nodiscard]] std::string render_to_string(std::span<const SocketRecord> records,
                                           const RenderOptions& options);

/// -s: one line per state with its count (in the chosen dialect; JSON formats
/// give an object of JSON state names).
void render_summary(std::span<const SocketRecord> records, const RenderOptions& options,
                    const Sink& sink);

enum class GroupBy { port, process, peer };
[[nodiscard]] std::optional<GroupBy> parse_group_by(std::string_view name);
/// The names parse_group_by() accepts, in that order (static storage).
[[nodiscard]] std::span<const std::string_view> group_by_names();
/// --by: counts per local port / owning process / peer address, each split by state.
void render_groups(std::span<const SocketRecord> records, GroupBy by, const RenderOptions& options,
                   const Sink& sink);

/// The JSON keys of one socket object, in order: the JSON CONTRACT of sockls(1).
[[nodiscard]] std::span<const std::string_view> json_keys();

}  // namespace socklab::output
