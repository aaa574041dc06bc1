// sockcat: command line: CLI11 flags, the conflict table, and conversion to Options.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "app.hpp"
#include "options.hpp"
#include "socklab/cli.hpp"

namespace sockcat {
namespace {

/// Raw values as typed; converted and checked in one place (validate()).
struct Raw {
    std::string port_opt, source_addr, wait, quit, interval, hexdump, source_bytes, on_eof,
        on_peer_close, close, linger, linger2, close_after, close_after_bytes, hold, rcvbuf, sndbuf,
        backlog, defer_accept, keepalive, user_timeout;
    std::vector<std::string> args;
    bool flags[32] = {};
};

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

enum Flag : std::uint8_t {
    f_listen,
    f_udp,
    f_v4,
    f_v6,
    f_numeric,
    f_keep,
    f_scan,
    f_verbose,
    f_nshut,
    f_no_stdin,
    f_crlf,
    f_send_only,
    f_recv_only,
    f_echo,
    f_discard,
    f_no_read,
    f_no_accept,
    f_nodelay,
    f_reuseaddr,
    f_reuseport,
    f_show_state,
    f_unix,
};

struct UsageError {
    std::string text;
};

nanoseconds seconds_arg(const std::string& text, std::string_view flag) {
    auto d = socklab::parse_duration(text);
    if (!d) throw UsageError{fmt::format("{}: {}", flag, d.error().context)};
    // 0 means "at once" or "none" to these options; a value that only rounds to 0
    // ("-w 1e-12") must not silently become that.
    if (d->count() == 0 && std::strtod(text.c_str(), nullptr) != 0.0)
        throw UsageError{fmt::format("{}: '{}' is below one nanosecond", flag, text)};
    return *d;
}

unsigned long long number_arg(const std::string& text, std::string_view flag, unsigned long long lo,
                              unsigned long long hi) {
    auto v = socklab::parse_uint(text, lo, hi);
    if (!v) throw UsageError{fmt::format("{}: {}", flag, v.error().context)};
    return *v;
}

/// A port operand or -p value: a number or a service name of `proto` (nc's strtoport).
std::uint16_t port_arg(const std::string& text, net::Proto proto, bool allow_zero) {
    auto p = net::parse_service(text, proto, allow_zero);
    if (!p) throw UsageError{p.error().context};
    return *p;
}

/// The name a message shows: nc's short flag where there is one ("-w", not "--wait").
std::string flag_name(const CLI::Option& o) {
    if (!o.get_snames().empty()) return "-" + o.get_snames().front();
    return "--" + o.get_lnames().front();
}

/// An option given with an empty value ("-w ''", "-o ''") is a mistake, never "not given".
void check_empty_values(const CLI::App& app) {
    for (const CLI::Option* o : app.get_options()) {
        if (o->get_type_size_max() == 0 && o->get_name() != "--keepalive") continue;  // plain flags
        if (o->get_positional()) continue;  // operands are named by positionals()
        for (const auto& v : o->results())
            if (v.empty()) throw UsageError{fmt::format("{}: empty value", flag_name(*o))};
    }
}

/// nc -q SECS: 0 quits at once, a negative number never; anything else is a mistake.
nanoseconds quit_arg(const std::string& text) {
    if (!text.empty() && text[0] == '-') {
        const auto rest = text.substr(1);
        if (!rest.empty() && socklab::parse_uint(rest, 0, ULLONG_MAX)) return nanoseconds(-1);
        throw UsageError{fmt::format("-q: '{}' is not a number of seconds", text)};
    }
    return seconds_arg(text, "-q");
}

void check_conflicts(const CLI::App& app) {
    auto given = [&](std::string_view name) {
        const auto* o = app.get_option_no_throw(std::string(name));
        return o != nullptr && o->count() > 0;
    };
    for (const auto& [a, b] : conflicts)
        if (given(a) && given(b)) throw UsageError{fmt::format("cannot use {} and {}", a, b)};
    for (const auto name : not_unix)
        if (given("-U") && given(name)) throw UsageError{fmt::format("cannot use -U and {}", name)};
    for (const auto name : listen_only)
        if (given(name) && !given("-l")) throw UsageError{fmt::format("{} needs -l", name)};
}

/// True for an operand that can only be meant as a port: all digits.
bool looks_like_port(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void positionals(Options& o, const Raw& r, bool unix_flag) {
    const auto& a = r.args;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!a[i].empty()) continue;
        // Name the operand as the usage line does: '' is never "any host" or "no port".
        const bool last = i + 1 == a.size();
        const char* what = unix_flag                                ? "path"
                           : o.scan                                 ? (i == 0 ? "host" : "port")
                           : o.listen && last && r.port_opt.empty() ? "port"
                           : o.listen                               ? "host"
                           : i == 1                                 ? "port"
                                                                    : "host";
        throw UsageError{fmt::format("{} operand: empty value", what)};
    }
    if (unix_flag) {
        // nc and ncat: -U is a flag and the socket path is the operand (nc -U -l PATH).
        if (a.size() != 1) throw UsageError{"usage: sockcat -U [-l] PATH"};
        o.unix_path = a[0];
        o.proto = net::Proto::unix_stream;
        return;
    }
    if (o.listen) {
        // nc habits: -l PORT, -l HOST PORT; ncat's -l -p PORT [HOST].
        const bool p = !r.port_opt.empty();
        if (a.size() > (p ? 1u : 2u) || (!p && a.empty()))
            throw UsageError{"usage: sockcat -l [HOST] PORT"};
        if (p) {
            // nc refuses -l -p PORT PORT2 as usage and ncat says "more than one port";
            // read as a host, "7777" would be inet_aton's 0.0.30.97.
            if (!a.empty() && looks_like_port(a[0]))
                throw UsageError{
                    fmt::format("-p {} and operand {}: more than one port", r.port_opt, a[0])};
            o.port = port_arg(r.port_opt, o.proto, true);
            if (!a.empty()) o.host = a[0];
        } else {
            o.port = port_arg(a.back(), o.proto, true);
            if (a.size() == 2) o.host = a[0];
        }
        return;
    }
    if (o.scan) {
        if (a.size() < 2) throw UsageError{"usage: sockcat -z HOST PORT[-PORT]..."};
        o.host = a[0];
        for (std::size_t i = 1; i < a.size(); ++i) {
            auto range = net::parse_port_range(a[i], o.proto);
            if (!range) throw UsageError{range.error().context};
            o.ranges.push_back(*range);
        }
        return;
    }
    if (a.size() != 2) throw UsageError{"usage: sockcat [options] HOST PORT"};
    o.host = a[0];
    o.port = port_arg(a[1], o.proto, false);
}

void close_controls(Options& o, const Raw& r, const CLI::App& app, bool stdin_is_tty) {
    auto given = [&](const char* name) { return app.get_option(name)->count() > 0; };
    auto& c = o.relay;
    // The words were checked while parsing (keyword() in define()).
    if (!r.on_eof.empty())
        c.on_eof = *net::parse_on_eof(r.on_eof);
    else if (r.flags[f_send_only])
        c.on_eof = net::OnEof::close;  // ncat --send-only: quit at EOF
    if (!r.on_peer_close.empty())
        c.on_peer_close = *net::parse_on_peer_close(r.on_peer_close);
    else if (stdin_is_tty && o.read_stdin)
        c.on_peer_close = net::OnPeerClose::close;  // nobody types the rest of an answer
    if (!r.close.empty()) c.close_mode = *net::parse_close_mode(r.close);
    if (given("-q")) {
        // OpenBSD nc: -q SECS quits SECS after stdin EOF; 0 at once; negative never.
        c.quit_after_eof = quit_arg(r.quit);
        if (c.quit_after_eof.count() == 0 && r.on_eof.empty()) c.on_eof = net::OnEof::close;
    }
    if (given("--linger"))
        c.linger_s = static_cast<unsigned>(number_arg(r.linger, "--linger", 0, INT_MAX));
    if (given("--close-after")) c.close_after = seconds_arg(r.close_after, "--close-after");
    if (given("--close-after-bytes"))
        c.close_after_bytes = number_arg(r.close_after_bytes, "--close-after-bytes", 0, ULLONG_MAX);
    if (given("--hold")) c.hold = seconds_arg(r.hold, "--hold");
    if (given("-i")) c.line_interval = seconds_arg(r.interval, "-i");
    if (given("-w")) o.timeout = c.idle_timeout = seconds_arg(r.wait, "-w");
}

void socket_options(Options& o, const Raw& r, const CLI::App& app) {
    auto given = [&](const char* name) { return app.get_option(name)->count() > 0; };
    auto& s = o.sock;
    if (given("--rcvbuf"))
        s.rcvbuf = static_cast<int>(number_arg(r.rcvbuf, "--rcvbuf", 1, INT_MAX / 2));
    if (given("--sndbuf"))
        s.sndbuf = static_cast<int>(number_arg(r.sndbuf, "--sndbuf", 1, INT_MAX / 2));
    if (given("--backlog"))
        s.backlog = static_cast<int>(number_arg(r.backlog, "--backlog", 0, 65535));
    if (given("--linger2"))
        s.linger2_s = static_cast<int>(number_arg(r.linger2, "--linger2", 0, INT_MAX));
    if (given("--defer-accept"))
        s.defer_accept_s =
            static_cast<unsigned>(number_arg(r.defer_accept, "--defer-accept", 1, INT_MAX));
    if (given("--user-timeout"))
        s.user_timeout_ms =
            static_cast<unsigned>(number_arg(r.user_timeout, "--user-timeout", 0, INT_MAX));
    if (given("--keepalive")) {
        auto k = net::parse_keepalive(r.keepalive == "on" ? "" : r.keepalive);
        if (!k) throw UsageError{k.error().context};
        s.keepalive = *k;
    }
    s.nodelay = r.flags[f_nodelay];
    s.reuseport = r.flags[f_reuseport];
    s.reuseaddr = r.flags[f_reuseaddr] || o.listen;  // nc's habit: a restarted server rebinds
}

Options convert(const Raw& r, const CLI::App& app, bool stdin_is_tty) {
    check_empty_values(app);
    check_conflicts(app);
    Options o;
    const auto* f = r.flags;
    o.listen = f[f_listen];
    o.keep = f[f_keep];
    o.scan = f[f_scan];
    o.verbose = f[f_verbose];
    o.numeric = f[f_numeric];
    o.show_state = f[f_show_state];
    o.no_accept = f[f_no_accept];
    if (f[f_udp]) o.proto = net::Proto::udp;
    o.want = f[f_v4] ? net::Want::v4 : f[f_v6] ? net::Want::v6 : net::Want::any;
    positionals(o, r, f[f_unix]);
    if (!o.listen && (!r.port_opt.empty() || !r.source_addr.empty()))
        o.source =
            net::Source{r.source_addr, r.port_opt.empty() ? std::uint16_t{0}
                                                          : port_arg(r.port_opt, o.proto, false)};
    auto& c = o.relay;
    o.read_stdin = !f[f_no_stdin] && !f[f_recv_only] && !o.keep;
    o.write_stdout = !f[f_send_only];
    if (f[f_echo]) c.service = net::Service::echo;
    if (f[f_discard]) c.service = net::Service::discard;
    if (app.get_option("--source")->count() > 0) {
        c.service = net::Service::source;
        c.source_bytes = number_arg(r.source_bytes, "--source", 0, ULLONG_MAX);
    }
    if (c.service != net::Service::stdio) o.read_stdin = false;
    c.no_read = f[f_no_read];
    c.crlf = f[f_crlf];
    c.datagram = o.proto == net::Proto::udp;
    if (!r.hexdump.empty()) o.hexdump_path = r.hexdump;
    close_controls(o, r, app, stdin_is_tty);
    socket_options(o, r, app);
    return o;
}

/// An option taking one word of a net keyword table: its help and its check come from the
/// table ("--on-eof: 'maybe' is not shutdown|close|rst|wait"). An empty value passes here
/// for check_empty_values() to name.
template <class Parse>
void keyword(CLI::App& app, const char* names, std::string& into, const char* type,
             std::string_view help, const std::string& words, Parse parse) {
    app.add_option(names, into, std::string(help) + words)
        ->type_name(type)
        ->check(CLI::Validator(
            [words, parse](std::string& v) {
                return v.empty() || parse(v) ? std::string()
                                             : fmt::format("'{}' is not {}", v, words);
            },
            ""));
}

void define(CLI::App& app, Raw& r) {
    auto flag = [&](const char* names, Flag which, const char* help) {
        app.add_flag(names, r.flags[which], help);
    };
    auto opt = [&](const char* names, std::string& into, const char* type, const char* help) {
        app.add_option(names, into, help)->type_name(type);
    };
    flag("-l,--listen", f_listen, "listen for an incoming connection");
    flag("-u,--udp", f_udp, "UDP instead of TCP");
    flag("-U,--unixsock", f_unix, "Unix stream socket: the operand is its PATH");
    flag("-4", f_v4, "IPv4 only");
    flag("-6", f_v6, "IPv6 only");
    opt("-s,--source-addr", r.source_addr, "ADDR", "source address when connecting");
    opt("-p,--port", r.port_opt, "PORT", "source port (connect) or listen port (-l)");
    flag("-n,--numeric", f_numeric, "numeric addresses only, no DNS");
    opt("-w,--wait", r.wait, "SECS", "connect and idle timeout");
    flag("-k,--keep-open", f_keep, "keep listening; serve clients concurrently");
    flag("-z,--scan", f_scan, "scan: report listening ports, send nothing");
    flag("-v,--verbose", f_verbose, "print nc-style facts (Listening on, Connection to...)");
    flag("-N", f_nshut, "shutdown the socket after stdin EOF (the default)");
    opt("-q", r.quit, "SECS", "quit SECS after stdin EOF (0: at once; negative: never)");
    flag("-d", f_no_stdin, "do not read stdin");
    flag("-c,-C,--crlf", f_crlf, "send CRLF as line ending (nc and ncat spell it -C)");
    opt("-i,--interval", r.interval, "SECS", "delay between lines sent / ports scanned");
    opt("-o,--hex-dump", r.hexdump, "FILE", "hex dump of the traffic to FILE");
    flag("--send-only", f_send_only, "only send; ignore received data; close at stdin EOF");
    flag("--recv-only", f_recv_only, "only receive; never read stdin");
    flag("--echo", f_echo, "echo service: send back what arrives");
    flag("--discard", f_discard, "discard service: read and drop");
    opt("--source", r.source_bytes, "BYTES", "send BYTES of a pattern, then close as configured");
    keyword(app, "--on-eof", r.on_eof, "ACTION", "at stdin EOF: ", net::on_eof_words(),
            net::parse_on_eof);
    keyword(app, "--on-peer-close", r.on_peer_close, "ACTION",
            "at the peer's FIN: ", net::on_peer_close_words(), net::parse_on_peer_close);
    keyword(app, "--close", r.close, "MODE", "close with ", net::close_mode_words(),
            net::parse_close_mode);
    opt("--linger", r.linger, "SECS", "SO_LINGER: close waits SECS for the ACKs");
    opt("--linger2", r.linger2, "SECS", "TCP_LINGER2: FIN_WAIT_2 lifetime");
    opt("--close-after", r.close_after, "DURATION", "close DURATION after the start");
    opt("--close-after-bytes", r.close_after_bytes, "N", "close after sending N bytes");
    opt("--hold", r.hold, "DURATION", "keep the socket DURATION after the data is done");
    flag("--no-read", f_no_read, "never read the socket (the peer's window fills)");
    opt("--rcvbuf", r.rcvbuf, "BYTES", "SO_RCVBUF, set before listen/connect");
    opt("--sndbuf", r.sndbuf, "BYTES", "SO_SNDBUF, set before listen/connect");
    opt("--backlog", r.backlog, "N", "listen(2) backlog");
    flag("--no-accept", f_no_accept, "listen but never accept");
    opt("--defer-accept", r.defer_accept, "SECS", "TCP_DEFER_ACCEPT (server held in SYN_RECV)");
    app.add_flag("--keepalive{on}", r.keepalive, "SO_KEEPALIVE [=IDLE,INTVL,CNT]");
    flag("--nodelay", f_nodelay, "TCP_NODELAY");
    flag("--reuseaddr", f_reuseaddr, "SO_REUSEADDR (default on when listening)");
    flag("--reuseport", f_reuseport, "SO_REUSEPORT");
    opt("--user-timeout", r.user_timeout, "MS", "TCP_USER_TIMEOUT");
    flag("--show-state", f_show_state, "print the kernel's TCP state after each event");
    app.add_option("args", r.args,
                   "HOST PORT, or [HOST] PORT with -l, or HOST PORT[-PORT]... with -z");
}

}  // namespace

std::variant<Options, Exit> parse_command_line(int argc, char** argv, bool stdin_is_tty) {
    CLI::App app{"sockcat: nc-style connect/listen with exact control of how connections close",
                 "sockcat"};
    Raw raw;
    define(app, raw);
    bool version = false;
    app.add_flag("--version", version, "print the version");
    if (auto script = socklab::cli::completion_request(app, argc, argv, {}))
        return Exit{0, *script};
    try {
        // CLI11 turns "--keepalive=" into the flag's default; an empty value is a mistake.
        for (int i = 1; i < argc; ++i)
            if (std::string_view(argv[i]) == "--keepalive=")
                throw UsageError{"--keepalive: empty value"};
        app.parse(argc, argv);
        if (version) return Exit{0, fmt::format("sockcat {}\n", SOCKLAB_VERSION)};
        return convert(raw, app, stdin_is_tty);
    } catch (const CLI::CallForHelp&) {
        return Exit{0, app.help()};
    } catch (const CLI::ParseError& e) {
        // CLI11 starts its sentences in capitals; our lines read "sockcat: the following...".
        std::string text = e.what();
        if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
            text[0] = static_cast<char>(text[0] - 'A' + 'a');
        return Exit{2, text};
    } catch (const UsageError& e) {
        return Exit{2, e.text};
    }
}

int report(const Exit& e) {
    if (e.code != 0) {
        socklab::app::error_line("sockcat", "", e.text);
        return e.code;
    }
    // --help and --version check their write: "sockcat --help > /dev/full" is exit 1.
    std::fputs(e.text.c_str(), stdout);
    return socklab::app::finish_stdio("sockcat", socklab::app::exit_ok);
}

}  // namespace sockcat
