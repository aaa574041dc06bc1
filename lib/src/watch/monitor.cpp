// watch: the Monitor — chooses the sources, waits on them, feeds the Tracker.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "socklab/proc.hpp"
#include "socklab/watch.hpp"

namespace socklab::watch {

using Steady = std::chrono::steady_clock;

namespace {

/// How long tracepoint records wait before they are applied: the per-CPU
/// buffers are read one after the other, so a record of one CPU may be read
/// after a later one of another; within this window they are put in order.
constexpr auto reorder_window = std::chrono::milliseconds(20);

/// Same ports and addresses on both ends.
bool same_tuple(const SocketRecord& a, const SocketRecord& b) {
    return a.local.port == b.local.port && a.peer.port == b.peer.port &&
           a.local.addr == b.local.addr && a.peer.addr == b.peer.addr;
}

/// The destroy messages of one round by their ports, for the tracepoint's CLOSE of
/// the same socket: its final tcp_info (the tracepoint carries none).
using FinalCounters = std::unordered_multimap<std::uint64_t, const diag::DestroyedSocket*>;

std::uint64_t ports_of(const SocketRecord& r) {
    return (std::uint64_t{r.local.port & 0xffffU} << 16) | std::uint64_t{r.peer.port & 0xffffU};
}

FinalCounters final_counters(std::span<const diag::DestroyedSocket> destroyed) {
    FinalCounters out;
    for (const auto& d : destroyed)
        if (d.socket.netid == Netid::tcp && d.socket.tcp_info) out.emplace(ports_of(d.socket), &d);
    return out;
}

/// Rows whose owners are remembered at most (like the Tracker's own bounds).
constexpr std::size_t max_row_owners = 1 << 17;

}  // namespace

struct Monitor::Impl {
    std::unique_ptr<diag::SocketSource> source;
    MonitorOptions options;
    Tracker tracker;
    std::unique_ptr<diag::TraceSession> trace;
    std::unique_ptr<diag::DestroyListener> destroy;
    /// Cookie, inode and uid of tracepoint sockets (which lack them), by 4-tuple.
    std::unique_ptr<diag::TupleLookup> lookup;
    /// What the look-up found, by kernel socket address, until the socket closes.
    std::unordered_map<std::uint64_t, SocketRecord> identities;
    /// Kernel socket addresses a look-up did not find, until their CLOSE.
    std::unordered_set<std::uint64_t> unfound;
    /// Tracepoint records inside the reorder window, in time order.
    std::vector<diag::StateTransition> pending;
    /// The owners of every event's inode (pid, comm), found incrementally.
    proc::OwnerIndex owners;
    struct RowOwners {
        std::uint64_t inode = 0;  ///< forgotten in `owners` at the row's GONE
        std::vector<Owner> owners;
    };
    std::unordered_map<std::uint64_t, RowOwners> row_owners;  ///< by Event::row
    std::uint64_t lost_reported = 0;
    std::vector<std::string> notes;
    Steady::time_point next_poll;
    bool destroy_overflow_reported = false;

    /// One interval after `t`, saturating: `-i` may be as long as parse_duration
    /// allows (about 285 years), which would overflow the steady clock's 64 bits.
    [[nodiscard]] Steady::time_point after(Steady::time_point t) const {
        const auto interval = std::chrono::duration_cast<Steady::duration>(options.interval);
        if (t > Steady::time_point::max() - interval) return Steady::time_point::max();
        return t + interval;
    }

    void append(std::vector<Event>& to, std::vector<Event>&& from) {
        to.insert(to.end(), std::make_move_iterator(from.begin()),
                  std::make_move_iterator(from.end()));
    }

    /// The cookie, inode and uid of `tr`'s socket: from an earlier look-up of
    /// the same kernel socket, else by the newest 4-tuple the window has for it.
    /// For each of `ready`: the newest tuple of its socket's life from there on
    /// (up to its CLOSE; after that the kernel may reuse the address for another
    /// socket, maybe of another namespace), and whether that CLOSE is read. One
    /// backward pass over the window.
    struct Life {
        const diag::StateTransition* best = nullptr;
        bool ended = false;
    };
    std::vector<Life> lives_of(std::span<const diag::StateTransition> ready) const {
        std::vector<Life> out(ready.size());
        std::unordered_map<std::uint64_t, Life> state;
        const auto step = [&](const diag::StateTransition& p) -> Life& {
            Life& l = state[p.skaddr];
            const bool usable = p.addresses_known && p.socket.local.port != 0;
            if (display_state(p.new_state) == TcpState::close)
                l = Life{usable ? &p : nullptr, true};
            else if (l.best == nullptr && usable)
                l.best = &p;
            return l;
        };
        for (auto p = pending.rbegin(); p != pending.rend(); ++p)
            (void)step(*p);
        for (std::size_t k = ready.size(); k-- > 0;)
            out[k] = step(ready[k]);
        return out;
    }

    /// The cookie, inode and uid of `tr`'s socket: from an earlier look-up of
    /// the same kernel socket, else by the newest tuple of its life.
    void identify(diag::StateTransition& tr, const Life& life) {
        if (!lookup || tr.skaddr == 0) return;
        auto it = identities.find(tr.skaddr);
        // A CLOSE we never saw (events lost): the address now holds another socket.
        if (it != identities.end() && tr.addresses_known && tr.socket.local.port != 0 &&
            !same_tuple(it->second, tr.socket)) {
            identities.erase(it);
            it = identities.end();
        }
        if (it == identities.end()) {
            const diag::StateTransition* best = life.best;
            const bool ended = life.ended;
            // Closed already (its CLOSE is read): the kernel has nothing to find.
            // Not found before in this life: nor now (a churn would cost a
            // look-up per transition).
            if (best == nullptr || ended || unfound.count(tr.skaddr) != 0) {
                if (display_state(tr.new_state) == TcpState::close) unfound.erase(tr.skaddr);
                return;
            }
            auto found = lookup->find(best->socket);
            if (found && !*found && unfound.size() < max_row_owners) unfound.insert(tr.skaddr);
            // The kernel's look-up falls back to a listener, and a socket that
            // is gone may have left a TIME_WAIT minisocket (another object, with
            // a cookie of its own): only the full socket of this tuple counts.
            if (!found || !*found || (*found)->cookie == 0 || !same_tuple(**found, best->socket) ||
                display_state((*found)->state) == TcpState::time_wait ||
                (*found)->state == TcpState::new_syn_recv)  // the request, not the child
                return;
            // No file: a request socket (sock_diag reports it as SYN_RECV) or
            // a child not accepted yet. Asked again at its next transition.
            if ((*found)->inode == 0) return;
            it = identities.emplace(tr.skaddr, std::move(**found)).first;
        }
        apply_identity(tr, it->second);
        // The kernel may reuse the address for the next socket.
        if (display_state(tr.new_state) == TcpState::close) identities.erase(it);
    }

    static void apply_identity(diag::StateTransition& tr, const SocketRecord& found) {
        tr.socket.cookie = found.cookie;
        tr.socket.inode = found.inode;
        tr.socket.uid = found.uid;
        tr.identity_known = true;
    }

    /// Reads the trace buffer into the window and applies what is older than
    /// the window (everything when `flush`), in time order.
    Result<void> apply_trace(std::vector<Event>& out, bool flush, const FinalCounters& finals) {
        if (!trace) return {};
        auto got = trace->read();
        if (!got) return got.error();
        for (auto& tr : *got)
            pending.push_back(std::move(tr));
        std::stable_sort(pending.begin(), pending.end(),
                         [](const auto& a, const auto& b) { return a.time < b.time; });
        const auto cut = Clock::now() - reorder_window;
        auto n = pending.begin();
        while (n != pending.end() && (flush || n->time <= cut))
            ++n;
        std::vector<diag::StateTransition> ready(std::make_move_iterator(pending.begin()),
                                                 std::make_move_iterator(n));
        pending.erase(pending.begin(), n);
        const auto lives = lives_of(ready);
        for (std::size_t i = 0; i < ready.size(); ++i) {
            identify(ready[i], lives[i]);
            if (display_state(ready[i].new_state) == TcpState::close)
                attach_final_counters(ready[i], finals);
            const diag::StateTransition& tr = ready[i];
            append(out, tracker.apply_transition(tr));
            const bool to_time_wait =
                display_state(tr.new_state) == TcpState::close &&
                (tr.old_state == TcpState::fin_wait1 || tr.old_state == TcpState::fin_wait2 ||
                 tr.old_state == TcpState::closing);
            if (to_time_wait) (void)settle_now(tr.socket, tr.time, out);
        }
        return {};
    }

    /// A CLOSE whose destroy message is in this round (an orphan is freed right
    /// after its last transition): the kernel's final tcp_info goes with it.
    static void attach_final_counters(diag::StateTransition& tr, const FinalCounters& finals) {
        if (!tr.addresses_known || tr.socket.local.port == 0) return;
        auto [b, e] = finals.equal_range(ports_of(tr.socket));
        for (auto it = b; it != e; ++it) {
            const SocketRecord& d = it->second->socket;
            if (!same_tuple(d, tr.socket)) continue;
            if (tr.identity_known && tr.socket.cookie != 0 && d.cookie != tr.socket.cookie)
                continue;
            tr.socket.tcp_info = d.tcp_info;
            return;
        }
    }

    /// A full socket just closed: its TIME_WAIT minisocket, made before the
    /// close, is in the kernel now or never.
    std::optional<SocketRecord> find_time_wait(const SocketRecord& tuple) {
        if (!lookup || tuple.netid != Netid::tcp || tuple.local.port == 0) return std::nullopt;
        auto found = lookup->find(tuple);
        if (!found || !*found || !same_tuple(**found, tuple)) return std::nullopt;
        const TcpState st = display_state((*found)->state);
        // A minisocket has no inode; FIN_WAIT2 is the substate of an orphan's.
        if (st != TcpState::time_wait && !(st == TcpState::fin_wait2 && (*found)->inode == 0))
            return std::nullopt;
        return std::move(*found);
    }

    /// Found, the minisocket is a CHANGE at once; true when a row took it.
    bool settle_now(const SocketRecord& tuple, Clock::time_point t, std::vector<Event>& out) {
        const auto mini = find_time_wait(tuple);
        if (!mini) return false;
        auto events = tracker.apply_time_wait(*mini, t);
        const bool took = !events.empty();
        append(out, std::move(events));
        return took;
    }

    /// When the oldest record in the window is due.
    [[nodiscard]] Steady::time_point window_due() const {
        if (pending.empty()) return Steady::time_point::max();
        const auto left = pending.front().time + reorder_window - Clock::now();
        return Steady::now() + std::chrono::duration_cast<Steady::duration>(
                                   std::max(left, Clock::duration::zero()));
    }

    /// pid and comm of every event's socket, through its inode (never the task
    /// that happened to run when the tracepoint fired). A row keeps its owners
    /// when its inode goes (the TIME_WAIT minisocket has none); GONE forgets both.
    void attach_owners(std::vector<Event>& events) {
        std::vector<std::uint64_t> inodes;
        for (const auto& e : events)
            if (e.identity_known && e.socket.inode != 0 && e.socket.owners.empty())
                inodes.push_back(e.socket.inode);
        if (!inodes.empty()) (void)owners.resolve(inodes);
        for (auto& e : events) {
            if (e.socket.owners.empty() && e.identity_known && e.socket.inode != 0) {
                if (const auto* o = owners.find(e.socket.inode)) e.socket.owners = *o;
            }
            if (e.socket.owners.empty()) {
                const auto it = row_owners.find(e.row);
                if (it != row_owners.end()) e.socket.owners = it->second.owners;
            } else if (e.kind != EventKind::gone && row_owners.size() < max_row_owners) {
                auto& r = row_owners[e.row];
                r.owners = e.socket.owners;
                if (e.socket.inode != 0 && e.identity_known) r.inode = e.socket.inode;
            }
            if (e.kind == EventKind::gone) {
                const auto it = row_owners.find(e.row);
                if (it != row_owners.end()) {
                    owners.forget(it->second.inode);
                    row_owners.erase(it);
                }
                if (e.socket.inode != 0) owners.forget(e.socket.inode);
            }
        }
    }

    /// Events the kernel overwrote in the trace buffer: said with their count,
    /// and the next round takes a dump to resynchronise.
    bool report_loss(Step& step) {
        if (!trace || trace->lost() == lost_reported) return false;
        step.warnings.push_back(
            fmt::format("tracepoint buffer overran: {} events lost; resynchronising from a dump",
                        trace->lost() - lost_reported));
        step.lost = trace->lost() - lost_reported;
        lost_reported = trace->lost();
        return true;
    }

    Result<std::vector<diag::DestroyedSocket>> read_destroy(Step& step) {
        if (!destroy) return std::vector<diag::DestroyedSocket>{};
        auto got = destroy->read();
        // ENOBUFS: the kernel dropped messages because we read too slowly. The
        // next poll still sees what is left; say it once.
        if (!got && got.error().code == std::errc::no_buffer_space) {
            if (!destroy_overflow_reported)
                step.warnings.emplace_back(
                    "destroy group overflowed: sockets closed between polls may be missed");
            destroy_overflow_reported = true;
            return std::vector<diag::DestroyedSocket>{};
        }
        return got;
    }

    /// One round. The order is what keeps the sources consistent:
    /// 1. the dump, if due: it reflects everything up to its start time;
    /// 2. the destroy messages: the kernel queues one only after the socket's
    ///    last transition, so that transition is in the trace buffer by now;
    /// 3. the trace buffer, drained after both: nothing the dump or a destroy
    ///    message knows about is still unread there;
    /// 4. the dump, applied after the transitions (the Tracker keeps a row whose
    ///    last event is newer than the dump);
    /// 5. the destroy messages last: a socket freed after the dump started is
    ///    still in the dump and must not come back as NEW.
    Result<void> round(bool poll_due, Step& step) {
        std::optional<diag::Snapshot> snap;
        if (poll_due) {
            auto s = diag::take_snapshot(*source, options.query);
            if (!s) return s.error();
            snap = std::move(s).value();
        }
        auto destroyed = read_destroy(step);
        if (!destroyed) return destroyed.error();
        // A dump or a destroy message comes after the transitions it reflects:
        // the window is applied whole before them.
        const bool flush = snap.has_value() || !destroyed->empty();
        if (auto r = apply_trace(step.events, flush, final_counters(*destroyed)); !r)
            return r.error();
        if (snap) {
            append(step.events, tracker.apply_snapshot(*snap));
            auto traffic = tracker.take_traffic();
            step.traffic.insert(step.traffic.end(), traffic.begin(), traffic.end());
            step.polled = true;
        }
        for (const auto& d : *destroyed) {
            // The kernel frees an active closer's full socket when its TIME_WAIT
            // minisocket takes over: without the tracepoint (no root) that
            // is a CHANGE to TIME_WAIT, not a GONE and a NEW a poll later.
            // Unknown to the table (born between polls): the destroy message
            // makes its row, and the minisocket then announces it.
            // (With the tracepoint its CLOSE did this already.)
            const auto mini = trace ? std::nullopt : find_time_wait(d.socket);
            auto settled = mini ? tracker.apply_time_wait(*mini, d.time) : std::vector<Event>{};
            const bool took = !settled.empty();
            append(step.events, std::move(settled));
            append(step.events, tracker.apply_destroyed(d));
            if (mini && !took) append(step.events, tracker.apply_time_wait(*mini, d.time));
        }
        if (options.owners) attach_owners(step.events);
        return {};
    }
};

std::optional<SourceChoice> parse_source_choice(std::string_view name) {
    if (name == "auto") return SourceChoice::automatic;
    if (name == "poll") return SourceChoice::poll;
    if (name == "tracepoint") return SourceChoice::tracepoint;
    return std::nullopt;
}

Monitor::Monitor() : impl_(std::make_unique<Impl>()) {}
Monitor::~Monitor() {
    (void)close();
}

Result<std::unique_ptr<Monitor>> Monitor::open(std::unique_ptr<diag::SocketSource> source,
                                               MonitorOptions options) {
    std::unique_ptr<Monitor> self(new Monitor());
    Impl& m = *self->impl_;
    m.source = std::move(source);
    m.tracker = Tracker(options.accept);
    m.options = std::move(options);
    const bool want_trace = m.options.source != SourceChoice::poll && m.options.query.tcp;
    if (want_trace) {
        auto trace = diag::TraceSession::open();
        if (trace) {
            m.trace = std::move(trace).value();
        } else if (m.options.source == SourceChoice::tracepoint) {
            return Error{trace.error().code, "tracepoint: " + trace.error().context};
        } else {
            m.notes.push_back("tracepoint: " + trace.error().message());
        }
    }
    // The destroy groups see every freed socket of our namespace; next to the
    // tracepoint they also tell which of its sockets are ours.
    if (m.options.source != SourceChoice::poll) {
        auto destroy = diag::DestroyListener::open(m.options.query);
        if (destroy) {
            m.destroy = std::move(destroy).value();
        } else {
            m.notes.push_back("destroy groups: " + destroy.error().message());
        }
    }
    if (m.trace || m.destroy) {
        auto lookup = diag::TupleLookup::open();
        if (lookup)
            m.lookup = std::move(lookup).value();
        else
            m.notes.push_back("sock_diag lookup: " + lookup.error().message());
    }
    m.tracker.confirm_tracepoint_rows(m.trace != nullptr && m.destroy != nullptr);
    return self;
}

std::string Monitor::sources() const {
    std::string s;
    if (impl_->trace) s += "tracepoint+";
    if (impl_->destroy) s += "destroy+";
    return s + "poll";
}

const std::vector<std::string>& Monitor::notes() const {
    return impl_->notes;
}

std::string Monitor::trace_instance() const {
    return impl_->trace ? impl_->trace->instance() : std::string();
}

const Tracker& Monitor::tracker() const noexcept {
    return impl_->tracker;
}

Result<std::vector<Event>> Monitor::start() {
    impl_->next_poll = impl_->after(Steady::now());
    Step step;
    if (auto r = impl_->round(true, step); !r) return r.error();
    return std::move(step.events);
}

Result<Step> Monitor::step(std::span<const int> extra_fds, Steady::time_point until) {
    Impl& m = *impl_;
    std::vector<pollfd> fds;
    const int trace_fd = m.trace ? m.trace->fd() : -1;
    const int destroy_fd = m.destroy ? m.destroy->fd() : -1;
    fds.push_back({trace_fd, POLLIN, 0});
    fds.push_back({destroy_fd, POLLIN, 0});
    for (const int fd : extra_fds)
        fds.push_back({fd, POLLIN, 0});
    const auto wake = std::min({m.next_poll, until, m.window_due()});
    const auto wait = std::max(Steady::duration::zero(), wake - Steady::now());
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    const timespec ts{static_cast<std::time_t>(ns / 1'000'000'000),
                      static_cast<long>(ns % 1'000'000'000)};
    if (::ppoll(fds.data(), fds.size(), &ts, nullptr) < 0 && errno != EINTR)
        return errno_error("poll");
    Step step;
    for (std::size_t i = 2; i < fds.size(); ++i)
        step.extra_ready.push_back((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0);
    const auto now = Steady::now();
    const bool poll_due = now >= m.next_poll;
    if (poll_due) {
        m.next_poll = m.after(m.next_poll);
        if (m.next_poll <= now) m.next_poll = m.after(now);  // fell behind: no burst
    }
    if (auto r = m.round(poll_due, step); !r) return r.error();
    // A loss means transitions were never seen: a dump now puts the table right.
    if (m.report_loss(step)) {
        if (auto r = m.round(true, step); !r) return r.error();
        step.polled = true;
    }
    // Held tracepoint rows are released late, with their own times.
    std::stable_sort(step.events.begin(), step.events.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
    return step;
}

Result<void> Monitor::close() {
    if (!impl_->trace) return {};
    auto r = impl_->trace->close();
    impl_->trace.reset();
    return r;
}

}  // namespace socklab::watch
