// sockls: list sockets like ss and netstat: parse, query sock_diag, filter, render.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iterator>
#include <unordered_set>

#include "app.hpp"
#include "options.hpp"
#include "socklab/diag.hpp"
#include "socklab/filter.hpp"
#include "socklab/output.hpp"
#include "socklab/proc.hpp"

namespace {

using namespace socklab;
using sockls::Options;

using app::exit_runtime;
using app::exit_usage;

int fail(int code, std::string_view what, std::string_view why) {
    app::error_line("sockls", what, why);
    return code;
}

/// A library error as one line's reason: errors without an errno carry their
/// whole reason in the context (make_error(invalid_argument, ...)).
std::string why(const Error& e) {
    if (e.code == std::errc::invalid_argument && !e.context.empty()) return e.context;
    if (e.context.empty()) return app::reason(e.code);
    return e.context + ": " + app::reason(e.code);
}

/// Which tables to dump: ss's defaults when none is named.
void choose_tables(const Options& o, diag::Query& q) {
    const bool any_table = o.tcp || o.udp || o.unix_ || o.raw;
    const bool any_family = o.ipv4 || o.ipv6;
    q.tcp = o.tcp || !any_table;
    q.udp = o.udp || !any_table;
    q.unix_ = o.unix_ || (!any_table && !any_family);
    q.raw = o.raw || !any_table;
    q.ipv4 = o.ipv4 || !any_family;
    q.ipv6 = o.ipv6 || !any_family;
    q.want_info = o.info;
    q.want_memory = o.memory;
}

bool netstat_dialect(const Options& o) {
    return o.format == "netstat" || o.format == "windows";
}

/// ss 6.1's defaults, as measured: -a every state, -l LISTEN and UNCONN,
/// otherwise the `connected` group for every table. In netstat's dialects the
/// default is netstat's: everything but listening sockets (TIME_WAIT included).
StateMask default_states(const Options& o) {
    if (o.all) return all_states_mask;
    if (o.listening) return state_bit(TcpState::listen) | state_bit(TcpState::close);
    if (netstat_dialect(o))
        return all_states_mask & ~(state_bit(TcpState::listen) | state_bit(TcpState::close));
    return connected_mask();
}

/// ss hides the State column when the selection is one state (as displayed:
/// SYN_RECV's request sockets and bound-inactive sockets fold into one).
bool single_state(StateMask m) {
    StateMask shown =
        m & ~(state_bit(TcpState::new_syn_recv) | state_bit(TcpState::bound_inactive));
    if (m & state_bit(TcpState::new_syn_recv)) shown |= state_bit(TcpState::syn_recv);
    if (m & state_bit(TcpState::bound_inactive)) shown |= state_bit(TcpState::close);
    return shown != 0 && (shown & (shown - 1)) == 0;
}

/// The filter words: from -F FILE ('#' lines are comments; checked and bounded
/// before it is read) and the command line.
Result<std::vector<std::string>> filter_words(const Options& o) {
    std::vector<std::string> words;
    if (o.filter_file) {
        auto from_file = filter::read_filter_file(*o.filter_file);
        if (!from_file) return from_file.error();
        words = std::move(*from_file);
    }
    words.insert(words.end(), o.filter.begin(), o.filter.end());
    return words;
}

Result<std::unique_ptr<diag::SocketSource>> open_source(const Options& o) {
    if (o.replay_path) return diag::make_replay_source(*o.replay_path);
    if (o.source == "proc") return diag::open_source(diag::SourceKind::procfs);
    if (o.source == "netlink") return diag::open_source(diag::SourceKind::netlink);
    return diag::open_source(diag::SourceKind::automatic);
}

/// One query per table, in the order the dialect prints them: ss shows unix,
/// raw, udp, tcp; netstat its internet table first and unix last.
std::vector<diag::Query> table_queries(const Options& o, const diag::Query& q) {
    std::vector<diag::Query> out;
    auto only = [&](bool diag::Query::*table) {
        if (!(q.*table)) return;
        diag::Query t = q;
        t.tcp = t.udp = t.raw = t.unix_ = false;
        t.*table = true;
        out.push_back(std::move(t));
    };
    if (netstat_dialect(o)) {
        for (auto t :
             {&diag::Query::tcp, &diag::Query::udp, &diag::Query::raw, &diag::Query::unix_})
            only(t);
    } else {
        for (auto t :
             {&diag::Query::unix_, &diag::Query::raw, &diag::Query::udp, &diag::Query::tcp})
            only(t);
    }
    return out;
}

/// Records handed on together: enough for stable ss column widths, small enough
/// that a listing of any size stays within a few MiB (ss flushes every few MiB).
constexpr std::size_t block_size = 1024;

using BlockFn = std::function<void(std::vector<SocketRecord>&)>;

/// What each record still has to pass in user space. The kernel already applied the
/// state mask and the bytecode to netlink's inet sockets; ss checks them again, and so
/// do we unless --filter-path kernel. Unix, /proc and replay records always need it.
struct UserFilter {
    filter::Filter full;
    filter::Filter states_only;  ///< for netlink inet records with --filter-path kernel
    bool trust_kernel = false;

    [[nodiscard]] bool pass(const SocketRecord& r) const {
        return filter::matches(trust_kernel && r.netid != Netid::unix_ ? states_only : full, r);
    }
};

/// Streams every record that passes the filter, block by block, never holding
/// the whole listing.
Result<void> for_each_block(diag::SocketSource& src, const std::vector<diag::Query>& queries,
                            const UserFilter& flt, const BlockFn& each) {
    std::vector<SocketRecord> block;
    block.reserve(block_size);
    for (const auto& q : queries) {
        auto res = src.dump_each(q, [&](std::span<SocketRecord> batch) -> Result<void> {
            for (auto& rec : batch) {
                if (!flt.pass(rec)) continue;
                block.push_back(std::move(rec));
                if (block.size() == block_size) {
                    each(block);
                    block.clear();
                }
            }
            return {};
        });
        if (!res) return res.error();
    }
    if (!block.empty()) each(block);
    return {};
}

/// The whole matched listing in memory: for -s, --by and --kill, which need it all.
Result<std::vector<SocketRecord>> collect(diag::SocketSource& src,
                                          const std::vector<diag::Query>& queries,
                                          const UserFilter& flt) {
    std::vector<SocketRecord> all;
    auto res = for_each_block(src, queries, flt, [&](std::vector<SocketRecord>& block) {
        std::move(block.begin(), block.end(), std::back_inserter(all));
    });
    if (!res) return res.error();
    return all;
}

output::RenderOptions render_options(const Options& o, const diag::Query& q,
                                     const output::Resolver* resolver) {
    output::RenderOptions r;
    if (o.json)
        r.format = output::Format::json;
    else if (o.jsonl)
        r.format = output::Format::jsonl;
    else if (o.csv)
        r.format = output::Format::csv;
    else
        r.format = *output::parse_format(o.format);
    r.header = !o.no_header;
    r.numeric_ports = o.numeric;
    r.resolve_hosts = o.resolve;
    // ss shows the Netid column unless exactly one table (unix counts as three).
    const int tables = (q.tcp ? 1 : 0) + (q.udp ? 1 : 0) + (q.raw ? 1 : 0) + (q.unix_ ? 3 : 0);
    r.show_netid = tables > 1;
    r.show_state = !single_state(q.states);
    r.netstat_scope = o.all         ? output::NetstatScope::all
                      : o.listening ? output::NetstatScope::listening
                                    : output::NetstatScope::connected;
    r.processes = o.processes;
    r.extended = o.extended;
    r.timers = o.timers;
    r.info = o.info;
    r.memory = o.memory;
    r.one_line = o.one_line;
    r.color = false;
    r.resolver = resolver;
    return r;
}

/// Why some owners are missing, from what the scan could not read.
std::string hidden_because(const proc::ScanStats& st) {
    std::vector<std::string> parts;
    const bool root_fds = st.root_errno == EMFILE || st.root_errno == ENFILE;
    if (st.processes_out_of_fds != 0 || root_fds) parts.emplace_back("out of file descriptors");
    if (st.root_errno != 0 && !root_fds)
        parts.push_back("/proc: " +
                        app::reason(std::error_code(st.root_errno, std::system_category())));
    if (st.processes_denied != 0)
        parts.push_back(fmt::format("{} process{} not readable: run as root", st.processes_denied,
                                    st.processes_denied == 1 ? "" : "es"));
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : "; ") + p;
    return out;
}

/// The owners of `inodes`. When some processes (or /proc) could not be read and some
/// sockets got no owner, says so once: -p must not drop owners silently.
proc::OwnerMap scan_owners_of(const std::unordered_set<std::uint64_t>& inodes) {
    if (inodes.empty()) return {};
    proc::ScanStats stats;
    auto owners = proc::scan_owners(inodes, proc::ScanOptions{}, &stats);
    if (stats.incomplete()) {
        if (const auto unknown = proc::unknown_owners(inodes, owners); unknown != 0)
            app::error_line("sockls", "-p",
                            fmt::format("owners of {} socket{} unknown: {}", unknown,
                                        unknown == 1 ? "" : "s", hidden_because(stats)));
    }
    return owners;
}

void attach_processes(std::vector<SocketRecord>& records) {
    std::unordered_set<std::uint64_t> wanted;
    wanted.reserve(records.size());
    for (const auto& r : records)
        if (r.inode != 0) wanted.insert(r.inode);
    proc::attach_owners(records, scan_owners_of(wanted));
}

/// SOCK_DESTROY every matched inet socket (the kernel cannot destroy unix sockets;
/// ss -K skips them too). Keeps in `records` the ones destroyed, to list like ss -K.
int kill_matched(std::vector<SocketRecord>& records) {
    std::erase_if(records, [](const SocketRecord& r) { return r.netid == Netid::unix_; });
    if (records.empty()) return fail(exit_runtime, "kill", "no socket matched the filter");
    std::size_t failed = 0;
    std::erase_if(records, [&](const SocketRecord& r) {
        auto res = diag::destroy_socket(r);
        // ENOENT: the socket closed between the dump and now, which is what we wanted.
        if (res || res.error().code == std::errc::no_such_file_or_directory) return !res;
        if (failed++ == 0) fail(exit_runtime, "kill", why(res.error()));
        return true;
    });
    return failed ? exit_runtime : 0;
}

/// The sockets --kill destroyed, listed as the listing would show them.
void render_list(const Options& o, const diag::Query& q, const std::vector<SocketRecord>& records,
                 app::Output& out) {
    const auto resolver = output::make_system_resolver();
    output::StreamRenderer renderer(render_options(o, q, resolver.get()),
                                    [&out](std::string_view s) { out.write(s); });
    renderer.add(records);
    renderer.finish();
}

int render_counts(const Options& o, const diag::Query& q, const std::vector<SocketRecord>& all,
                  app::Output& out) {
    const auto resolver = output::make_system_resolver();
    const auto ropts = render_options(o, q, resolver.get());
    const output::Sink sink = [&out](std::string_view s) { out.write(s); };
    if (o.summary)
        output::render_summary(all, ropts, sink);
    else
        output::render_groups(all, *output::parse_group_by(o.by), ropts, sink);
    return 0;
}

/// The listing, streamed: with -p a first pass collects the wanted inodes so
/// /proc is scanned once for exactly those, then the second pass renders.
int stream_listing(const Options& o, const diag::Query& q, diag::SocketSource& src,
                   const std::vector<diag::Query>& queries, const UserFilter& flt,
                   app::Output& out) {
    proc::OwnerMap owners;
    if (o.processes) {
        std::unordered_set<std::uint64_t> inodes;
        auto res = for_each_block(src, queries, flt, [&](std::vector<SocketRecord>& block) {
            for (const auto& r : block)
                if (r.inode != 0) inodes.insert(r.inode);
        });
        if (!res) return fail(exit_runtime, "dump", why(res.error()));
        owners = scan_owners_of(inodes);
    }
    const auto resolver = output::make_system_resolver();
    output::StreamRenderer renderer(render_options(o, q, resolver.get()),
                                    [&out](std::string_view s) { out.write(s); });
    auto res = for_each_block(src, queries, flt, [&](std::vector<SocketRecord>& block) {
        if (o.processes) proc::attach_owners(block, std::move(owners));
        renderer.add(block);
    });
    if (!res) return fail(exit_runtime, "dump", why(res.error()));
    renderer.finish();
    return 0;
}

int run(const Options& o, app::Output& out) {
    auto words = filter_words(o);
    // A file that cannot be read is a runtime failure; a bad filter in it is usage.
    if (!words) return fail(exit_runtime, "-F", why(words.error()));
    if (o.kill && words->empty())
        return fail(exit_usage, "kill", "refused without a filter (it would destroy every socket)");
    // Into the namespace before parsing: `autobound` reads that namespace's
    // ephemeral port range.
    if (o.netns) {
        if (auto r = diag::enter_netns(*o.netns); !r)
            return fail(exit_runtime, "netns " + *o.netns, app::reason(r.error().code));
    }
    diag::Query q;
    choose_tables(o, q);
    // ss 6.1 reads every operand as a unix path glob once -x is given (measured: even
    // with -t, `sport = :P` then lists no TCP socket); without -x ports are ports, and
    // without any unix table a port over 65535 can match nothing: an error.
    filter::ParseOptions popts;
    popts.unix_only = o.unix_;
    popts.inet_only = !q.unix_;
    auto flt = filter::parse(*words, default_states(o), popts);
    if (!flt) return fail(exit_usage, "filter", flt.error().context);
    q.states = flt->states;
    if (o.filter_path != "user") q.bytecode = filter::compile_bytecode(*flt);

    if (o.record_path) {
        if (auto r = diag::record_dump(q, *o.record_path); !r)
            return fail(exit_runtime, "record", why(r.error()));
    }
    auto src = open_source(o);
    if (!src) return fail(exit_runtime, o.replay_path ? "replay" : "open", why(src.error()));
    const auto queries = table_queries(o, q);
    UserFilter uflt{*flt, *flt, false};
    if (o.filter_path == "kernel") {
        // --source proc and --replay are refused as usage errors before; this is
        // `auto` falling back to /proc on a kernel without sock_diag.
        if ((*src)->name() != "netlink")
            return fail(exit_runtime, "filter",
                        fmt::format("--filter-path kernel needs netlink, not {}", (*src)->name()));
        uflt.states_only.expr = nullptr;
        uflt.trust_kernel = !q.bytecode.empty();
    }

    if (o.kill || o.summary || !o.by.empty()) {
        auto all = collect(**src, queries, uflt);
        if (!all) return fail(exit_runtime, "dump", why(all.error()));
        if (o.kill) {
            const int status = kill_matched(*all);
            if (!all->empty()) render_list(o, q, *all, out);
            return status;
        }
        if (o.by == "process") attach_processes(*all);
        return render_counts(o, q, *all, out);
    }
    return stream_listing(o, q, **src, queries, uflt, out);
}

/// Conflicts between options, each with its own message (as nc's one place).
int check_conflicts(const Options& o) {
    if ((o.json ? 1 : 0) + (o.jsonl ? 1 : 0) + (o.csv ? 1 : 0) + (o.format != "ss" ? 1 : 0) > 1)
        return fail(exit_usage, "usage", "choose one of --format, --json, --jsonl and --csv");
    if (o.all && o.listening) return fail(exit_usage, "usage", "cannot use -a and -l");
    if (o.summary && !o.by.empty()) return fail(exit_usage, "usage", "cannot use -s and --by");
    if (o.record_path && o.replay_path)
        return fail(exit_usage, "usage", "cannot use --record and --replay");
    if (o.kill && o.replay_path)
        return fail(exit_usage, "usage", "cannot use --kill with --replay");
    if (o.filter_path == "kernel" && o.source == "proc")
        return fail(exit_usage, "usage", "cannot use --filter-path kernel with --source proc");
    if (o.filter_path == "kernel" && o.replay_path)
        return fail(exit_usage, "usage", "cannot use --filter-path kernel with --replay");
    return app::exit_ok;
}

int sockls_main(int argc, char** argv) {
    auto parsed = sockls::parse_options(argc, argv);
    // --help and --version went through stdio: check that it reached stdout.
    if (parsed.exit_code) return app::finish_stdio("sockls", *parsed.exit_code);
    const auto& o = parsed.options;
    if (const int rc = check_conflicts(o); rc != app::exit_ok) return rc;
    app::Output out;
    const int rc = run(o, out);
    return out.finish("sockls", rc);
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything is opened: a netlink socket on a closed fd 1 would receive
    // our own listing.
    if (!socklab::app::ensure_std_fds()) return socklab::app::exit_runtime;
    // A reader that goes away (`| head`) is EPIPE from write(2), handled by Output.
    std::signal(SIGPIPE, SIG_IGN);
    return socklab::app::guarded("sockls", [&] { return sockls_main(argc, argv); });
}
