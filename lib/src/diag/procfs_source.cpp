// The /proc/net fallback source: parses tcp, tcp6, udp, udp6, raw, raw6 and unix.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "socklab/detail/netlink_decode.hpp"
#include "socklab/diag.hpp"

namespace socklab::diag {
namespace {

/// A /proc/net table's bound: ~150 bytes a row, so room for millions of sockets.
constexpr std::size_t max_proc_table_bytes = std::size_t{1} << 30;

/// Reads a whole /proc file. A missing file (no IPv6, no raw support) is empty.
Result<std::string> read_proc_file(const std::string& path) {
    auto text = read_file(path, max_proc_table_bytes);
    if (!text && text.error().code == std::errc::no_such_file_or_directory) return std::string();
    if (!text) return Error{text.error().code, "read " + path};
    return text;
}

/// A cursor over one line; every read fails (returns false) instead of running off.
class LineCursor {
  public:
    explicit LineCursor(std::string_view line) : rest_(line) {}

    bool skip_spaces() {
        while (!rest_.empty() && rest_.front() == ' ')
            rest_.remove_prefix(1);
        return !rest_.empty();
    }
    bool expect(char c) {
        if (rest_.empty() || rest_.front() != c) return false;
        rest_.remove_prefix(1);
        return true;
    }
    /// A number of at most `max_digits` digits in `base`, after optional spaces.
    template <class T>
    bool number(T& value, int base, std::size_t max_digits = 32) {
        skip_spaces();
        const auto* begin = rest_.data();
        const auto* end = begin + std::min(rest_.size(), max_digits);
        const auto [ptr, ec] = std::from_chars(begin, end, value, base);
        if (ec != std::errc{} || ptr == begin) return false;
        rest_.remove_prefix(static_cast<std::size_t>(ptr - begin));
        return true;
    }
    /// Skips one space-separated word.
    bool skip_word() {
        skip_spaces();
        const auto end = rest_.find(' ');
        if (end == 0 || rest_.empty()) return false;
        rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end);
        return true;
    }
    std::string_view rest() const { return rest_; }

  private:
    std::string_view rest_;
};

/// "0100007F:0016": the kernel prints each 32-bit word of the address as the
/// raw (network order) value in host order with %08X, and the port with %04X.
bool parse_endpoint(LineCursor& c, Family family, Endpoint& e) {
    e.addr.family = family;
    const int words = family == Family::inet ? 1 : 4;
    c.skip_spaces();
    for (int i = 0; i < words; ++i) {
        std::uint32_t w = 0;
        if (!c.number(w, 16, 8)) return false;
        std::memcpy(e.addr.bytes.data() + 4 * i, &w, sizeof w);
    }
    std::uint32_t port = 0;
    if (!c.expect(':') || !c.number(port, 16, 4)) return false;
    e.port = port;
    return true;
}

/// One line of /proc/net/{tcp,udp,raw}{,6}: tcp4_seq_show(), udp4_format_sock()
/// and raw_sock_seq_show() share the first twelve columns.
bool parse_inet_line(std::string_view line, Netid netid, Family family, long hz, SocketRecord& r) {
    LineCursor c(line);
    unsigned slot = 0;
    unsigned state = 0, timer = 0;
    unsigned long long when = 0;
    std::uint32_t tx = 0, rx = 0, retrans = 0;
    long long timeout = 0;
    if (!c.number(slot, 10) || !c.expect(':')) return false;
    r.netid = netid;
    r.family = family;
    if (!parse_endpoint(c, family, r.local) || !parse_endpoint(c, family, r.peer)) return false;
    if (!c.number(state, 16, 2) || !c.number(tx, 16, 8) || !c.expect(':') || !c.number(rx, 16, 8) ||
        !c.number(timer, 16, 2) || !c.expect(':') || !c.number(when, 16, 16) ||
        !c.number(retrans, 16, 8) || !c.number(r.uid, 10) || !c.number(timeout, 10) ||
        !c.number(r.inode, 10)) {
        return false;
    }
    r.state = state_from_kernel(state);
    r.recv_q = rx;
    r.send_q = tx;
    if (timer != 0) {
        TimerInfo t;
        t.kind = timer == 1   ? TimerInfo::Kind::on
                 : timer == 2 ? TimerInfo::Kind::keepalive
                 : timer == 3 ? TimerInfo::Kind::timewait
                 : timer == 4 ? TimerInfo::Kind::persist
                              : TimerInfo::Kind::unknown;
        // tm->when is clock_t (USER_HZ ticks; jiffies_delta_to_clock_t()).
        t.expires_ms =
            static_cast<std::uint32_t>(when * 1000 / static_cast<unsigned long long>(hz));
        t.retrans = retrans;
        r.timer = t;
    }
    return true;
}

/// /proc/net/unix numbers states as struct socket does (SS_*), and marks
/// listeners with __SO_ACCEPTCON in Flags; unix_seq_show() derives St from
/// sk_state: 3 SS_CONNECTED and 2 SS_CONNECTING (an embryo not yet accepted)
/// are ESTABLISHED, the rest CLOSE. unix_diag reports sk_state itself.
TcpState unix_state(std::uint32_t flags, unsigned st) {
    constexpr std::uint32_t so_acceptcon = 1U << 16;
    if ((flags & so_acceptcon) != 0) return TcpState::listen;
    return st == 2 || st == 3 ? TcpState::established : TcpState::close;
}

/// One line of /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path".
bool parse_unix_line(std::string_view line, SocketRecord& r) {
    LineCursor c(line);
    std::uint32_t refcount = 0, protocol = 0, flags = 0;
    unsigned type = 0, st = 0;
    if (!c.skip_word() || !c.number(refcount, 16, 8) || !c.number(protocol, 16, 8) ||
        !c.number(flags, 16, 8) || !c.number(type, 16, 4) || !c.number(st, 16, 2) ||
        !c.number(r.inode, 10)) {
        return false;
    }
    r.netid = Netid::unix_;
    r.family = Family::unix_;
    r.unix_type = type == 1   ? UnixType::stream
                  : type == 2 ? UnixType::dgram
                  : type == 5 ? UnixType::seqpacket
                              : UnixType::none;
    r.state = unix_state(flags, st);
    r.local.port = static_cast<std::uint32_t>(r.inode);
    // The path is everything after the single space that follows the inode.
    auto rest = c.rest();
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    r.local.path = std::string(rest);
    return true;
}

std::string_view file_name(Netid netid, Family family) {
    const bool v6 = family == Family::inet6;
    switch (netid) {
        case Netid::tcp:
            return v6 ? "tcp6" : "tcp";
        case Netid::udp:
            return v6 ? "udp6" : "udp";
        case Netid::raw:
            return v6 ? "raw6" : "raw";
        case Netid::unix_:
            return "unix";
    }
    return "";
}

class ProcfsSource final : public SocketSource {
  public:
    explicit ProcfsSource(std::string root) : root_(std::move(root)) {
        const long ticks = ::sysconf(_SC_CLK_TCK);
        hz_ = ticks > 0 ? ticks : 100;
    }

    Result<std::vector<SocketRecord>> dump(const Query& query) override {
        std::vector<SocketRecord> out;
        for (const detail::DumpRequest request : detail::plan_requests(query)) {
            auto res = parse_file(request, detail::kernel_states(query, request.netid), out);
            if (!res) return res.error();
        }
        return out;
    }

    std::string_view name() const override { return "procfs"; }

  private:
    Result<void> parse_file(detail::DumpRequest request, StateMask mask,
                            std::vector<SocketRecord>& out) const {
        const std::string path =
            root_ + "/net/" + std::string(file_name(request.netid, request.family));
        auto text = read_proc_file(path);
        if (!text) return text.error();
        std::string_view rest(*text);
        for (std::size_t line_no = 1; !rest.empty(); ++line_no) {
            auto nl = rest.find('\n');
            const auto line = rest.substr(0, nl);
            rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
            if (line_no == 1 || line.find_first_not_of(' ') == std::string_view::npos) continue;
            SocketRecord r;
            r.from_procfs = true;
            const bool ok = request.netid == Netid::unix_
                                ? parse_unix_line(line, r)
                                : parse_inet_line(line, request.netid, request.family, hz_, r);
            if (!ok) {
                return make_error(std::errc::bad_message,
                                  path + " line " + std::to_string(line_no) + ": unparsable");
            }
            if ((mask & state_bit(r.state)) != 0) out.push_back(std::move(r));
        }
        return {};
    }

    std::string root_;
    long hz_ = 100;
};

}  // namespace

std::unique_ptr<SocketSource> make_procfs_source(std::string proc_root) {
    return std::make_unique<ProcfsSource>(std::move(proc_root));
}

}  // namespace socklab::diag
