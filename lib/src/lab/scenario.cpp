// lab: the scenario table, and running, observing, verifying and releasing a scenario.
#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "lab/scenario_impl.hpp"

namespace socklab::lab {
namespace {

constexpr std::array<ScenarioInfo, 12> kScenarios{{
    {ScenarioId::listen, "listen", TcpState::listen, "a listener waiting for connections",
     "socket, bind to port 0, listen(128)"},
    {ScenarioId::syn_sent, "syn-sent", TcpState::syn_sent,
     "a client whose SYN is dropped by a full accept queue",
     "listen(0) never accepted; a first client fills the queue, a second one's SYN is dropped"},
    {ScenarioId::syn_recv, "syn-recv", TcpState::syn_recv,
     "a server-side half-open connection held by TCP_DEFER_ACCEPT",
     "the listener sets TCP_DEFER_ACCEPT; the client completes the handshake and sends nothing"},
    {ScenarioId::established, "established", TcpState::established,
     "an open connection, both ends ESTABLISHED", "connect and accept"},
    {ScenarioId::fin_wait1, "fin-wait-1", TcpState::fin_wait1,
     "a FIN stuck behind data the peer's closed window will not take",
     "the server (SO_RCVBUF 4096) never reads; the client fills the window, then "
     "shutdown(SHUT_WR)"},
    {ScenarioId::fin_wait2, "fin-wait-2", TcpState::fin_wait2,
     "a half-closed client whose FIN was acknowledged",
     "the client calls shutdown(SHUT_WR); the server never closes"},
    {ScenarioId::close_wait, "close-wait", TcpState::close_wait,
     "a server that never closes after the client did (the leak)",
     "the client closes; the server never calls close()"},
    {ScenarioId::closing, "closing", TcpState::closing,
     "a simultaneous close: both FINs crossed, one still unacknowledged",
     "the client's FIN waits behind a closed window; the server shuts down too, its FIN arrives"},
    {ScenarioId::last_ack, "last-ack", TcpState::last_ack,
     "a passive closer whose FIN waits for the last ACK",
     "the client (SO_RCVBUF 4096) never reads and shuts down; the server fills its window, then "
     "shuts down"},
    {ScenarioId::time_wait, "time-wait", TcpState::time_wait,
     "the active closer's 60-second wait after the last ACK",
     "the server is stopped first (as in the classic exercise); the client closes after EOF"},
    {ScenarioId::closed, "closed", TcpState::close,
     "a bound socket that is neither listening nor connected", "socket and bind only"},
    {ScenarioId::rst, "rst", TcpState::close, "an abortive close: RST instead of FIN",
     "the client sets SO_LINGER {1, 0} and closes; the server's socket is reset to CLOSED"},
}};

bool same_addr(const IpAddr& a, const IpAddr& b) {
    if (a.family != b.family) return false;
    const std::size_t n = a.family == Family::inet ? 4 : 16;
    return std::memcmp(a.bytes.data(), b.bytes.data(), n) == 0;
}

bool same_endpoint(const Endpoint& a, const Endpoint& b) {
    return a.port == b.port && (same_addr(a.addr, b.addr) ||
                                (a.port == 0 && b.port == 0 && a.addr.is_any() && b.addr.is_any()));
}

bool state_matches(TcpState seen, TcpState expected) {
    return display_state(seen) == display_state(expected);
}

}  // namespace

std::span<const ScenarioInfo> scenarios() {
    return kScenarios;
}

const ScenarioInfo& scenario_info(ScenarioId id) {
    return kScenarios[static_cast<std::size_t>(id)];
}

std::optional<ScenarioId> parse_scenario(std::string_view word) {
    std::string w;
    for (char c : word)
        w.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (w == "rst" || w == "reset" || w == "abort" || w == "abortive") return ScenarioId::rst;
    const auto state = parse_state(word);
    if (!state) return std::nullopt;
    const TcpState s = display_state(*state);
    for (const auto& row : kScenarios)
        if (row.id != ScenarioId::rst && row.state == s) return row.id;
    return std::nullopt;
}

Result<std::chrono::milliseconds> parse_hold(std::string_view text, std::string_view option) {
    using std::chrono::milliseconds;
    if (text.empty())
        return make_error(std::errc::invalid_argument, fmt::format("{}: empty value", option));
    auto d = parse_duration(text);
    if (!d)
        return make_error(std::errc::invalid_argument,
                          fmt::format("{}: {}", option, d.error().message()));
    auto ms = std::chrono::duration_cast<milliseconds>(*d);
    if (d->count() > 0 && ms.count() == 0) ms = milliseconds(1);
    return ms;
}

bool hold(int stop_fd, std::chrono::milliseconds d, bool (*stopped)()) {
    using std::chrono::milliseconds;
    const auto deadline = detail::Clock::now() + d;
    while (!stopped()) {
        int wait_ms = -1;
        if (d.count() > 0) {
            const auto left = std::chrono::ceil<milliseconds>(deadline - detail::Clock::now());
            if (left.count() <= 0) return false;
            wait_ms = static_cast<int>(std::min<long long>(left.count(), 60'000));
        }
        pollfd p{stop_fd, POLLIN, 0};
        ::poll(&p, 1, wait_ms);  // EINTR: the loop looks at the flag again
    }
    return true;
}

const Explanation* explain_word(std::string_view word) {
    if (parse_scenario(word) == ScenarioId::rst) return &explain_rst();
    const auto state = parse_state(word);
    return state ? explain(*state) : nullptr;
}

const SocketRecord* find_record(std::span<const SocketRecord> records, const Endpoint& local,
                                const Endpoint& peer) {
    for (const auto& r : records)
        if (r.netid == Netid::tcp && same_endpoint(r.local, local) && same_endpoint(r.peer, peer))
            return &r;
    return nullptr;
}

void Scenario::Impl::add(Side side, Fd fd) {
    if (side.presence != Presence::fd) fd.reset();
    sides.push_back(std::move(side));
    fds.push_back(std::move(fd));
}

void Scenario::Impl::release() noexcept {
    // Connected sockets first, with SO_LINGER {1, 0}: close() then sends RST, which
    // also kills their peers' orphans and request sockets (RFC 9293 3.10.7.4).
    // Listeners last, so a RST still finds a request socket to drop.
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t i = fds.size(); i-- > 0;) {
            if (!fds[i]) continue;
            const bool listener = sides[i].expected == TcpState::listen;
            if (listener != (pass == 1)) continue;
            if (!listener)
                (void)net::set_close_mode(fds[i].get(), net::CloseMode::rst, std::nullopt);
            fds[i].reset();
        }
    }
}

Result<void> Scenario::Impl::add_rule(FateRule rule) {
    if (!capture) return {};
    if (auto r = capture->drain(); !r) return r;
    rule.after = capture->segments().size();
    rules.push_back(std::move(rule));
    return {};
}

Result<std::vector<WireSegment>> Scenario::segments() const {
    std::vector<WireSegment> out;
    auto& cap = impl_->capture;
    if (!cap) return out;
    if (auto r = cap->drain(); !r) return r.error();
    const auto mine = ports();
    const auto ours = [&](std::uint32_t port) {
        return std::binary_search(mine.begin(), mine.end(), port);
    };
    const auto& all = cap->segments();
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& s = all[i];
        if (!ours(s.src.port) && !ours(s.dst.port)) continue;
        WireSegment w{s, packet::Fate::delivered, {}};
        const bool bare =
            s.payload == 0 && (s.flags & (packet::syn | packet::fin | packet::rst)) == 0;
        for (const auto& rule : impl_->rules) {
            if (i < rule.after || !same_endpoint(s.dst, rule.to)) continue;
            if (rule.from.port != 0 && !same_endpoint(s.src, rule.from)) continue;
            if (rule.bare && !bare) continue;
            w.fate = rule.fate;
            w.why = rule.why;
            break;
        }
        out.push_back(std::move(w));
    }
    return out;
}

Scenario::Scenario(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scenario::Scenario(Scenario&&) noexcept = default;
Scenario& Scenario::operator=(Scenario&&) noexcept = default;
Scenario::~Scenario() = default;

Result<Scenario> Scenario::start(ScenarioId id, const StartOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->info = &scenario_info(id);
    impl->family = options.family;
    impl->fin_on_wire = options.segments && !options.queued_fin;
    if (options.segments) {
        auto cap = packet::Capture::open_loopback();
        if (!cap) return cap.error();
        impl->capture.emplace(std::move(cap.value()));
    }
    const auto deadline = detail::Clock::now() + options.timeout;
    auto built = detail::build(*impl, deadline);
    if (!built) {
        Error e = built.error();
        e.context = fmt::format("{}: {}", impl->info->name, e.context);
        return e;
    }
    return Scenario(std::move(impl));
}

const ScenarioInfo& Scenario::info() const {
    return *impl_->info;
}
Family Scenario::family() const {
    return impl_->family;
}
std::span<const Side> Scenario::sides() const {
    return impl_->sides;
}

std::vector<std::uint32_t> Scenario::ports() const {
    std::vector<std::uint32_t> out;
    for (const auto& s : impl_->sides)
        if (s.local.port != 0) out.push_back(s.local.port);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Result<std::vector<Observation>> Scenario::observe(diag::SocketSource* source) const {
    std::vector<SocketRecord> records;
    const bool need_dump = std::any_of(impl_->sides.begin(), impl_->sides.end(),
                                       [](const Side& s) { return s.presence != Presence::fd; });
    if (source != nullptr && need_dump) {
        diag::Query q;
        q.ipv4 = impl_->family == Family::inet;
        q.ipv6 = impl_->family == Family::inet6;
        auto dumped = source->dump(q);
        if (!dumped) return dumped.error();
        records = std::move(dumped.value());
    }
    std::vector<Observation> out;
    for (std::size_t i = 0; i < impl_->sides.size(); ++i) {
        const Side& side = impl_->sides[i];
        Observation o;
        if (side.presence == Presence::fd) {
            auto st = detail::state_of(impl_->fds[i]);
            if (!st) return st.error();
            o.state = *st;
            o.source = "TCP_INFO";
        } else if (source != nullptr) {
            if (const auto* r = find_record(records, side.local, side.peer)) o.state = r->state;
            o.source = "sock_diag";
        }
        out.push_back(std::move(o));
    }
    return out;
}

Result<void> Scenario::verify(std::chrono::milliseconds timeout, diag::SocketSource* source) const {
    std::string problem;
    Result<void> failure;
    const bool ok = detail::wait_until(detail::Clock::now() + timeout, [&] {
        auto seen = observe(source);
        if (!seen) {
            failure = seen.error();
            return true;
        }
        problem.clear();
        for (std::size_t i = 0; i < impl_->sides.size() && problem.empty(); ++i) {
            const Side& side = impl_->sides[i];
            const Observation& o = (*seen)[i];
            if (o.source.empty()) continue;  // kernel-only side and no source
            if (side.presence == Presence::gone) {
                if (o.state)
                    problem = fmt::format("{} should be gone but is {}", side.role,
                                          state_info(*o.state).label);
            } else if (!o.state || !state_matches(*o.state, side.expected)) {
                problem = fmt::format("{} should be {} but is {}", side.role,
                                      state_info(side.expected).label,
                                      o.state ? state_info(*o.state).label : "not found");
            }
        }
        return problem.empty();
    });
    if (!failure) return failure;
    if (!ok) return make_error(std::errc::timed_out, fmt::format("{}: {}", info().name, problem));
    return {};
}

void Scenario::release() noexcept {
    if (impl_) impl_->release();
}

}  // namespace socklab::lab
