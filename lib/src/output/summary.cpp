// output: -s per-state histograms and --by groupings, in every format.
#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "output/detail.hpp"

namespace socklab::output {
namespace {

using detail::Writer;
using Counts = StateCounts;  // index = displayed kernel state

std::size_t state_index(TcpState s) {
    const auto i = static_cast<std::size_t>(display_state(s));
    return i < Counts{}.size() ? i : 0;
}

bool is_machine(Format f) {
    return f == Format::json || f == Format::jsonl || f == Format::csv;
}

// The dialect's spelling of a state for the human formats, the contract's otherwise.
std::string_view spelling(const StateInfo& info, Format f) {
    switch (f) {
        case Format::ss:
            return info.ss;
        case Format::netstat:
            return info.netstat;
        case Format::windows:
            return info.windows;
        default:
            return info.json;
    }
}

std::size_t digits(std::size_t n) {
    std::size_t d = 1;
    while (n >= 10) {
        n /= 10;
        ++d;
    }
    return d;
}

}  // namespace

void render_summary(std::span<const SocketRecord> records, const RenderOptions& options,
                    const Sink& sink) {
    Counts counts{};
    for (const auto& r : records)
        ++counts[state_index(r.state)];
    const auto table = state_table();
    Writer out(sink);
    if (options.format == Format::json || options.format == Format::jsonl) {
        out.put('{');
        for (std::size_t i = 0; i < counts.size(); ++i)
            if (counts[i] != 0) out.format("\"{}\":{},", table[i].json, counts[i]);
        out.format("\"total\":{}}}\n", records.size());
    } else if (options.format == Format::csv) {
        if (options.header) out.put("state,count\n");
        for (std::size_t i = 0; i < counts.size(); ++i)
            if (counts[i] != 0) out.format("{},{}\n", table[i].json, counts[i]);
        out.format("total,{}\n", records.size());
    } else {
        std::size_t name_w = std::string_view("Total").size();
        for (std::size_t i = 0; i < counts.size(); ++i)
            if (counts[i] != 0)
                name_w = std::max(name_w, spelling(table[i], options.format).size());
        const std::size_t count_w = std::max<std::size_t>(5, digits(records.size()));
        if (options.header) out.format("{:<{}}  {:>{}}\n", "State", name_w, "Count", count_w);
        for (std::size_t i = 0; i < counts.size(); ++i)
            if (counts[i] != 0)
                out.format("{:<{}}  {:>{}}\n", spelling(table[i], options.format), name_w,
                           counts[i], count_w);
        out.format("{:<{}}  {:>{}}\n", "Total", name_w, records.size(), count_w);
    }
    out.flush();
}

namespace {

struct Group {
    std::string key;  // what the human formats show
    std::uint32_t port = 0;
    bool has_port = false;  // a port group of an IP socket (unix ones group by path)
    int pid = 0;
    std::string comm;
    std::size_t total = 0;
    Counts counts{};
};

/// The service side of a connection for --by port: a port something listens on
/// here (the local end of a served connection, or the peer end of a client on
/// this host), else the lower of the two (the well-known side; the kernel picks
/// ephemeral ports high). Listeners and unbound peers: the local port.
std::uint32_t service_port(const SocketRecord& r,
                           const std::unordered_set<std::uint32_t>& listening) {
    if (r.peer.port == 0 || listening.contains(r.local.port)) return r.local.port;
    if (listening.contains(r.peer.port)) return r.peer.port;
    return std::min(r.local.port, r.peer.port);
}

class Grouper {
  public:
    Grouper(GroupBy by, const RenderOptions& o) : by_(by), o_(o) {}

    /// The ports of the listeners among the records, before any add().
    void note_listeners(std::span<const SocketRecord> records) {
        for (const auto& r : records)
            if (r.family != Family::unix_ && display_state(r.state) == TcpState::listen)
                listening_.insert(r.local.port);
    }

    void add(const SocketRecord& r) {
        const std::size_t s = state_index(r.state);
        if (by_ == GroupBy::process) {
            if (r.owners.empty()) {
                bump(group_for("-", [](Group&) {}), s);
                return;
            }
            // A socket shared by several processes counts once for each pid.
            std::vector<int> seen;
            for (const auto& owner : r.owners) {
                if (std::find(seen.begin(), seen.end(), owner.pid) != seen.end()) continue;
                seen.push_back(owner.pid);
                const std::string key = process_label(owner);
                bump(group_for(key,
                               [&](Group& g) {
                                   g.pid = owner.pid;
                                   g.comm = owner.comm;
                               }),
                     s);
            }
            return;
        }
        if (r.family == Family::unix_) {
            const Endpoint& ep = by_ == GroupBy::port ? r.local : r.peer;
            // Unnamed: "*" as ss shows it, "" in the machine formats (no "*" there).
            const std::string none = is_machine(o_.format) ? "" : "*";
            bump(group_for(ep.path.empty() ? none : ep.path, [](Group&) {}), s);
            return;
        }
        detail::Field text;
        if (by_ == GroupBy::port) {
            const std::uint32_t port = service_port(r, listening_);
            if (is_machine(o_.format))
                fmt::format_to(std::back_inserter(text), "{}", port);
            else
                detail::append_port(text, port, r.netid, o_);
            bump(group_for(std::string(detail::view(text)),
                           [&](Group& g) {
                               g.port = port;
                               g.has_port = true;
                           }),
                 s);
            return;
        }
        if (is_machine(o_.format))
            detail::append_numeric_host(text, r.peer.addr);
        else
            detail::append_host(text, r.peer.addr, o_);
        bump(group_for(std::string(detail::view(text)), [](Group&) {}), s);
    }

    /// Groups by count, largest first; ties by port number, then key text.
    std::vector<Group> take() {
        std::sort(groups_.begin(), groups_.end(), [](const Group& a, const Group& b) {
            if (a.total != b.total) return a.total > b.total;
            if (a.has_port != b.has_port) return a.has_port;
            if (a.port != b.port) return a.port < b.port;
            return a.key < b.key;
        });
        return std::move(groups_);
    }

  private:
    template <class Init>
    Group& group_for(const std::string& key, Init init) {
        const auto [it, fresh] = index_.try_emplace(key, groups_.size());
        if (fresh) {
            groups_.emplace_back();
            groups_.back().key = key;
            init(groups_.back());
        }
        return groups_[it->second];
    }
    static void bump(Group& g, std::size_t state) {
        ++g.total;
        ++g.counts[state];
    }

    GroupBy by_;
    const RenderOptions& o_;
    std::unordered_set<std::uint32_t> listening_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<Group> groups_;
};

std::string_view group_header(GroupBy by, bool machine) {
    switch (by) {
        case GroupBy::port:
            return machine ? "port" : "Port";
        case GroupBy::process:
            return machine ? "process" : "Process";
        case GroupBy::peer:
            break;
    }
    return machine ? "peer" : "Peer";
}

void json_group(Writer& out, const Group& g, GroupBy by) {
    fmt::memory_buffer b;
    if (by == GroupBy::process) {
        fmt::format_to(std::back_inserter(b), "{{\"pid\":{},\"comm\":", g.pid);
        append_json_string(b, g.comm);
    } else if (by == GroupBy::port && g.has_port) {
        fmt::format_to(std::back_inserter(b), "{{\"port\":{}", g.port);
    } else {
        b.append(std::string_view(by == GroupBy::port ? "{\"path\":" : "{\"peer\":"));
        append_json_string(b, g.key);
    }
    fmt::format_to(std::back_inserter(b), ",\"total\":{},\"states\":{{", g.total);
    bool first = true;
    for (std::size_t i = 0; i < g.counts.size(); ++i) {
        if (g.counts[i] == 0) continue;
        fmt::format_to(std::back_inserter(b), "{}\"{}\":{}", first ? "" : ",",
                       state_table()[i].json, g.counts[i]);
        first = false;
    }
    b.append(std::string_view("}}"));
    out.put(std::string_view(b.data(), b.size()));
}

void csv_key(Writer& out, std::string_view key) {
    fmt::memory_buffer b;
    append_csv_field(b, key);
    out.put(std::string_view(b.data(), b.size()));
}

void render_group_table(Writer& out, const std::vector<Group>& groups, GroupBy by,
                        const RenderOptions& o, const std::vector<std::size_t>& states) {
    const auto table = state_table();
    const bool csv = o.format == Format::csv;
    std::size_t key_w = group_header(by, false).size();
    std::vector<std::size_t> widths;
    std::size_t total_w = std::max<std::size_t>(5, groups.empty() ? 1 : digits(groups[0].total));
    for (const auto& g : groups)
        key_w = std::max(key_w, g.key.size());
    for (std::size_t s : states)
        widths.push_back(spelling(table[s], o.format).size());
    if (o.header) {
        if (csv)
            out.format("{},total", group_header(by, true));
        else
            out.format("{:<{}}  {:>{}}", group_header(by, false), key_w, "Total", total_w);
        for (std::size_t i = 0; i < states.size(); ++i) {
            out.put(csv ? "," : "  ");
            out.put(spelling(table[states[i]], o.format));
        }
        out.put('\n');
    }
    for (const auto& g : groups) {
        if (csv) {
            csv_key(out, g.key);
            out.format(",{}", g.total);
        } else {
            out.format("{:<{}}  {:>{}}", g.key, key_w, g.total, total_w);
        }
        for (std::size_t i = 0; i < states.size(); ++i) {
            if (csv)
                out.format(",{}", g.counts[states[i]]);
            else
                out.format("  {:>{}}", g.counts[states[i]], widths[i]);
        }
        out.put('\n');
        out.end_row();
    }
}

}  // namespace

void render_groups(std::span<const SocketRecord> records, GroupBy by, const RenderOptions& options,
                   const Sink& sink) {
    Grouper grouper(by, options);
    if (by == GroupBy::port) grouper.note_listeners(records);
    for (const auto& r : records)
        grouper.add(r);
    const std::vector<Group> groups = grouper.take();
    Writer out(sink);
    if (options.format == Format::json || options.format == Format::jsonl) {
        const bool lines = options.format == Format::jsonl;
        if (!lines) out.put(groups.empty() ? "[" : "[\n");
        for (std::size_t i = 0; i < groups.size(); ++i) {
            json_group(out, groups[i], by);
            out.put(!lines && i + 1 < groups.size() ? ",\n" : "\n");
            out.end_row();
        }
        if (!lines) out.put("]\n");
    } else {
        // Columns for the states that occur at all, in kernel order.
        std::vector<std::size_t> states;
        for (std::size_t s = 0; s < Counts{}.size(); ++s)
            if (std::any_of(groups.begin(), groups.end(),
                            [s](const Group& g) { return g.counts[s] != 0; }))
                states.push_back(s);
        render_group_table(out, groups, by, options, states);
    }
    out.flush();
}

}  // namespace socklab::output
