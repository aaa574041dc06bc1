// net: keyword tables, port/keepalive parsing, socket options, close modes, TCP_INFO state.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <array>
#include <utility>

#include "socklab/net.hpp"

namespace socklab::net {
namespace {

template <class E, std::size_t N>
std::optional<E> find_word(const std::array<std::pair<std::string_view, E>, N>& table,
                           std::string_view word) {
    for (const auto& [name, value] : table)
        if (name == word) return value;
    return std::nullopt;
}

template <class E, std::size_t N>
std::string_view find_name(const std::array<std::pair<std::string_view, E>, N>& table, E v) {
    for (const auto& [name, value] : table)
        if (value == v) return name;
    return "?";
}

constexpr std::array<std::pair<std::string_view, OnEof>, 4> on_eof_table{{
    {"shutdown", OnEof::shutdown},
    {"close", OnEof::close},
    {"rst", OnEof::rst},
    {"wait", OnEof::wait},
}};
constexpr std::array<std::pair<std::string_view, OnPeerClose>, 4> on_peer_close_table{{
    {"finish", OnPeerClose::finish},
    {"close", OnPeerClose::close},
    {"hold", OnPeerClose::hold},
    {"exit", OnPeerClose::exit},
}};
constexpr std::array<std::pair<std::string_view, CloseMode>, 2> close_mode_table{{
    {"fin", CloseMode::fin},
    {"rst", CloseMode::rst},
}};

template <class E, std::size_t N>
std::string join_words(const std::array<std::pair<std::string_view, E>, N>& table) {
    std::string out;
    for (const auto& [name, value] : table) {
        if (!out.empty()) out += '|';
        out += name;
    }
    return out;
}

Result<void> set_int(int fd, int level, int name, int value, std::string_view what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
        return errno_error(fmt::format("setsockopt {}", what));
    return {};
}

Result<void> apply_keepalive(int fd, const Keepalive& k) {
    if (auto r = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"); !r) return r;
    const std::array<std::tuple<const std::optional<unsigned>&, int, std::string_view>, 3> knobs{{
        {k.idle_s, TCP_KEEPIDLE, "TCP_KEEPIDLE"},
        {k.interval_s, TCP_KEEPINTVL, "TCP_KEEPINTVL"},
        {k.count, TCP_KEEPCNT, "TCP_KEEPCNT"},
    }};
    for (const auto& [value, name, what] : knobs) {
        if (!value) continue;
        if (auto r = set_int(fd, IPPROTO_TCP, name, static_cast<int>(*value), what); !r) return r;
    }
    return {};
}

Result<void> apply_tcp_options(int fd, const SocketOptions& o) {
    if (o.nodelay)
        if (auto r = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY"); !r) return r;
    if (o.linger2_s)
        if (auto r = set_int(fd, IPPROTO_TCP, TCP_LINGER2, *o.linger2_s, "TCP_LINGER2"); !r)
            return r;
    // TCP_DEFER_ACCEPT keeps the request socket in SYN_RECV until data arrives (tcp(7)).
    if (o.defer_accept_s)
        if (auto r = set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, static_cast<int>(*o.defer_accept_s),
                             "TCP_DEFER_ACCEPT");
            !r)
            return r;
    if (o.user_timeout_ms)
        if (auto r = set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
                             static_cast<int>(*o.user_timeout_ms), "TCP_USER_TIMEOUT");
            !r)
            return r;
    if (o.keepalive)
        if (auto r = apply_keepalive(fd, *o.keepalive); !r) return r;
    return {};
}

}  // namespace

std::optional<OnEof> parse_on_eof(std::string_view w) {
    return find_word(on_eof_table, w);
}
std::optional<OnPeerClose> parse_on_peer_close(std::string_view w) {
    return find_word(on_peer_close_table, w);
}
std::optional<CloseMode> parse_close_mode(std::string_view w) {
    return find_word(close_mode_table, w);
}
std::string_view on_eof_name(OnEof v) {
    return find_name(on_eof_table, v);
}
std::string_view on_peer_close_name(OnPeerClose v) {
    return find_name(on_peer_close_table, v);
}
std::string_view close_mode_name(CloseMode v) {
    return find_name(close_mode_table, v);
}

std::string on_eof_words() {
    return join_words(on_eof_table);
}
std::string on_peer_close_words() {
    return join_words(on_peer_close_table);
}
std::string close_mode_words() {
    return join_words(close_mode_table);
}

Result<std::uint16_t> parse_port(std::string_view text, bool allow_zero) {
    auto v = parse_uint(text, 0, 65535);
    if (!v || (*v == 0 && !allow_zero)) {
        const bool number = v || v.error().code == std::errc::result_out_of_range;
        return make_error(std::errc::invalid_argument,
                          number ? fmt::format("port '{}' is outside 1-65535", text)
                                 : fmt::format("port '{}' is not a number", text));
    }
    return static_cast<std::uint16_t>(*v);
}

Result<PortRange> parse_port_range(std::string_view text) {
    const auto dash = text.find('-');
    auto first = parse_port(text.substr(0, dash), false);
    if (!first) return first.error();
    if (dash == std::string_view::npos) return PortRange{*first, *first};
    auto last = parse_port(text.substr(dash + 1), false);
    if (!last) return last.error();
    if (*last < *first)
        return make_error(std::errc::invalid_argument,
                          fmt::format("port range '{}' ends before it starts", text));
    return PortRange{*first, *last};
}

Result<Keepalive> parse_keepalive(std::string_view text) {
    Keepalive k;
    if (text.empty()) return k;
    std::array<std::optional<unsigned>*, 3> fields{&k.idle_s, &k.interval_s, &k.count};
    std::size_t i = 0;
    for (;;) {
        const auto comma = text.find(',');
        const auto part = text.substr(0, comma);
        if (i == fields.size())
            return make_error(std::errc::invalid_argument,
                              "keepalive takes at most IDLE,INTVL,CNT");
        if (!part.empty()) {
            // The kernel caps TCP_KEEPIDLE/INTVL at 32767 s and TCP_KEEPCNT at 127 (tcp.h).
            auto v = parse_uint(part, 1, i == 2 ? 127 : 32767);
            if (!v) return Error{v.error().code, "keepalive " + v.error().context};
            *fields[i] = static_cast<unsigned>(*v);
        }
        ++i;
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return k;
}

Result<void> apply_options(int fd, const SocketOptions& o, Proto proto) {
    if (o.reuseaddr)
        if (auto r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !r) return r;
    if (o.reuseport)
        if (auto r = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); !r) return r;
    if (o.rcvbuf)
        if (auto r = set_int(fd, SOL_SOCKET, SO_RCVBUF, *o.rcvbuf, "SO_RCVBUF"); !r) return r;
    if (o.sndbuf)
        if (auto r = set_int(fd, SOL_SOCKET, SO_SNDBUF, *o.sndbuf, "SO_SNDBUF"); !r) return r;
    if (o.linger_s)
        if (auto r = set_close_mode(fd, CloseMode::fin, o.linger_s); !r) return r;
    if (proto == Proto::tcp) return apply_tcp_options(fd, o);
    return {};
}

Result<void> set_close_mode(int fd, CloseMode mode, std::optional<unsigned> linger_s) {
    linger l{};
    if (mode == CloseMode::rst) {
        // SO_LINGER {1,0}: close() discards the queue and sends RST (socket(7)).
        l.l_onoff = 1;
        l.l_linger = 0;
    } else if (linger_s) {
        l.l_onoff = 1;
        l.l_linger = static_cast<int>(*linger_s);
    } else {
        return {};
    }
    if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0)
        return errno_error("setsockopt SO_LINGER");
    return {};
}

std::optional<TcpState> tcp_state(int fd) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || len < 1) return std::nullopt;
    return state_from_kernel(info.tcpi_state);
}

}  // namespace socklab::net
