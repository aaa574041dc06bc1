// model: the one state table (every dialect), state words, names and addresses.
#include "socklab/model.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace socklab {
namespace {

// Index = kernel number. Rows 12 and 13 are never displayed (display_state maps
// them to SYN_RECV and CLOSE), so the table stops at CLOSING.
constexpr std::array<StateInfo, 12> kStates{{
    {TcpState::unknown, "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN", "Unknown", "UNKNOWN"},
    {TcpState::established, "ESTABLISHED", "ESTAB", "ESTABLISHED", "ESTABLISHED", "Established",
     "ESTABLISHED"},
    {TcpState::syn_sent, "SYN_SENT", "SYN-SENT", "SYN_SENT", "SYN_SENT", "Syn Sent", "SYN_SENT"},
    {TcpState::syn_recv, "SYN_RECV", "SYN-RECV", "SYN_RECV", "SYN_RECEIVED", "Syn Received",
     "SYN_RECV"},
    {TcpState::fin_wait1, "FIN_WAIT1", "FIN-WAIT-1", "FIN_WAIT1", "FIN_WAIT_1", "Fin Wait 1",
     "FIN_WAIT_1"},
    {TcpState::fin_wait2, "FIN_WAIT2", "FIN-WAIT-2", "FIN_WAIT2", "FIN_WAIT_2", "Fin Wait 2",
     "FIN_WAIT_2"},
    {TcpState::time_wait, "TIME_WAIT", "TIME-WAIT", "TIME_WAIT", "TIME_WAIT", "Time Wait",
     "TIME_WAIT"},
    {TcpState::close, "CLOSE", "UNCONN", "CLOSE", "CLOSED", "Closed", "CLOSED"},
    {TcpState::close_wait, "CLOSE_WAIT", "CLOSE-WAIT", "CLOSE_WAIT", "CLOSE_WAIT", "Close Wait",
     "CLOSE_WAIT"},
    {TcpState::last_ack, "LAST_ACK", "LAST-ACK", "LAST_ACK", "LAST_ACK", "Last Ack", "LAST_ACK"},
    {TcpState::listen, "LISTEN", "LISTEN", "LISTEN", "LISTENING", "Listen", "LISTEN"},
    {TcpState::closing, "CLOSING", "CLOSING", "CLOSING", "CLOSING", "Closing", "CLOSING"},
}};

constexpr StateMask bit(TcpState s) {
    return state_bit(s);
}
constexpr StateMask kSynRecv = bit(TcpState::syn_recv) | bit(TcpState::new_syn_recv);
constexpr StateMask kClosed = bit(TcpState::close) | bit(TcpState::bound_inactive);
constexpr StateMask kConnected =
    all_states_mask & ~(bit(TcpState::listen) | kClosed | bit(TcpState::time_wait) | kSynRecv);
constexpr StateMask kBucket = kSynRecv | bit(TcpState::time_wait);
// The `connected` group is wider than ss's default set: every state but LISTEN and
// CLOSE, TIME_WAIT and SYN_RECV included (ss(8), and measured with ss 6.1).
constexpr StateMask kConnectedGroup = all_states_mask & ~(bit(TcpState::listen) | kClosed);

constexpr std::array<StateGroup, 5> kGroups{{
    {"all", all_states_mask},
    {"connected", kConnectedGroup},
    {"synchronized", kConnectedGroup & ~bit(TcpState::syn_sent)},
    {"bucket", kBucket},
    {"big", all_states_mask & ~kBucket},
}};

// Every spelling people type, normalised (lower case, no '-', '_' or ' ').
struct Word {
    std::string_view word;
    TcpState state;
};
constexpr std::array<Word, 25> kWords{{
    {"established", TcpState::established},
    {"estab", TcpState::established},
    {"synsent", TcpState::syn_sent},
    {"synrecv", TcpState::syn_recv},
    {"synreceived", TcpState::syn_recv},
    {"synrcvd", TcpState::syn_recv},
    {"synrcv", TcpState::syn_recv},
    {"finwait1", TcpState::fin_wait1},
    {"finwait2", TcpState::fin_wait2},
    {"timewait", TcpState::time_wait},
    {"closed", TcpState::close},
    {"close", TcpState::close},
    {"unconn", TcpState::close},
    {"unconnected", TcpState::close},
    {"closewait", TcpState::close_wait},
    {"lastack", TcpState::last_ack},
    {"listen", TcpState::listen},
    {"listening", TcpState::listen},
    {"closing", TcpState::closing},
    {"newsynrecv", TcpState::new_syn_recv},
    {"finwait", TcpState::fin_wait1},
    {"synrec", TcpState::syn_recv},
    {"synreceive", TcpState::syn_recv},
    {"lastacknowledge", TcpState::last_ack},
    {"estd", TcpState::established},
}};

std::string normalise(std::string_view word) {
    std::string out;
    out.reserve(word.size());
    for (char c : word) {
        if (c == '-' || c == '_' || c == ' ') continue;
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}

}  // namespace

std::span<const StateInfo> state_table() {
    return kStates;
}

TcpState display_state(TcpState state) {
    switch (state) {
        case TcpState::new_syn_recv:
            return TcpState::syn_recv;
        case TcpState::bound_inactive:
            return TcpState::close;
        default:
            return state;
    }
}

const StateInfo& state_info(TcpState state) {
    const auto n = static_cast<std::size_t>(display_state(state));
    return n < kStates.size() ? kStates[n] : kStates[0];
}

TcpState state_from_kernel(unsigned number) {
    return number < static_cast<unsigned>(kernel_state_count) ? static_cast<TcpState>(number)
                                                              : TcpState::unknown;
}

std::span<const StateGroup> state_groups() {
    return kGroups;
}

StateMask connected_mask() {
    return kConnected;
}

std::optional<TcpState> parse_state(std::string_view word) {
    const std::string w = normalise(word);
    for (const auto& entry : kWords)
        if (entry.word == w) return entry.state;
    return std::nullopt;
}

std::optional<StateMask> parse_state_word(std::string_view word) {
    const std::string w = normalise(word);
    for (const auto& g : kGroups)
        if (g.name == w) return g.mask;
    const auto s = parse_state(word);
    if (!s) return std::nullopt;
    switch (*s) {
        case TcpState::syn_recv:
        case TcpState::new_syn_recv:
            return kSynRecv;
        case TcpState::close:
            // Also Linux 6.5's bound, inactive sockets (13), which ss 6.1 never asks
            // for: sockls(1), DIFFERENCES.
            return kClosed;
        default:
            return state_bit(*s);
    }
}

std::string_view netid_name(Netid n) {
    switch (n) {
        case Netid::tcp:
            return "tcp";
        case Netid::udp:
            return "udp";
        case Netid::raw:
            return "raw";
        case Netid::unix_:
            return "unix";
    }
    return "?";
}

std::string_view family_name(Family f) {
    switch (f) {
        case Family::inet:
            return "inet";
        case Family::inet6:
            return "inet6";
        case Family::unix_:
            return "unix";
    }
    return "?";
}

std::string_view unix_type_name(UnixType t) {
    switch (t) {
        case UnixType::stream:
            return "stream";
        case UnixType::dgram:
            return "dgram";
        case UnixType::seqpacket:
            return "seqpacket";
        case UnixType::none:
            return "";
    }
    return "";
}

std::string_view ss_netid(Netid n, UnixType t) {
    if (n != Netid::unix_) return netid_name(n);
    switch (t) {
        case UnixType::dgram:
            return "u_dgr";
        case UnixType::seqpacket:
            return "u_seq";
        default:
            return "u_str";
    }
}

std::string_view timer_kind_name(TimerInfo::Kind k) {
    switch (k) {
        case TimerInfo::Kind::off:
            return "off";
        case TimerInfo::Kind::on:
            return "on";
        case TimerInfo::Kind::keepalive:
            return "keepalive";
        case TimerInfo::Kind::timewait:
            return "timewait";
        case TimerInfo::Kind::persist:
            return "persist";
        case TimerInfo::Kind::unknown:
            return "unknown";
    }
    return "unknown";
}

bool IpAddr::is_any() const {
    const std::size_t n = family == Family::inet ? 4 : 16;
    return std::all_of(bytes.begin(), bytes.begin() + static_cast<long>(n),
                       [](std::uint8_t b) { return b == 0; });
}

bool IpAddr::is_v4_mapped() const {
    if (family != Family::inet6) return false;
    for (int i = 0; i < 10; ++i)
        if (bytes[static_cast<std::size_t>(i)] != 0) return false;
    return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::string IpAddr::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    const int af = family == Family::inet ? AF_INET : AF_INET6;
    if (::inet_ntop(af, bytes.data(), buf, sizeof buf) == nullptr) return "?";
    return buf;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    // An empty view may carry a null data(): memcpy from null is undefined even for 0 bytes.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN] = {};
    std::memcpy(buf, text.data(), text.size());
    IpAddr a;
    if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
        a.family = Family::inet;
        return a;
    }
    if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
        a.family = Family::inet6;
        return a;
    }
    return std::nullopt;
}

std::string host_port(const IpAddr& addr, std::string_view port) {
    std::string out;
    const std::string host = addr.to_string();
    out.reserve(host.size() + port.size() + 3);
    if (addr.family == Family::inet6) out += '[';
    out += host;
    if (addr.family == Family::inet6) out += ']';
    out += ':';
    out += port;
    return out;
}

IpAddr IpAddr::v4(std::uint32_t host_order) {
    IpAddr a;
    a.family = Family::inet;
    const std::uint32_t n = htonl(host_order);
    std::memcpy(a.bytes.data(), &n, 4);
    return a;
}

std::optional<EphemeralRange> parse_ephemeral_range(std::string_view text) {
    constexpr std::string_view blanks = " \t\n";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return std::nullopt;
    text.remove_prefix(first);
    text.remove_suffix(text.size() - (text.find_last_not_of(blanks) + 1));
    const auto gap = text.find_first_of(blanks);
    if (gap == std::string_view::npos) return std::nullopt;
    const auto second = text.find_first_not_of(blanks, gap);
    auto lo = parse_uint(text.substr(0, gap), 1, 65535);
    auto hi = parse_uint(text.substr(second), 1, 65535);
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    return EphemeralRange{static_cast<std::uint32_t>(*lo), static_cast<std::uint32_t>(*hi)};
}

}  // namespace socklab
