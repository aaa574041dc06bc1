// listing: ss's defaults as data (tables, states, table order per dialect) and the keyword tables.
#include <fmt/format.h>

#include <array>
#include <bit>

#include "socklab/listing.hpp"

namespace socklab::listing {
namespace {

constexpr std::array<std::string_view, 3> kSourceWords{"auto", "netlink", "proc"};
constexpr std::array<SourceChoice, 3> kSources{SourceChoice::automatic, SourceChoice::netlink,
                                               SourceChoice::procfs};
constexpr std::array<std::string_view, 3> kFilterPathWords{"both", "kernel", "user"};
// ss -f's families that sockls lists (link and netlink are not among them).
constexpr std::array<std::string_view, 3> kFamilyWords{"inet", "inet6", "unix"};
constexpr std::array<FilterPath, 3> kFilterPaths{FilterPath::both, FilterPath::kernel,
                                                 FilterPath::user};

template <class E, std::size_t N>
std::optional<E> parse_word(const std::array<std::string_view, N>& words,
                            const std::array<E, N>& values, std::string_view word) {
    for (std::size_t i = 0; i < N; ++i)
        if (words[i] == word) return values[i];
    return std::nullopt;
}

using Table = bool diag::Query::*;

/// The order each dialect prints its tables: ss shows unix, raw, udp, tcp;
/// netstat its internet table first and unix last.
constexpr std::array<Table, 4> kSsOrder{&diag::Query::unix_, &diag::Query::raw, &diag::Query::udp,
                                        &diag::Query::tcp};
constexpr std::array<Table, 4> kNetstatOrder{&diag::Query::tcp, &diag::Query::udp,
                                             &diag::Query::raw, &diag::Query::unix_};

/// A state as ss displays it: SYN_RECV's request sockets show as SYN-RECV and
/// bound-inactive sockets as UNCONN (CLOSE).
struct Fold {
    TcpState from;
    TcpState shown_as;
};
constexpr std::array<Fold, 2> kDisplayFolds{{
    {TcpState::new_syn_recv, TcpState::syn_recv},
    {TcpState::bound_inactive, TcpState::close},
}};

}  // namespace

std::vector<std::string> Keywords::strings() const {
    return {words.begin(), words.end()};
}

std::string Keywords::text() const {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i != 0) out += i + 1 == words.size() ? " or " : ", ";
        out += words[i];
    }
    return out;
}

Keywords format_keywords() {
    return {"--format", output::format_names()};
}
Keywords group_by_keywords() {
    return {"--by", output::group_by_names()};
}
Keywords source_keywords() {
    return {"--source", kSourceWords};
}
Keywords filter_path_keywords() {
    return {"--filter-path", kFilterPathWords};
}

Keywords family_keywords() {
    return {"-f,--family", kFamilyWords};
}

namespace {

/// One -A word: the tables it names (unix ones as unix_types bits).
struct QueryWord {
    std::string_view word;
    bool tcp, udp, raw;
    std::uint8_t unix_types;
};
constexpr std::uint8_t unix_bit(UnixType t) {
    return static_cast<std::uint8_t>(1U << static_cast<unsigned>(t));
}
constexpr std::array<QueryWord, 9> kQueryWords{{
    {"all", true, true, true, kAllUnixTypes},
    {"inet", true, true, true, 0},
    {"tcp", true, false, false, 0},
    {"udp", false, true, false, 0},
    {"raw", false, false, true, 0},
    {"unix", false, false, false, kAllUnixTypes},
    {"unix_dgram", false, false, false, unix_bit(UnixType::dgram)},
    {"unix_stream", false, false, false, unix_bit(UnixType::stream)},
    {"unix_seqpacket", false, false, false, unix_bit(UnixType::seqpacket)},
}};
/// ss's words for tables sockls does not list.
constexpr std::array<std::string_view, 4> kUnlistedQueryWords{"packet", "packet_raw",
                                                              "packet_dgram", "netlink"};

/// The unix table's types as named so far: all of them when -x named the table.
std::uint8_t named_unix_types(const Request& r) {
    return r.unix_ ? r.unix_types : std::uint8_t{0};
}

}  // namespace

std::optional<std::string> apply_query(std::string_view list, Request& r) {
    std::uint8_t unix_types = named_unix_types(r);
    for (std::size_t start = 0;;) {
        const std::size_t comma = list.find(',', start);
        std::string_view word = list.substr(start, comma - start);
        const bool remove = !word.empty() && word.front() == '!';
        if (remove) word.remove_prefix(1);
        const QueryWord* found = nullptr;
        for (const auto& q : kQueryWords)
            if (q.word == word) found = &q;
        if (found == nullptr) {
            for (const auto w : kUnlistedQueryWords)
                if (w == word) return fmt::format("{} sockets are not listed by sockls", word);
            std::string known;
            for (const auto& q : kQueryWords)
                known += (known.empty() ? "" : ", ") + std::string(q.word);
            return fmt::format("\"{}\" is not a socket table ({})", word, known);
        }
        const auto set = [remove](bool& table, bool named) {
            if (named) table = !remove;
        };
        set(r.tcp, found->tcp);
        set(r.udp, found->udp);
        set(r.raw, found->raw);
        unix_types = remove ? static_cast<std::uint8_t>(unix_types & ~found->unix_types)
                            : static_cast<std::uint8_t>(unix_types | found->unix_types);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    r.unix_ = unix_types != 0;
    r.unix_types = r.unix_ ? unix_types : kAllUnixTypes;
    if (!r.tcp && !r.udp && !r.raw && !r.unix_) return "no socket tables to show with such query";
    return std::nullopt;
}

void apply_family(std::string_view word, Request& request) {
    request.ipv4 = request.ipv4 || word == "inet";
    request.ipv6 = request.ipv6 || word == "inet6";
    request.unix_ = request.unix_ || word == "unix";
}

std::optional<SourceChoice> parse_source(std::string_view word) {
    return parse_word(kSourceWords, kSources, word);
}

std::optional<FilterPath> parse_filter_path(std::string_view word) {
    return parse_word(kFilterPathWords, kFilterPaths, word);
}

bool netstat_dialect(output::Format format) {
    return format == output::Format::netstat || format == output::Format::windows;
}

diag::Query default_query(const Request& r) {
    // ss: no table named lists them all; a family (-4/-6) alone drops unix.
    const bool any_table = r.tcp || r.udp || r.unix_ || r.raw;
    const bool any_family = r.ipv4 || r.ipv6;
    diag::Query q;
    q.tcp = r.tcp || !any_table;
    q.udp = r.udp || !any_table;
    q.unix_ = r.unix_ || (!any_table && !any_family);
    q.raw = r.raw || !any_table;
    q.ipv4 = r.ipv4 || !any_family;
    q.ipv6 = r.ipv6 || !any_family;
    q.want_info = r.info;
    q.want_memory = r.memory;
    return q;
}

StateMask default_states(const Request& r) {
    const StateMask listeners = state_bit(TcpState::listen) | state_bit(TcpState::close);
    if (r.all) return all_states_mask;
    if (r.listening) return listeners;
    // netstat's default is everything but listening sockets (TIME_WAIT included).
    if (netstat_dialect(r.format)) return all_states_mask & ~listeners;
    // ss merges each table's default: TCP and unix the connected states, UDP and raw
    // ESTABLISHED alone (what a datagram socket can be but UNCONN). So -u or -w
    // alone selects one state and ss hides the State column; the rows are the same.
    const diag::Query q = default_query(r);
    if (!q.tcp && !q.unix_) return state_bit(TcpState::established);
    return connected_mask();
}

bool single_state(StateMask m) {
    StateMask shown = m;
    for (const auto& f : kDisplayFolds) {
        if ((m & state_bit(f.from)) == 0) continue;
        shown &= ~state_bit(f.from);
        shown |= state_bit(f.shown_as);
    }
    return shown != 0 && (shown & (shown - 1)) == 0;
}

std::vector<diag::Query> table_queries(const diag::Query& q, output::Format format) {
    std::vector<diag::Query> out;
    for (const Table table : netstat_dialect(format) ? kNetstatOrder : kSsOrder) {
        if (!(q.*table)) continue;
        diag::Query t = q;
        t.tcp = t.udp = t.raw = t.unix_ = false;
        t.*table = true;
        out.push_back(std::move(t));
    }
    return out;
}

std::optional<Failure> refusal(const Request& request) {
    if (request.kill && request.filter.empty())
        return Failure{"kill",
                       make_error(std::errc::invalid_argument,
                                  "refused without a filter (it would destroy every socket)"),
                       true};
    return std::nullopt;
}

std::optional<Failure> make_plan(const Request& request, Plan& plan) {
    if (auto bad = refusal(request)) return bad;
    plan.request = request;
    // Windows' netstat -o is the PID column: the owners are needed for it.
    if (request.format == output::Format::windows && request.timers) plan.request.processes = true;
    plan.query = default_query(request);
    // ss 6.1 reads every operand as a unix path glob once -x is given (measured: even
    // with -t, `sport = :P` then lists no TCP socket); without -x ports are ports, and
    // without any unix table a port over 65535 can match nothing: an error.
    filter::ParseOptions popts;
    popts.unix_only = request.unix_;
    popts.inet_only = !plan.query.unix_;
    if (plan.query.ipv4 != plan.query.ipv6)
        popts.only_family = plan.query.ipv4 ? Family::inet : Family::inet6;
    popts.port_range_file = request.port_range_file;
    auto flt = filter::parse(request.filter, default_states(request), popts);
    if (!flt)
        return Failure{"filter", make_error(std::errc::invalid_argument, flt.error().context),
                       true};
    plan.filter = std::move(*flt);
    plan.query.states = plan.filter.states;
    if (request.filter_path != FilterPath::user)
        plan.query.bytecode = filter::compile_bytecode(plan.filter);
    plan.tables = table_queries(plan.query, request.format);
    return std::nullopt;
}

output::RenderOptions render_options(const Plan& plan, const output::Resolver* resolver) {
    const Request& o = plan.request;
    const diag::Query& q = plan.query;
    output::RenderOptions r;
    r.format = o.format;
    r.header = o.header;
    r.numeric_ports = o.numeric;
    r.resolve_hosts = o.resolve;
    // ss shows the Netid column unless exactly one table (unix counts as three).
    const int unix_tables = q.unix_ ? std::popcount(o.unix_types) : 0;
    const int tables = (q.tcp ? 1 : 0) + (q.udp ? 1 : 0) + (q.raw ? 1 : 0) + unix_tables;
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

std::string hidden_because(const proc::ScanStats& st) {
    std::vector<std::string> parts;
    const bool root_fds = st.root_errno == EMFILE || st.root_errno == ENFILE;
    if (st.processes_out_of_fds != 0 || root_fds) parts.emplace_back("out of file descriptors");
    if (st.root_errno != 0 && !root_fds) {
        std::string why = std::generic_category().message(st.root_errno);
        // As every error line: "permission denied", not "Permission denied".
        if (!why.empty() && why[0] >= 'A' && why[0] <= 'Z')
            why[0] = static_cast<char>(why[0] - 'A' + 'a');
        parts.push_back("/proc: " + why);
    }
    if (st.processes_denied != 0)
        parts.push_back(fmt::format("{} process{} not readable: run as root", st.processes_denied,
                                    st.processes_denied == 1 ? "" : "es"));
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : "; ") + p;
    return out;
}

}  // namespace socklab::listing
