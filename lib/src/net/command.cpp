// net: sockcat's command line as data: the options, the conflict table, the conversion.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>

#include "socklab/net.hpp"

namespace socklab::net {
namespace {

/// Pairs of options that cannot go together; each gets one message.
constexpr std::array<std::pair<std::string_view, std::string_view>, 51> conflicts{{
    {"-s", "-l"},
    {"-z", "-l"},
    {"-4", "-6"},
    {"-u", "-U"},
    {"-U", "-4"},
    {"-U", "-6"},
    {"-U", "-s"},
    {"-U", "-p"},
    {"-U", "-z"},
    {"--send-only", "--recv-only"},
    {"--echo", "--discard"},
    {"--echo", "--source"},
    {"--discard", "--source"},
    {"--echo", "--send-only"},
    {"--echo", "--recv-only"},
    {"--discard", "--send-only"},
    {"--discard", "--recv-only"},
    {"--source", "--recv-only"},
    {"--source", "-d"},
    {"--source", "-c"},
    {"--source", "-i"},
    {"--no-read", "--echo"},
    {"--no-read", "--discard"},
    {"--no-read", "--recv-only"},
    {"--no-read", "--send-only"},
    {"-z", "--echo"},
    {"-z", "--discard"},
    {"-z", "--source"},
    {"-z", "--send-only"},
    {"-z", "--recv-only"},
    {"-z", "--no-read"},
    {"-z", "-u"},
    {"-z", "-o"},
    {"-z", "--show-state"},
    {"-k", "-u"},
    {"-k", "--no-accept"},
    {"--no-accept", "--echo"},
    {"--no-accept", "--discard"},
    {"--no-accept", "--source"},
    {"-N", "--on-eof"},
    {"-N", "-q"},
    {"-u", "--no-accept"},
    {"-u", "--defer-accept"},
    {"-u", "--keepalive"},
    {"-u", "--nodelay"},
    {"-u", "--linger2"},
    {"-u", "--user-timeout"},
    {"-u", "--show-state"},
    {"-u", "--close"},
    {"-u", "--linger"},
    {"-u", "--backlog"},
}};

/// TCP-only options that a unix socket cannot take.
constexpr std::array<std::string_view, 6> not_unix{
    {"--defer-accept", "--keepalive", "--nodelay", "--linger2", "--user-timeout", "--show-state"}};
/// Options that only make sense with -l.
constexpr std::array<std::string_view, 4> listen_only{
    {"-k", "--backlog", "--no-accept", "--defer-accept"}};

/// A keyword option's table: its words and whether a word is one of them.
struct KeywordTable {
    std::string_view name;
    std::string (*words)();
    bool (*valid)(std::string_view);
};
const std::array<KeywordTable, 3> keyword_tables{{
    {"--on-eof", on_eof_words, [](std::string_view w) { return parse_on_eof(w).has_value(); }},
    {"--on-peer-close", on_peer_close_words,
     [](std::string_view w) { return parse_on_peer_close(w).has_value(); }},
    {"--close", close_mode_words,
     [](std::string_view w) { return parse_close_mode(w).has_value(); }},
}};

std::string words_of(std::string_view name) {
    for (const auto& t : keyword_tables)
        if (t.name == name) return t.words();
    return {};
}

CatOption flag(std::string_view names, std::string help) {
    return {names, CatOption::flag, "", std::move(help)};
}
CatOption value(std::string_view names, std::string_view type, std::string help) {
    return {names, CatOption::value, type, std::move(help)};
}
CatOption keyword(std::string_view names, std::string_view type, std::string_view help,
                  std::string_view name) {
    return {names, CatOption::value, type, std::string(help) + words_of(name), true};
}

std::vector<CatOption> make_options() {
    return {
        flag("-l,--listen", "listen for an incoming connection"),
        flag("-u,--udp", "UDP instead of TCP"),
        flag("-U,--unixsock", "Unix stream socket: the operand is its PATH"),
        flag("-4", "IPv4 only"),
        flag("-6", "IPv6 only"),
        value("-s,--source-addr", "ADDR", "source address when connecting"),
        value("-p,--port", "PORT", "source port (connect) or listen port (-l)"),
        flag("-n,--numeric", "numeric addresses only, no DNS"),
        value("-w,--wait", "SECS", "connect and idle timeout"),
        flag("-k,--keep-open", "keep listening; serve clients concurrently"),
        flag("-z,--scan", "scan: report listening ports, send nothing"),
        flag("-v,--verbose", "print nc-style facts (Listening on, Connection to...)"),
        flag("-N", "shutdown the socket after stdin EOF (the default)"),
        value("-q", "SECS", "quit SECS after stdin EOF (0: at once; negative: never)"),
        flag("-d", "do not read stdin"),
        flag("-c,-C,--crlf", "send CRLF as line ending (nc and ncat spell it -C)"),
        value("-i,--interval", "SECS", "delay between lines sent / ports scanned"),
        value("-o,--hex-dump", "FILE", "hex dump of the traffic to FILE"),
        flag("--send-only", "only send; ignore received data; close at stdin EOF"),
        flag("--recv-only", "only receive; never read stdin"),
        flag("--echo", "echo service: send back what arrives"),
        flag("--discard", "discard service: read and drop"),
        value("--source", "BYTES", "send BYTES of a pattern, then close as configured"),
        keyword("--on-eof", "ACTION", "at stdin EOF: ", "--on-eof"),
        keyword("--on-peer-close", "ACTION", "at the peer's FIN: ", "--on-peer-close"),
        keyword("--close", "MODE", "close with ", "--close"),
        value("--linger", "SECS", "SO_LINGER: close waits SECS for the ACKs"),
        value("--linger2", "SECS", "TCP_LINGER2: FIN_WAIT_2 lifetime"),
        value("--close-after", "DURATION", "close DURATION after the start"),
        value("--close-after-bytes", "N", "close after sending N bytes"),
        value("--hold", "DURATION", "keep the socket DURATION after the data is done"),
        flag("--no-read", "never read the socket (the peer's window fills)"),
        value("--rcvbuf", "BYTES", "SO_RCVBUF, set before listen/connect"),
        value("--sndbuf", "BYTES", "SO_SNDBUF, set before listen/connect"),
        value("--backlog", "N", "listen(2) backlog"),
        flag("--no-accept", "listen but never accept"),
        value("--defer-accept", "SECS", "TCP_DEFER_ACCEPT (server held in SYN_RECV)"),
        {"--keepalive", CatOption::optional_value, "", "SO_KEEPALIVE [=IDLE,INTVL,CNT]", false},
        flag("--nodelay", "TCP_NODELAY"),
        flag("--reuseaddr", "SO_REUSEADDR (default on when listening)"),
        flag("--reuseport", "SO_REUSEPORT"),
        value("--user-timeout", "MS", "TCP_USER_TIMEOUT"),
        flag("--show-state", "print the kernel's TCP state after each event"),
    };
}

/// A usage error on its way out of convert_options() (caught there, never further).
struct UsageError {
    std::string text;
};

/// What was typed, looked up by message name.
class Given {
  public:
    explicit Given(const RawCatOptions& raw) : raw_(raw) {}
    [[nodiscard]] bool has(std::string_view name) const { return find(name) != nullptr; }
    /// The option's value; "" when it was not given.
    [[nodiscard]] const std::string& value(std::string_view name) const {
        static const std::string none;
        const auto* v = find(name);
        return v != nullptr ? *v : none;
    }
    [[nodiscard]] const RawCatOptions& raw() const { return raw_; }

  private:
    [[nodiscard]] const std::string* find(std::string_view name) const {
        const std::string* out = nullptr;
        for (const auto& [n, v] : raw_.given)
            if (n == name) out = &v;
        return out;
    }
    const RawCatOptions& raw_;
};

nanoseconds seconds_arg(const std::string& text, std::string_view flag) {
    auto d = parse_duration(text);
    if (!d) throw UsageError{fmt::format("{}: {}", flag, d.error().context)};
    // 0 means "at once" or "none" to these options; a value that only rounds to 0
    // ("-w 1e-12") must not silently become that.
    if (d->count() == 0 && std::strtod(text.c_str(), nullptr) != 0.0)
        throw UsageError{fmt::format("{}: '{}' is below one nanosecond", flag, text)};
    return *d;
}

unsigned long long number_arg(const Given& g, std::string_view flag, unsigned long long lo,
                              unsigned long long hi) {
    auto v = parse_uint(g.value(flag), lo, hi);
    if (!v) throw UsageError{fmt::format("{}: {}", flag, v.error().context)};
    return *v;
}

template <class T>
void set_number(std::optional<T>& into, const Given& g, std::string_view flag,
                unsigned long long lo, unsigned long long hi) {
    if (g.has(flag)) into = static_cast<T>(number_arg(g, flag, lo, hi));
}

void set_duration(nanoseconds& into, const Given& g, std::string_view flag) {
    if (g.has(flag)) into = seconds_arg(g.value(flag), flag);
}

/// A port operand or -p value: a number or a service name of `proto` (nc's strtoport).
std::uint16_t port_arg(const std::string& text, Proto proto, bool allow_zero) {
    auto p = parse_service(text, proto, allow_zero);
    if (!p) throw UsageError{p.error().context};
    return *p;
}

/// An option given with an empty value ("-w ''", "-o ''") is a mistake, never "not given".
void check_empty_values(const Given& g) {
    for (const auto& o : cat_options())
        if (o.kind != CatOption::flag && g.has(o.message_name()) &&
            g.value(o.message_name()).empty())
            throw UsageError{fmt::format("{}: empty value", o.message_name())};
}

/// nc -q SECS: 0 quits at once, a negative number never; anything else is a mistake.
nanoseconds quit_arg(const std::string& text) {
    if (!text.empty() && text[0] == '-') {
        const auto rest = text.substr(1);
        if (!rest.empty() && parse_uint(rest, 0, ULLONG_MAX)) return nanoseconds(-1);
        throw UsageError{fmt::format("-q: '{}' is not a number of seconds", text)};
    }
    return seconds_arg(text, "-q");
}

void check_conflicts(const Given& g) {
    for (const auto& [a, b] : conflicts)
        if (g.has(a) && g.has(b)) throw UsageError{fmt::format("cannot use {} and {}", a, b)};
    for (const auto name : not_unix)
        if (g.has("-U") && g.has(name)) throw UsageError{fmt::format("cannot use -U and {}", name)};
    for (const auto name : listen_only)
        if (g.has(name) && !g.has("-l")) throw UsageError{fmt::format("{} needs -l", name)};
}

/// True for an operand that can only be meant as a port: all digits.
bool looks_like_port(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Names an empty operand as the usage line does: '' is never "any host" or "no port".
void check_empty_operands(const CatOptions& o, const Given& g) {
    const auto& a = g.raw().operands;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!a[i].empty()) continue;
        const bool last = i + 1 == a.size();
        const char* what = g.has("-U")                        ? "path"
                           : o.scan                           ? (i == 0 ? "host" : "port")
                           : o.listen && last && !g.has("-p") ? "port"
                           : o.listen                         ? "host"
                           : i == 1                           ? "port"
                                                              : "host";
        throw UsageError{fmt::format("{} operand: empty value", what)};
    }
}

void listen_operands(CatOptions& o, const Given& g) {
    // nc habits: -l PORT, -l HOST PORT; ncat's -l -p PORT [HOST].
    const auto& a = g.raw().operands;
    const auto& port_opt = g.value("-p");
    const bool p = !port_opt.empty();
    if (a.size() > (p ? 1u : 2u) || (!p && a.empty()))
        throw UsageError{"usage: sockcat -l [HOST] PORT"};
    if (p) {
        // nc refuses -l -p PORT PORT2 as usage and ncat says "more than one port";
        // read as a host, "7777" would be inet_aton's 0.0.30.97.
        if (!a.empty() && looks_like_port(a[0]))
            throw UsageError{
                fmt::format("-p {} and operand {}: more than one port", port_opt, a[0])};
        o.port = port_arg(port_opt, o.proto, true);
        if (!a.empty()) o.host = a[0];
    } else {
        o.port = port_arg(a.back(), o.proto, true);
        if (a.size() == 2) o.host = a[0];
    }
}

void operands(CatOptions& o, const Given& g) {
    check_empty_operands(o, g);
    const auto& a = g.raw().operands;
    if (g.has("-U")) {
        // nc and ncat: -U is a flag and the socket path is the operand (nc -U -l PATH).
        if (a.size() != 1) throw UsageError{"usage: sockcat -U [-l] PATH"};
        o.unix_path = a[0];
        o.proto = Proto::unix_stream;
    } else if (o.listen) {
        listen_operands(o, g);
    } else if (o.scan) {
        if (a.size() < 2) throw UsageError{"usage: sockcat -z HOST PORT[-PORT]..."};
        o.host = a[0];
        for (std::size_t i = 1; i < a.size(); ++i) {
            auto range = parse_port_range(a[i], o.proto);
            if (!range) throw UsageError{range.error().context};
            o.ranges.push_back(*range);
        }
    } else {
        if (a.size() != 2) throw UsageError{"usage: sockcat [options] HOST PORT"};
        o.host = a[0];
        o.port = port_arg(a[1], o.proto, false);
    }
}

void close_controls(CatOptions& o, const Given& g) {
    auto& c = o.relay;
    // The words were checked while parsing (check_cat_keyword through CLI11).
    if (g.has("--on-eof"))
        c.on_eof = *parse_on_eof(g.value("--on-eof"));
    else if (g.has("--send-only"))
        c.on_eof = OnEof::close;  // ncat --send-only: quit at EOF
    if (g.has("--on-peer-close"))
        c.on_peer_close = *parse_on_peer_close(g.value("--on-peer-close"));
    else if (g.raw().stdin_is_tty && o.read_stdin)
        c.on_peer_close = OnPeerClose::close;  // nobody types the rest of an answer
    if (g.has("--close")) c.close_mode = *parse_close_mode(g.value("--close"));
    if (g.has("-q")) {
        // OpenBSD nc: -q SECS quits SECS after stdin EOF; 0 at once; negative never.
        c.quit_after_eof = quit_arg(g.value("-q"));
        if (c.quit_after_eof.count() == 0 && !g.has("--on-eof")) c.on_eof = OnEof::close;
    }
    set_number(c.linger_s, g, "--linger", 0, INT_MAX);
    set_duration(c.close_after, g, "--close-after");
    set_number(c.close_after_bytes, g, "--close-after-bytes", 0, ULLONG_MAX);
    set_duration(c.hold, g, "--hold");
    set_duration(c.line_interval, g, "-i");
    set_duration(c.idle_timeout, g, "-w");
    o.timeout = c.idle_timeout;
}

void socket_options(CatOptions& o, const Given& g) {
    auto& s = o.sock;
    set_number(s.rcvbuf, g, "--rcvbuf", 1, INT_MAX / 2);
    set_number(s.sndbuf, g, "--sndbuf", 1, INT_MAX / 2);
    if (g.has("--backlog")) s.backlog = static_cast<int>(number_arg(g, "--backlog", 0, 65535));
    set_number(s.linger2_s, g, "--linger2", 0, INT_MAX);
    set_number(s.defer_accept_s, g, "--defer-accept", 1, INT_MAX);
    set_number(s.user_timeout_ms, g, "--user-timeout", 0, INT_MAX);
    if (g.has("--keepalive")) {
        const auto& k_text = g.value("--keepalive");
        auto k = parse_keepalive(k_text == "on" ? "" : k_text);
        if (!k) throw UsageError{k.error().context};
        s.keepalive = *k;
    }
    s.nodelay = g.has("--nodelay");
    s.reuseport = g.has("--reuseport");
    s.reuseaddr = g.has("--reuseaddr") || o.listen;  // nc's habit: a restarted server rebinds
}

void services(CatOptions& o, const Given& g) {
    auto& c = o.relay;
    o.read_stdin = !g.has("-d") && !g.has("--recv-only") && !o.keep;
    o.write_stdout = !g.has("--send-only");
    if (g.has("--echo")) c.service = Service::echo;
    if (g.has("--discard")) c.service = Service::discard;
    if (g.has("--source")) {
        c.service = Service::source;
        c.source_bytes = number_arg(g, "--source", 0, ULLONG_MAX);
    }
    if (c.service != Service::stdio) o.read_stdin = false;
    c.no_read = g.has("--no-read");
    c.crlf = g.has("-c");
    c.datagram = o.proto == Proto::udp;
    if (g.has("-o")) o.hexdump_path = g.value("-o");
}

CatOptions convert(const Given& g) {
    check_empty_values(g);
    check_conflicts(g);
    CatOptions o;
    o.listen = g.has("-l");
    o.keep = g.has("-k");
    o.scan = g.has("-z");
    o.verbose = g.has("-v");
    o.numeric = g.has("-n");
    o.show_state = g.has("--show-state");
    o.no_accept = g.has("--no-accept");
    if (g.has("-u")) o.proto = Proto::udp;
    o.want = g.has("-4") ? Want::v4 : g.has("-6") ? Want::v6 : Want::any;
    operands(o, g);
    if (!o.listen && (g.has("-p") || g.has("-s")))
        o.source = Source{g.value("-s"),
                          g.has("-p") ? port_arg(g.value("-p"), o.proto, false) : std::uint16_t{0}};
    services(o, g);
    close_controls(o, g);
    socket_options(o, g);
    return o;
}

}  // namespace

std::string_view CatOption::message_name() const {
    // "-c,-C,--crlf": the first short name; "--on-eof": the first long one.
    std::string_view first_long;
    std::string_view rest = names;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto name = rest.substr(0, comma);
        if (name.size() == 2 && name[0] == '-') return name;
        if (first_long.empty()) first_long = name;
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    return first_long;
}

std::span<const std::pair<std::string_view, std::string_view>> cat_conflicts() {
    return conflicts;
}

const std::vector<CatOption>& cat_options() {
    static const std::vector<CatOption> options = make_options();
    return options;
}

std::string check_cat_keyword(std::string_view name, std::string_view value) {
    for (const auto& t : keyword_tables)
        if (t.name == name && !value.empty() && !t.valid(value))
            return fmt::format("'{}' is not {}", value, t.words());
    return {};
}

Result<CatOptions> convert_options(const RawCatOptions& raw) {
    try {
        return convert(Given(raw));
    } catch (const UsageError& e) {
        return make_error(std::errc::invalid_argument, e.text);
    }
}

}  // namespace socklab::net
