// sockls: list sockets like ss and netstat: parse, query sock_diag, filter, render.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_set>

#include "options.hpp"
#include "socklab/diag.hpp"
#include "socklab/filter.hpp"
#include "socklab/output.hpp"
#include "socklab/proc.hpp"

namespace {

using namespace socklab;
using sockls::Options;

constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

int fail(int code, const std::string& what, const std::string& why) {
    std::fputs(fmt::format("sockls: {}: {}\n", what, why).c_str(), stderr);
    return code;
}

/// Writes to stdout; remembers when the reader went away (`sockls | head`).
class StdoutSink {
  public:
    void write(std::string_view s) {
        if (closed_) return;
        while (!s.empty()) {
            const ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                closed_ = true;  // EPIPE and friends: nobody is reading; stop quietly
                return;
            }
            s.remove_prefix(static_cast<std::size_t>(n));
        }
    }

  private:
    bool closed_ = false;
};

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

/// The filter words: from -F FILE (split on white space) and the command line.
Result<std::vector<std::string>> filter_words(const Options& o) {
    std::vector<std::string> words;
    if (!o.filter_file.empty()) {
        std::ifstream in(o.filter_file);
        if (!in) return errno_error("-F " + o.filter_file);
        std::string w;
        while (in >> w)
            words.push_back(w);
    }
    words.insert(words.end(), o.filter.begin(), o.filter.end());
    return words;
}

Result<std::unique_ptr<diag::SocketSource>> open_source(const Options& o) {
    if (!o.replay_path.empty()) return diag::make_replay_source(o.replay_path);
    if (o.source == "proc") return diag::open_source(diag::SourceKind::procfs);
    if (o.source == "netlink") return diag::open_source(diag::SourceKind::netlink);
    return diag::open_source(diag::SourceKind::automatic);
}

/// ss's order: unix, raw, udp, tcp; within a table the kernel's order.
int table_rank(Netid n) {
    switch (n) {
        case Netid::unix_:
            return 0;
        case Netid::raw:
            return 1;
        case Netid::udp:
            return 2;
        case Netid::tcp:
            return 3;
    }
    return 4;
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

void attach_processes(std::vector<SocketRecord>& records) {
    std::unordered_set<std::uint64_t> wanted;
    wanted.reserve(records.size());
    for (const auto& r : records)
        if (r.inode != 0) wanted.insert(r.inode);
    if (wanted.empty()) return;
    const auto owners = proc::scan_owners(wanted, proc::ScanOptions{});
    proc::attach_owners(records, owners);
}

int kill_matched(const std::vector<SocketRecord>& records) {
    if (records.empty()) return fail(exit_runtime, "kill", "no socket matched the filter");
    int failed = 0;
    for (const auto& r : records) {
        auto res = diag::destroy_socket(r);
        if (!res) {
            if (failed++ == 0) fail(exit_runtime, "kill", res.error().message());
        }
    }
    return failed ? exit_runtime : 0;
}

int run(const Options& o) {
    auto words = filter_words(o);
    if (!words) return fail(exit_usage, "filter", words.error().message());
    if (o.kill && words->empty())
        return fail(exit_usage, "kill", "refused without a filter (it would destroy every socket)");
    auto flt = filter::parse(*words, default_states(o));
    if (!flt) return fail(exit_usage, "filter", flt.error().context);

    diag::Query q;
    choose_tables(o, q);
    q.states = flt->states;
    q.bytecode = filter::compile_bytecode(*flt);

    if (!o.netns.empty()) {
        if (auto r = diag::enter_netns(o.netns); !r)
            return fail(exit_runtime, "netns " + o.netns, r.error().code.message());
    }
    if (!o.record_path.empty()) {
        if (auto r = diag::record_dump(q, o.record_path); !r)
            return fail(exit_runtime, "record", r.error().message());
    }
    auto src = open_source(o);
    if (!src) return fail(exit_runtime, "open", src.error().message());
    auto dumped = (*src)->dump(q);
    if (!dumped) return fail(exit_runtime, "dump", dumped.error().message());

    std::vector<SocketRecord> records = std::move(*dumped);
    // The kernel already filtered by state (and bytecode); /proc and replay did not.
    std::erase_if(records, [&](const SocketRecord& r) { return !filter::matches(*flt, r); });
    std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
        return table_rank(a.netid) < table_rank(b.netid);
    });

    if (o.kill) return kill_matched(records);
    if (o.processes || o.by == "process") attach_processes(records);

    const auto resolver = output::make_system_resolver();
    const auto ropts = render_options(o, q, resolver.get());
    StdoutSink out;
    const output::Sink sink = [&out](std::string_view s) { out.write(s); };
    if (o.summary)
        output::render_summary(records, ropts, sink);
    else if (!o.by.empty())
        output::render_groups(records, *output::parse_group_by(o.by), ropts, sink);
    else
        output::render(records, ropts, sink);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    auto parsed = sockls::parse_options(argc, argv);
    if (parsed.exit_code) return *parsed.exit_code;
    const auto& o = parsed.options;
    if ((o.json ? 1 : 0) + (o.jsonl ? 1 : 0) + (o.csv ? 1 : 0) + (o.format != "ss" ? 1 : 0) > 1)
        return fail(exit_usage, "usage", "choose one of --format, --json, --jsonl and --csv");
    if (o.all && o.listening) return fail(exit_usage, "usage", "cannot use -a and -l");
    if (o.summary && !o.by.empty()) return fail(exit_usage, "usage", "cannot use -s and --by");
    if (!o.record_path.empty() && !o.replay_path.empty())
        return fail(exit_usage, "usage", "cannot use --record and --replay");
    if (o.kill && !o.replay_path.empty())
        return fail(exit_usage, "usage", "cannot use --kill with --replay");
    return run(o);
}
