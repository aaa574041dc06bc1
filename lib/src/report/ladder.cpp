// report: the ladder of a scenario's segments, with our state machine's states
// beside each one and its final states checked against the kernel's.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "report/wrap.hpp"
#include "socklab/packet.hpp"
#include "socklab/report.hpp"

namespace socklab::report {
namespace {

bool same(const Endpoint& a, const Endpoint& b) {
    return a.port == b.port && a.addr == b.addr;
}

/// The role of the end at `local` talking to `peer`: the side with that 4-tuple, else
/// the side listening on `local`, else the address itself.
std::string role_of(const ScenarioView& v, const Endpoint& local, const Endpoint& peer) {
    for (const auto& s : v.sides)
        if (same(s.local, local) && same(s.peer, peer)) return s.role;
    for (const auto& s : v.sides)
        if (same(s.local, local) && s.peer.port == 0) return s.role;
    return host_port(local.addr, std::to_string(local.port));
}

std::string state_text(std::optional<TcpState> s) {
    if (!s || *s == TcpState::unknown) return "-";
    return std::string(state_info(display_state(*s)).label);
}

/// Why the kernel's state is not the one the segments give, where we know why.
std::string_view why_differs(TcpState ours, TcpState kernel) {
    struct Known {
        TcpState ours, kernel;
        std::string_view why;
    };
    static constexpr Known known[] = {
        {TcpState::established, TcpState::fin_wait1,
         "the kernel enters FIN_WAIT_1 when shutdown() queues the FIN; here it waits behind "
         "data the zero window refuses, so no FIN has left (without --queued-fin it is sent)"},
        {TcpState::close_wait, TcpState::closing,
         "the kernel counts its FIN queued behind data as sent: the peer's FIN makes it "
         "CLOSING although no FIN of its own has left (without --queued-fin it is sent)"},
        {TcpState::close_wait, TcpState::last_ack,
         "the kernel enters LAST_ACK when close() or shutdown() queues the FIN; here it waits "
         "behind data the zero window refuses, so no FIN has left (without --queued-fin it is "
         "sent)"},
    };
    for (const auto& k : known)
        if (k.ours == ours && k.kernel == kernel) return k.why;
    return "not explained: a segment the capture did not see, or a kernel shortcut this "
           "table does not know";
}

}  // namespace

std::string Printer::ladder(const ScenarioView& v) const {
    std::string out =
        fmt::format("\n{} (seq and ack relative to each side's ISN, as tcpdump prints them):\n",
                    bold("segments on lo"));
    if (v.segments.empty()) out += "    none: this scenario sends no segment\n";
    std::size_t width = 6;
    for (const auto& s : v.sides)
        width = std::max(width, s.role.size());
    const auto t0 = v.segments.empty() ? std::chrono::nanoseconds(0) : v.segments[0].segment.time;
    if (!v.segments.empty())
        out += fmt::format("{:>10}  {:<{}}   {:<{}}  {:<8} {:>6} {:>6} {:>6} {:>5}  {:<12} {}\n",
                           "TIME", "FROM", width, "TO", width, "FLAGS", "SEQ", "ACK", "WIN", "LEN",
                           "SENDER IS", "RECEIVER IS");
    packet::Machine m;
    std::set<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint8_t>> sent;
    std::size_t dropped = 0;
    std::size_t ignored = 0;
    for (const auto& w : v.segments) {
        const auto& s = w.segment;
        const auto step = m.feed(s, w.fate);
        const double secs = std::chrono::duration<double>(s.time - t0).count();
        const std::string ack = s.has(packet::ack) ? std::to_string(step.rel_ack) : "-";
        out += fmt::format("{:>10.6f}  {:<{}} > {:<{}}  {:<8} {:>6} {:>6} {:>6} {:>5}  {:<12} {}\n",
                           secs, role_of(v, s.src, s.dst), width, role_of(v, s.dst, s.src), width,
                           packet::flags_text(s.flags), step.rel_seq, ack, s.window, s.payload,
                           state_text(step.sender), state_text(step.receiver));
        // A SYN or FIN sent again with the same sequence number: a retransmission.
        const bool control = s.has(packet::syn) || s.has(packet::fin);
        if (control && !sent.insert({s.src.port, s.dst.port, s.seq, s.flags}).second)
            out += fmt::format("{:>12}^ retransmission\n", "");
        if (w.fate == packet::Fate::dropped) ++dropped;
        if (w.fate == packet::Fate::ignored) ++ignored;
        if (w.fate != packet::Fate::delivered)
            out += fmt::format("{:>12}^ {}: {}\n", "",
                               w.fate == packet::Fate::dropped ? "DROPPED on purpose" : "ignored",
                               w.why);
    }
    out += fmt::format("{} segments, {} dropped on purpose, {} ignored by the receiver\n",
                       v.segments.size(), dropped, ignored);

    out += fmt::format("\n{}\n", bold("states from the segments (RFC 9293) and the kernel's:"));
    const bool observed = v.seen.size() == v.sides.size();
    std::size_t differ = 0;
    for (std::size_t i = 0; i < v.sides.size(); ++i) {
        const auto& side = v.sides[i];
        const auto ours = m.state(side.local, side.peer);
        const bool gone = side.presence == lab::Presence::gone;
        std::string kernel = "not observed";
        std::optional<TcpState> k;
        if (observed && !v.seen[i].source.empty()) {
            k = v.seen[i].state;
            kernel = gone && !k ? "gone" : fmt::format("{} ({})", state_text(k), v.seen[i].source);
        }
        if (!ours) {
            out += fmt::format("  {:<{}}  no segments of its own; kernel {}\n", side.role, width,
                               kernel);
            continue;
        }
        const bool agree =
            gone ? !k && *ours == TcpState::close : k && display_state(*k) == display_state(*ours);
        if (!k && !gone) {
            out += fmt::format("  {:<{}}  ours {:<12} kernel {}\n", side.role, width,
                               state_text(ours), kernel);
            continue;
        }
        out += fmt::format("  {:<{}}  ours {:<12} kernel {:<24} {}\n", side.role, width,
                           state_text(ours), kernel, agree ? "agree" : "DIFFER");
        if (!agree) {
            ++differ;
            const auto why = why_differs(*ours, k ? display_state(*k) : TcpState::close);
            out += detail::wrap(fmt::format("why: {}", why), std::string(width + 4, ' '), 5);
        }
    }
    out += differ == 0 ? "our state machine and the kernel agree on every side\n"
                       : fmt::format("our state machine and the kernel differ on {} side{}\n",
                                     differ, differ == 1 ? "" : "s");
    return out;
}

Result<Shown> start_shown(lab::ScenarioId id, const lab::StartOptions& options,
                          lab::PrivateNetwork& net, std::chrono::milliseconds verify) {
    if (options.segments)
        if (auto r = net.enter(); !r) return r.error();
    // After entering: a netlink socket sees the namespace it was made in.
    const auto owned = open_diag();
    diag::SocketSource* source = owned.get();
    auto sc = lab::Scenario::start(id, options);
    if (!sc) return sc.error();
    if (auto ok = sc->verify(verify, source); !ok) return ok.error();
    auto v = snapshot(*sc, source);
    auto wire = sc->segments();
    if (!wire) return wire.error();
    v.segments = std::move(wire.value());
    if (options.segments && !options.queued_fin) v.recipe = lab::wire_recipe(id);
    return Shown{std::move(sc.value()), std::move(v)};
}

Result<void> write_pcap(const std::string& path, const ScenarioView& v) {
    std::vector<packet::Segment> segments;
    segments.reserve(v.segments.size());
    for (const auto& w : v.segments)
        segments.push_back(w.segment);
    return packet::write_pcap(path, segments);
}

std::string Printer::nsenter_prefix(int pid, bool user_namespace) {
    return fmt::format("nsenter -t {} {}-n ", pid, user_namespace ? "-U " : "");
}

std::string Printer::nsenter(int pid, bool user_namespace) const {
    return fmt::format(
        "a private network namespace holds these sockets; see them with ss while it holds:\n"
        "    {}ss -tan\n",
        nsenter_prefix(pid, user_namespace));
}

}  // namespace socklab::report
