// output: the ss layout (iproute2 6.1 misc/ss.c), two-pass column widths, -p -e -o -i -m.
#include <algorithm>
#include <array>
#include <cstdio>

#include "output/detail.hpp"

namespace socklab::output::detail {
namespace {

// ss's columns. Addresses are right-aligned and carry their ':' so the port
// starts right after it; the ports and Process have no left delimiter.
enum Col : std::size_t { netid, state, recvq, sendq, laddr, lport, raddr, rport, process, ncols };
struct ColSpec {
    std::string_view header;
    bool right;
    std::size_t ldelim;
};
constexpr std::array<ColSpec, ncols> kCols{{
    {"Netid", false, 0},
    {"State", false, 1},
    {"Recv-Q", false, 1},
    {"Send-Q", false, 1},
    {"Local Address:", true, 1},
    {"Port", false, 0},
    {"Peer Address:", true, 1},
    {"Port", false, 0},
    {"Process", false, 0},
}};

struct Row {
    std::string_view netid, state;
    Field recvq, sendq, laddr, lport, raddr, rport;

    [[nodiscard]] std::string_view get(std::size_t c) const {
        switch (c) {
            case Col::netid:
                return netid;
            case Col::state:
                return state;
            case Col::recvq:
                return view(recvq);
            case Col::sendq:
                return view(sendq);
            case Col::laddr:
                return view(laddr);
            case Col::lport:
                return view(lport);
            case Col::raddr:
                return view(raddr);
            case Col::rport:
                return view(rport);
            default:
                return {};
        }
    }
};

// ss prints an IPv6 wildcard as * for a dual-stack socket and as [::] for an
// IPV6_V6ONLY one (INET_DIAG_SKV6ONLY). Without the attribute (/proc) it is
// inferred: the kernel sets V6ONLY itself on a socket bound to a specific
// non-mapped address.
bool implied_v6only(const SocketRecord& r) {
    if (r.family != Family::inet6) return false;
    if (r.v6only) return *r.v6only;
    return !r.local.addr.is_any() && !r.local.addr.is_v4_mapped();
}

void append_ss_addr(Field& out, const IpAddr& addr, bool v6only, std::uint32_t ifindex,
                    const RenderOptions& options) {
    if (addr.family == Family::inet6 && addr.is_any() && !v6only) {
        out.push_back('*');
    } else if (addr.family == Family::inet6) {
        Field host;
        append_host(host, addr, options);
        // ss brackets numeric IPv6 (anything with a ':'), not resolved names.
        const bool bracket = view(host).find(':') != std::string_view::npos;
        if (bracket) out.push_back('[');
        out.append(view(host));
        if (bracket) out.push_back(']');
    } else {
        append_host(out, addr, options);
    }
    // A bound device (SO_BINDTODEVICE) or IPv6 scope: ss writes addr%ifname:port,
    // and "if3" when the index has no name.
    if (ifindex != 0) {
        out.push_back('%');
        const std::string name =
            options.resolver != nullptr ? options.resolver->interface_name(ifindex) : std::string();
        if (name.empty())
            fmt::format_to(std::back_inserter(out), "if{}", ifindex);
        else
            out.append(name);
    }
    out.push_back(':');
}

void fill_row(const SocketRecord& r, const RenderOptions& o, Row& row) {
    row.netid = ss_netid(r.netid, r.unix_type);
    row.state = state_info(r.state).ss;
    // ss prints the queues with "%-6d": at least six wide even before column widths.
    append_uint(row.recvq, r.recv_q);
    while (row.recvq.size() < 6)
        row.recvq.push_back(' ');
    append_uint(row.sendq, r.send_q);
    while (row.sendq.size() < 6)
        row.sendq.push_back(' ');
    if (r.family == Family::unix_) {
        // Unix sockets: the path (or *) with a space, and the inode as "port".
        row.laddr.append(r.local.path.empty() ? std::string_view("*") : r.local.path);
        row.laddr.push_back(' ');
        append_uint(row.lport, r.local.port);
        row.raddr.append(r.peer.path.empty() ? std::string_view("*") : r.peer.path);
        row.raddr.push_back(' ');
        append_uint(row.rport, r.peer.port);
        return;
    }
    const bool v6only = implied_v6only(r);
    append_ss_addr(row.laddr, r.local.addr, v6only, r.ifindex, o);
    append_port(row.lport, r.local.port, r.netid, o);
    append_ss_addr(row.raddr, r.peer.addr, v6only, 0, o);
    append_port(row.rport, r.peer.port, r.netid, o);
}

// ss's print_ms_timer(), including its 6.1 habit of "1.234ms" for 1234 ms.
void append_ms_timer(Field& out, std::uint32_t timeout) {
    auto out_it = std::back_inserter(out);
    unsigned secs = timeout / 1000;
    const unsigned minutes = secs / 60;
    secs %= 60;
    unsigned msecs = timeout % 1000;
    if (minutes != 0) {
        msecs = 0;
        fmt::format_to(out_it, "{}min", minutes);
        if (minutes > 9) secs = 0;
    }
    if (secs != 0) {
        if (secs > 9) msecs = 0;
        fmt::format_to(out_it, "{}{}", secs, msecs != 0 ? "." : "sec");
    }
    if (msecs != 0) fmt::format_to(out_it, "{:03}ms", msecs);
}

// ss's sprint_bw(): bits per second, numeric with -n, else k/M/G/T with 3 digits.
void append_bw(Field& out, double bw, bool numeric) {
    auto it = std::back_inserter(out);
    if (numeric)
        fmt::format_to(it, "{:.0f}", bw);
    else if (bw >= 1e12)
        fmt::format_to(it, "{:.3g}T", bw / 1e12);
    else if (bw >= 1e9)
        fmt::format_to(it, "{:.3g}G", bw / 1e9);
    else if (bw >= 1e6)
        fmt::format_to(it, "{:.3g}M", bw / 1e6);
    else if (bw >= 1e3)
        fmt::format_to(it, "{:.3g}k", bw / 1e3);
    else
        fmt::format_to(it, "{:g}", bw);
}

// TCPI_OPT_* bits of tcpi_options (include/uapi/linux/tcp.h).
constexpr std::uint8_t kOptTimestamps = 1, kOptSack = 2, kOptWscale = 4, kOptEcn = 8,
                       kOptEcnSeen = 16, kOptSynData = 32;

void append_tcp_options(Field& f, const TcpInfo& t) {
    if ((t.options & kOptTimestamps) != 0) f.append(std::string_view(" ts"));
    if ((t.options & kOptSack) != 0) f.append(std::string_view(" sack"));
    if ((t.options & kOptEcn) != 0) f.append(std::string_view(" ecn"));
    if ((t.options & kOptEcnSeen) != 0) f.append(std::string_view(" ecnseen"));
    if ((t.options & kOptSynData) != 0) f.append(std::string_view(" fastopen"));
}

// The first half of ss's tcp_stats_print(): window, timing and byte counters.
void append_tcp_counters(Field& f, const TcpInfo& t) {
    auto it = std::back_inserter(f);
    if (!t.congestion.empty()) fmt::format_to(it, " {}", t.congestion);
    if ((t.options & kOptWscale) != 0)
        fmt::format_to(it, " wscale:{},{}", t.snd_wscale, t.rcv_wscale);
    // 3 s is the kernel's initial RTO: ss leaves it out.
    if (t.rto_us != 0 && t.rto_us != 3000000) fmt::format_to(it, " rto:{:g}", t.rto_us / 1000.0);
    if (t.backoff != 0) fmt::format_to(it, " backoff:{}", t.backoff);
    if (t.rtt_us != 0)
        fmt::format_to(it, " rtt:{:g}/{:g}", t.rtt_us / 1000.0, t.rttvar_us / 1000.0);
    if (t.ato_us != 0) fmt::format_to(it, " ato:{:g}", t.ato_us / 1000.0);
    if (t.snd_mss != 0) fmt::format_to(it, " mss:{}", t.snd_mss);
    if (t.pmtu != 0) fmt::format_to(it, " pmtu:{}", t.pmtu);
    if (t.rcv_mss != 0) fmt::format_to(it, " rcvmss:{}", t.rcv_mss);
    if (t.advmss != 0) fmt::format_to(it, " advmss:{}", t.advmss);
    if (t.snd_cwnd != 0) fmt::format_to(it, " cwnd:{}", t.snd_cwnd);
    // 0xFFFF and above is TCP_INFINITE_SSTHRESH as tcp_info reports it.
    if (t.snd_ssthresh != 0 && t.snd_ssthresh < 0xFFFF)
        fmt::format_to(it, " ssthresh:{}", t.snd_ssthresh);
    if (t.bytes_sent != 0) fmt::format_to(it, " bytes_sent:{}", t.bytes_sent);
    if (t.bytes_retrans != 0) fmt::format_to(it, " bytes_retrans:{}", t.bytes_retrans);
    if (t.bytes_acked != 0) fmt::format_to(it, " bytes_acked:{}", t.bytes_acked);
    if (t.bytes_received != 0) fmt::format_to(it, " bytes_received:{}", t.bytes_received);
    if (t.segs_out != 0) fmt::format_to(it, " segs_out:{}", t.segs_out);
    if (t.segs_in != 0) fmt::format_to(it, " segs_in:{}", t.segs_in);
    if (t.data_segs_out != 0) fmt::format_to(it, " data_segs_out:{}", t.data_segs_out);
    if (t.data_segs_in != 0) fmt::format_to(it, " data_segs_in:{}", t.data_segs_in);
}

// The second half of tcp_stats_print(): rates, ages, loss and receive side.
void append_tcp_rates(Field& f, const TcpInfo& t, bool listening, bool numeric) {
    auto it = std::back_inserter(f);
    if (t.rtt_us != 0 && t.snd_mss != 0 && t.snd_cwnd != 0) {
        f.append(std::string_view(" send "));
        append_bw(f, static_cast<double>(t.snd_cwnd) * t.snd_mss * 8000000.0 / t.rtt_us, numeric);
        f.append(std::string_view("bps"));
    }
    if (t.last_data_sent_ms != 0) fmt::format_to(it, " lastsnd:{}", t.last_data_sent_ms);
    if (t.last_data_recv_ms != 0) fmt::format_to(it, " lastrcv:{}", t.last_data_recv_ms);
    if (t.last_ack_recv_ms != 0) fmt::format_to(it, " lastack:{}", t.last_ack_recv_ms);
    if (t.pacing_rate != 0 && t.pacing_rate != ~std::uint64_t{0}) {
        f.append(std::string_view(" pacing_rate "));
        append_bw(f, static_cast<double>(t.pacing_rate) * 8.0, numeric);
        f.append(std::string_view("bps"));
    }
    if (t.delivery_rate != 0) {
        f.append(std::string_view(" delivery_rate "));
        append_bw(f, static_cast<double>(t.delivery_rate) * 8.0, numeric);
        f.append(std::string_view("bps"));
    }
    if (t.delivered != 0) fmt::format_to(it, " delivered:{}", t.delivered);
    if (t.busy_time_us != 0) fmt::format_to(it, " busy:{}ms", t.busy_time_us / 1000);
    if (t.unacked != 0) fmt::format_to(it, " unacked:{}", t.unacked);
    if (t.retrans != 0 || t.total_retrans != 0)
        fmt::format_to(it, " retrans:{}/{}", t.retrans, t.total_retrans);
    if (t.lost != 0) fmt::format_to(it, " lost:{}", t.lost);
    // A listener's tcpi_sacked is its backlog, not SACKed segments: ss hides it.
    if (t.sacked != 0 && !listening) fmt::format_to(it, " sacked:{}", t.sacked);
    if (t.reordering != 3) fmt::format_to(it, " reordering:{}", t.reordering);
    if (t.rcv_rtt_us != 0) fmt::format_to(it, " rcv_rtt:{:g}", t.rcv_rtt_us / 1000.0);
    if (t.rcv_space != 0) fmt::format_to(it, " rcv_space:{}", t.rcv_space);
    if (t.rcv_ssthresh != 0) fmt::format_to(it, " rcv_ssthresh:{}", t.rcv_ssthresh);
    if (t.notsent_bytes != 0) fmt::format_to(it, " notsent:{}", t.notsent_bytes);
    if (t.min_rtt_us != 0 && t.min_rtt_us != ~std::uint32_t{0})
        fmt::format_to(it, " minrtt:{:g}", t.min_rtt_us / 1000.0);
}

void append_skmem(Field& f, const MemInfo& m) {
    fmt::format_to(std::back_inserter(f), " skmem:(r{},rb{},t{},tb{},f{},w{},o{},bl{},d{})",
                   m.rmem_alloc, m.rcvbuf, m.wmem_alloc, m.sndbuf, m.fwd_alloc, m.wmem_queued,
                   m.optmem, m.backlog, m.drops);
}

// ss walks /proc in pid and fd order and pushes each owner on the front of a
// hash chain, so it prints the highest pid and fd first; we print in that order
// whatever order the owners came in.
void append_users(Field& f, const std::vector<Owner>& owners) {
    std::vector<const Owner*> order;
    order.reserve(owners.size());
    for (const auto& owner : owners)
        order.push_back(&owner);
    std::sort(order.begin(), order.end(), [](const Owner* a, const Owner* b) {
        return a->pid != b->pid ? a->pid > b->pid : a->fd > b->fd;
    });
    f.append(std::string_view(" users:("));
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (i != 0) f.push_back(',');
        fmt::format_to(std::back_inserter(f), "(\"{}\",pid={},fd={})", order[i]->comm,
                       order[i]->pid, order[i]->fd);
    }
    f.push_back(')');
}

// Everything ss prints in the Process column, in ss's order: users, timer,
// details, then (on a second line unless -O) memory and tcp_info.
void fill_process(const SocketRecord& r, const RenderOptions& o, Field& f) {
    const bool is_unix = r.family == Family::unix_;
    // ss's -e turns on -o too (show_options): timers and TCP option words.
    const bool timers = o.timers || o.extended;
    if (o.processes && !r.owners.empty()) append_users(f, r.owners);
    if (timers && !is_unix && r.timer && r.timer->kind != TimerInfo::Kind::off) {
        f.append(std::string_view(" timer:("));
        f.append(timer_kind_name(r.timer->kind));
        f.push_back(',');
        append_ms_timer(f, r.timer->expires_ms);
        fmt::format_to(std::back_inserter(f), ",{})", r.timer->retrans);
    }
    // A socket read from /proc has no cookie: nothing to write for sk, and no
    // detail line to open, since /proc gives neither memory nor tcp_info.
    const bool from_proc = r.from_procfs;
    if (o.extended && !is_unix) {
        if (r.uid != 0) fmt::format_to(std::back_inserter(f), " uid:{}", r.uid);
        fmt::format_to(std::back_inserter(f), " ino:{}", r.inode);
        if (!from_proc) fmt::format_to(std::back_inserter(f), " sk:{:x}", r.cookie);
    }
    // ss opens the detail line for -m on every socket and for -i on all but UDP,
    // even when the kernel sent nothing to put on it (TIME-WAIT has no tcp_info).
    const bool tcp_detail = o.info && !is_unix && r.netid != Netid::udp;
    if (!o.memory && !tcp_detail) return;
    if (from_proc && !r.mem && !r.tcp_info) return;
    if (!o.one_line) f.append(std::string_view("\n\t"));
    if (o.memory && r.mem) append_skmem(f, *r.mem);
    if (tcp_detail && r.tcp_info) {
        if (timers) append_tcp_options(f, *r.tcp_info);
        append_tcp_counters(f, *r.tcp_info);
        append_tcp_rates(f, *r.tcp_info, display_state(r.state) == TcpState::listen,
                         o.numeric_ports);
    }
}

struct Layout {
    std::array<bool, ncols> enabled{};
    std::array<std::size_t, ncols> width{};
};

Layout measure(std::span<const SocketRecord> records, const RenderOptions& o) {
    Layout l;
    l.enabled.fill(true);
    l.enabled[Col::netid] = o.show_netid;
    l.enabled[Col::state] = o.show_state;
    std::array<std::size_t, ncols> max_len{};
    if (o.header)
        for (std::size_t c = 0; c < ncols; ++c)
            max_len[c] = kCols[c].header.size();
    for (const auto& r : records) {
        Row row;
        fill_row(r, o, row);
        for (std::size_t c = 0; c < Col::process; ++c)
            max_len[c] = std::max(max_len[c], row.get(c).size());
    }
    // The first shown column has no left delimiter; empty columns take no room.
    bool first = true;
    for (std::size_t c = 0; c < ncols; ++c) {
        if (!l.enabled[c]) continue;
        l.width[c] = max_len[c] + ((!first && max_len[c] != 0) ? kCols[c].ldelim : 0);
        if (l.width[c] != 0) first = false;
    }
    return l;
}

// Writes one line of fields. Padding is held back until more text follows, so
// a row ends at its last character: no trailing spaces to a pipe.
class LinePrinter {
  public:
    LinePrinter(Writer& out, const Layout& layout) : out_(out), layout_(layout) {}

    void field(std::size_t c, std::string_view text) {
        if (!layout_.enabled[c]) return;
        const std::size_t width = layout_.width[c];
        const std::size_t delim = started_ ? kCols[c].ldelim : 0;
        started_ = started_ || width != 0;
        const std::size_t room = width > delim + text.size() ? width - delim - text.size() : 0;
        pending_ += delim;
        if (kCols[c].right) pending_ += room;
        if (!text.empty()) {
            // A field that starts a detail line owes nothing to this line's padding.
            if (text.front() == '\n') pending_ = 0;
            out_.spaces(pending_);
            pending_ = 0;
            out_.put(text);
        }
        if (!kCols[c].right) pending_ += room;
    }
    void end() {
        out_.put('\n');
        out_.end_row();
    }

  private:
    Writer& out_;
    const Layout& layout_;
    std::size_t pending_ = 0;
    bool started_ = false;
};

}  // namespace

void render_ss(std::span<const SocketRecord> records, const RenderOptions& options, Writer& out) {
    const Layout layout = measure(records, options);
    if (options.header) {
        LinePrinter line(out, layout);
        for (std::size_t c = 0; c < ncols; ++c)
            line.field(c, kCols[c].header);
        line.end();
    }
    for (const auto& r : records) {
        Row row;
        fill_row(r, options, row);
        Field proc;
        fill_process(r, options, proc);
        LinePrinter line(out, layout);
        for (std::size_t c = 0; c < Col::process; ++c)
            line.field(c, row.get(c));
        line.field(Col::process, view(proc));
        line.end();
    }
}

}  // namespace socklab::output::detail
