// Test oracle for the filter module: a model of the kernel's inet_diag bytecode audit and
// interpreter, sample records, and the check the fuzzer and the corpus test both run.
#pragma once

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/filter.hpp"
#include "socklab/model.hpp"

namespace socklab::filter::oracle {

/// What inet_diag_bc_sk() gives inet_diag_bc_run() (struct inet_diag_entry).
struct KernelEntry {
    int family = AF_INET;
    std::array<std::uint8_t, 16> saddr{};
    std::array<std::uint8_t, 16> daddr{};
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    std::uint32_t ifindex = 0;
    bool bindport_locked = false;  ///< SOCK_BINDPORT_LOCK in sk_userlocks
};

inline KernelEntry entry_for(const SocketRecord& r, const Filter& f) {
    KernelEntry e;
    e.family = r.family == Family::inet6 ? AF_INET6 : AF_INET;
    e.saddr = r.local.addr.bytes;
    e.daddr = r.peer.addr.bytes;
    e.sport = static_cast<std::uint16_t>(r.local.port);
    e.dport = static_cast<std::uint16_t>(r.peer.port);
    e.ifindex = r.ifindex;
    // The model's stand-in for the bind lock: a port outside the ephemeral range
    // was asked for explicitly (what user space assumes too).
    e.bindport_locked = r.local.port < f.ephemeral_lo || r.local.port > f.ephemeral_hi;
    return e;
}

inline inet_diag_bc_op op_at(std::span<const std::byte> bc, std::size_t pos) {
    inet_diag_bc_op op{};
    std::memcpy(&op, bc.data() + pos, sizeof op);
    return op;
}

// valid_cc(): does a jump leaving `cc` bytes land on an op of the yes chain?
inline bool valid_cc(std::span<const std::byte> bc, int cc) {
    int len = static_cast<int>(bc.size());
    std::size_t pos = 0;
    while (len >= 0) {
        if (cc > len) return false;
        if (cc == len) return true;
        const auto op = op_at(bc, pos);
        if (op.yes < 4 || (op.yes & 3) != 0) return false;
        len -= op.yes;
        pos += op.yes;
    }
    return false;
}

// The checks of inet_diag_bc_audit() for the ops we emit (net/ipv4/inet_diag.c).
inline bool audit(std::span<const std::byte> bc) {
    int len = static_cast<int>(bc.size());
    std::size_t pos = 0;
    while (len > 0) {
        if (len < 4) return false;
        const auto op = op_at(bc, pos);
        int min_len = 4;
        switch (op.code) {
            case INET_DIAG_BC_S_COND:
            case INET_DIAG_BC_D_COND: {
                min_len += static_cast<int>(sizeof(inet_diag_hostcond));
                if (len < min_len) return false;
                inet_diag_hostcond hc{};
                std::memcpy(&hc, bc.data() + pos + 4, sizeof hc);
                const int alen = hc.family == AF_UNSPEC  ? 0
                                 : hc.family == AF_INET  ? 4
                                 : hc.family == AF_INET6 ? 16
                                                         : -1;
                if (alen < 0) return false;
                min_len += alen;
                if (len < min_len || hc.prefix_len > 8 * alen) return false;
                break;
            }
            case INET_DIAG_BC_DEV_COND:
            case INET_DIAG_BC_S_GE:
            case INET_DIAG_BC_S_LE:
            case INET_DIAG_BC_D_GE:
            case INET_DIAG_BC_D_LE:
                min_len += 4;
                if (len < min_len) return false;
                break;
            case INET_DIAG_BC_AUTO:
            case INET_DIAG_BC_JMP:
            case INET_DIAG_BC_NOP:
                break;
            default:
                return false;
        }
        if (op.code != INET_DIAG_BC_NOP) {
            if (op.no < min_len || op.no > len + 4 || (op.no & 3) != 0) return false;
            if (op.no < len && !valid_cc(bc, len - op.no)) return false;
        }
        if (op.yes < min_len || op.yes > len + 4 || (op.yes & 3) != 0) return false;
        pos += op.yes;
        len -= op.yes;
    }
    return len == 0;
}

// bitstring_match(): 32-bit words in network order, as the kernel compares them.
inline bool bitstring_match(const std::uint8_t* a1, const std::uint8_t* a2, int bits) {
    const int words = bits >> 5;
    bits &= 0x1f;
    if (words != 0 && std::memcmp(a1, a2, static_cast<std::size_t>(words) * 4) != 0) return false;
    if (bits != 0) {
        std::uint32_t w1 = 0, w2 = 0;
        std::memcpy(&w1, a1 + words * 4, 4);
        std::memcpy(&w2, a2 + words * 4, 4);
        const std::uint32_t mask = htonl(0xffffffffu << (32 - bits));
        if (((w1 ^ w2) & mask) != 0) return false;
    }
    return true;
}

inline bool hostcond_yes(std::span<const std::byte> bc, std::size_t pos, bool src,
                         const KernelEntry& e) {
    inet_diag_hostcond hc{};
    std::memcpy(&hc, bc.data() + pos + 4, sizeof hc);
    std::array<std::uint8_t, 16> caddr{};
    const std::size_t alen = hc.family == AF_INET ? 4 : hc.family == AF_INET6 ? 16 : 0;
    std::memcpy(caddr.data(), bc.data() + pos + 4 + sizeof hc, alen);
    if (hc.port != -1 && hc.port != (src ? e.sport : e.dport)) return false;
    const std::uint8_t* addr = src ? e.saddr.data() : e.daddr.data();
    if (hc.family != AF_UNSPEC && hc.family != e.family) {
        if (e.family == AF_INET6 && hc.family == AF_INET) {
            static constexpr std::array<std::uint8_t, 12> mapped{0, 0, 0, 0, 0,    0,
                                                                 0, 0, 0, 0, 0xff, 0xff};
            return std::memcmp(addr, mapped.data(), 12) == 0 &&
                   bitstring_match(addr + 12, caddr.data(), hc.prefix_len);
        }
        return false;
    }
    return hc.prefix_len == 0 || bitstring_match(addr, caddr.data(), hc.prefix_len);
}

inline std::uint16_t port_arg(std::span<const std::byte> bc, std::size_t pos) {
    return op_at(bc, pos + 4).no;
}

/// inet_diag_bc_run(): true when the program accepts the entry. Run audited code only.
inline bool run(std::span<const std::byte> bc, const KernelEntry& e) {
    int len = static_cast<int>(bc.size());
    std::size_t pos = 0;
    while (len > 0) {
        const auto op = op_at(bc, pos);
        bool yes = true;
        switch (op.code) {
            case INET_DIAG_BC_NOP:
                break;
            case INET_DIAG_BC_JMP:
                yes = false;
                break;
            case INET_DIAG_BC_S_GE:
                yes = e.sport >= port_arg(bc, pos);
                break;
            case INET_DIAG_BC_S_LE:
                yes = e.sport <= port_arg(bc, pos);
                break;
            case INET_DIAG_BC_D_GE:
                yes = e.dport >= port_arg(bc, pos);
                break;
            case INET_DIAG_BC_D_LE:
                yes = e.dport <= port_arg(bc, pos);
                break;
            case INET_DIAG_BC_AUTO:
                yes = !e.bindport_locked;
                break;
            case INET_DIAG_BC_S_COND:
                yes = hostcond_yes(bc, pos, true, e);
                break;
            case INET_DIAG_BC_D_COND:
                yes = hostcond_yes(bc, pos, false, e);
                break;
            case INET_DIAG_BC_DEV_COND: {
                std::uint32_t ifindex = 0;
                std::memcpy(&ifindex, bc.data() + pos + 4, 4);
                yes = ifindex == e.ifindex;
                break;
            }
            default:
                return false;
        }
        const int step = yes ? op.yes : op.no;
        len -= step;
        pos += static_cast<std::size_t>(step);
    }
    return len == 0;
}

inline IpAddr addr(std::string_view text) {
    return IpAddr::parse(text).value_or(IpAddr{});
}

inline SocketRecord inet(TcpState state, std::string_view la, std::uint32_t lp, std::string_view pa,
                         std::uint32_t pp, Netid netid = Netid::tcp) {
    SocketRecord r;
    r.netid = netid;
    r.state = state;
    r.local = Endpoint{addr(la), lp, {}};
    r.peer = Endpoint{addr(pa), pp, {}};
    r.family = r.local.addr.family;
    return r;
}

inline SocketRecord unix_sock(std::string path, std::uint32_t inode, std::uint32_t peer_inode) {
    SocketRecord r;
    r.netid = Netid::unix_;
    r.family = Family::unix_;
    r.unix_type = UnixType::stream;
    r.state = TcpState::established;
    r.local.path = std::move(path);
    r.local.port = inode;
    r.peer.port = peer_inode;
    r.inode = inode;
    return r;
}

struct Sample {
    char name;
    SocketRecord record;
};

/// Hand-built records, A to O, covering v4, v6, v4-mapped, unix, devices and states.
inline std::vector<Sample> samples() {
    using S = TcpState;
    std::vector<Sample> v;
    v.push_back({'A', inet(S::listen, "0.0.0.0", 22, "0.0.0.0", 0)});
    v.push_back({'B', inet(S::listen, "::", 80, "::", 0)});
    v.push_back({'C', inet(S::established, "127.0.0.1", 22, "127.0.0.1", 40000)});
    v.push_back({'D', inet(S::established, "127.0.0.1", 40000, "127.0.0.1", 22)});
    v.push_back({'E', inet(S::established, "::1", 443, "::1", 50000)});
    v.push_back({'F', inet(S::established, "::ffff:10.1.2.3", 8080, "::ffff:192.168.1.9", 33000)});
    v.push_back({'G', inet(S::time_wait, "10.0.0.5", 51000, "10.20.30.40", 443)});
    v.push_back({'H', inet(S::syn_sent, "192.168.1.2", 45000, "93.184.216.34", 80)});
    v.push_back({'I', inet(S::close_wait, "127.0.0.2", 8080, "127.0.0.3", 1025)});
    v.push_back({'J', inet(S::close, "0.0.0.0", 53, "0.0.0.0", 0, Netid::udp)});
    v.push_back({'K', inet(S::established, "10.0.0.1", 1000, "10.0.0.2", 2000)});
    v.back().record.ifindex = 2;
    v.push_back({'L', unix_sock("/run/x.sock", 22, 40001)});
    v.push_back({'M', unix_sock("@0a1b2", 5000, 5001)});
    v.push_back({'N', inet(S::new_syn_recv, "2001:db8::1", 443, "2001:db8::2", 60000)});
    v.push_back({'O', inet(S::fin_wait2, "127.0.0.1", 33333, "127.0.0.1", 9000)});
    return v;
}

/// The kernel path's verdict: the state mask, then the bytecode (none: accept).
inline bool kernel_accepts(const Filter& f, std::span<const std::byte> bc, const SocketRecord& r) {
    if ((f.states & state_bit(r.state)) == 0) return false;
    return bc.empty() || run(bc, entry_for(r, f));
}

/// Parses `words`; when they parse, checks that the bytecode passes the kernel's
/// audit and that the kernel model agrees with matches() on every inet sample.
/// Returns a description of the first disagreement, or nullopt.
inline std::optional<std::string> check_words(std::span<const std::string> words,
                                              bool unix_only = false) {
    ParseOptions options;
    options.unix_only = unix_only;
    options.resolve_hosts = false;
    options.port_range_file.clear();
    const auto f = parse(words, all_states_mask, options);
    if (!f) {
        const std::string& m = f.error().context;
        if (m.rfind("col ", 0) != 0 && m.rfind("the filter", 0) != 0)
            return "error without a column: " + m;
        return std::nullopt;
    }
    const std::string text = describe(*f);
    // The rendering is itself a filter with the same meaning (and the same rendering).
    const std::vector<std::string> again{text};
    const auto g = parse(again, all_states_mask, options);
    if (!g) return "describe() does not parse back: " + text + " -> " + g.error().context;
    if (describe(*g) != text) return "describe() is not stable: " + text + " -> " + describe(*g);
    const auto bc = compile_bytecode(*f);
    if (!bc.empty() && !audit(bc)) return "bytecode fails the kernel's audit: " + text;
    for (const auto& s : samples()) {
        if (s.record.family == Family::unix_) {
            (void)matches(*f, s.record);
            continue;
        }
        if (matches(*f, s.record) != kernel_accepts(*f, bc, s.record))
            return std::string("kernel and user space disagree on record ") + s.name + ": " + text;
    }
    return std::nullopt;
}

/// Fuzzer input format: one word per line (so a word may hold spaces, like a quoted
/// shell argument).
inline std::vector<std::string> words_of(std::string_view data) {
    std::vector<std::string> words;
    while (true) {
        const std::size_t nl = data.find('\n');
        words.emplace_back(data.substr(0, nl));
        if (nl == std::string_view::npos) break;
        data.remove_prefix(nl + 1);
    }
    return words;
}

}  // namespace socklab::filter::oracle
