// watch: the Tracker — merges snapshots, destroy messages and tracepoint transitions.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "socklab/watch.hpp"

namespace socklab::watch {

namespace {

using namespace std::chrono_literals;

/// How long a cookie reported GONE is remembered, so a destroy message that the
/// kernel's work queue delivers after the poll that saw the socket vanish does
/// not report it twice.
constexpr auto gone_memory = 10s;
/// How long a tracepoint socket that never showed up in our dumps (another
/// network namespace: the tracepoint is global) stays ignored, and how many
/// such sockets are remembered at most: forgetting one early only costs a
/// short-lived row that ages out again.
constexpr auto foreign_memory = std::chrono::seconds(60);
constexpr std::size_t max_foreign = 1 << 16;
/// Snapshots a tracepoint-only row may be missing from before it is dropped.
constexpr int max_missed_snapshots = 2;

/// States after which the kernel may hand the connection to a TIME_WAIT
/// minisocket (tcp_time_wait() from FIN_WAIT1, FIN_WAIT2 and CLOSING): the full
/// socket reports CLOSE, the minisocket never fires the tracepoint.
bool may_enter_time_wait(TcpState s) {
    return s == TcpState::fin_wait1 || s == TcpState::fin_wait2 || s == TcpState::closing;
}

std::uint64_t ports_key(const SocketRecord& r) {
    return (std::uint64_t{static_cast<std::uint8_t>(r.netid)} << 40) |
           (std::uint64_t{static_cast<std::uint8_t>(r.family)} << 32) |
           (std::uint64_t{r.local.port & 0xffffU} << 16) | std::uint64_t{r.peer.port & 0xffffU};
}

}  // namespace

/// One tracked socket (internal to the Tracker).
struct TrackerRow {
    std::uint64_t id = 0;
    SocketRecord socket;
    TcpState state = TcpState::unknown;  ///< display state
    RowLife life = RowLife::live;        ///< see RowLife (watch.hpp); moved by move_life()
    bool in_snapshots = false;           ///< a dump or a destroy message told its cookie
    /// A tracepoint row not yet seen in a dump or a destroy message: the
    /// tracepoint is global, so it may belong to another network namespace.
    /// Its events wait in `held` until it is vouched for.
    bool confirmed = true;
    std::vector<Event> held;
    bool addresses_known = true;
    std::uint64_t skaddr = 0;
    Clock::time_point updated;
    Clock::time_point created;        ///< first seen (TCPView's create time)
    Clock::time_point state_since;    ///< when it entered `state`
    Clock::time_point counters_time;  ///< when socket.tcp_info was read
    /// The counters the rates start from: 0 at the birth of a socket seen from
    /// its first transition, else the first ones a dump told (see Event).
    bool base_known = false;
    std::uint64_t base_sent = 0, base_received = 0;
    Clock::time_point base_time;

    /// Reads `info` as the row's counters at `t` (the first ones start the rates).
    void read_counters(const Box<TcpInfo>& info, Clock::time_point t) {
        if (!info) return;
        socket.tcp_info = info;
        counters_time = t;
        if (!base_known) {
            base_known = true;
            base_sent = info->bytes_acked;
            base_received = info->bytes_received;
            base_time = t;
        }
    }
    std::uint64_t seen_generation = 0;
    int missed = 0;
    /// settling: the full socket left FIN_WAIT1/FIN_WAIT2/CLOSING then (the
    /// GONE's origin and time if the next snapshot does not have it in TIME_WAIT).
    EventOrigin closing_origin = EventOrigin::poll;
    Clock::time_point closing_time;
    /// waiting_port: the tracepoint fires CLOSE -> SYN_SENT before connect()
    /// picks the source port (tcp_v4_connect sets the state, then
    /// inet_hash_connect binds), so the NEW of this time waits for the next
    /// transition, which carries the port.
    Clock::time_point deferred_time;

    [[nodiscard]] bool settling() const {
        return life == RowLife::settling || life == RowLife::settling_unannounced;
    }
};

/// The Tracker's state (a namespace-scope type so helpers below can take it).
struct TrackerImpl {
    std::function<bool(const SocketRecord&)> accept;
    bool confirm = false;  ///< hold tracepoint rows until vouched for
    std::uint64_t next_id = 1;
    std::uint64_t generation = 0;
    std::unordered_map<std::uint64_t, TrackerRow> rows;
    std::unordered_map<std::uint64_t, std::uint64_t> by_cookie;
    std::unordered_map<std::uint64_t, std::uint64_t> by_skaddr;
    std::unordered_multimap<std::uint64_t, std::uint64_t> by_ports;
    std::unordered_map<std::uint64_t, Clock::time_point> recently_gone;  ///< cookie -> when
    /// Rows that left before any dump or destroy message told their cookie (a
    /// tracepoint-only row): 4-tuple -> when. The destroy message the kernel's work
    /// queue sends for the same socket afterwards must not bring it back.
    std::unordered_map<std::string, Clock::time_point> recently_gone_tuples;

    static std::string tuple_key(const SocketRecord& r) {
        return fmt::format("{}|{}>{}", static_cast<int>(r.netid),
                           host_port(r.local.addr, std::to_string(r.local.port)),
                           host_port(r.peer.addr, std::to_string(r.peer.port)));
    }
    std::unordered_map<std::uint64_t, Clock::time_point> foreign;  ///< skaddr -> when
    /// Rows whose counters moved without a state change (Tracker::take_traffic()).
    std::vector<TrafficSample> traffic;

    /// Moves RowLife's table (watch.hpp) does not allow: always 0 unless the
    /// Tracker has a bug (Tracker::invariants_hold() reports it to the tests).
    std::size_t bad_moves = 0;

    bool accepts(const SocketRecord& r) const { return !accept || accept(r); }

    /// Moves `row` to `to`, counting a move RowLife's table does not allow. It
    /// still moves: the events must not depend on the check.
    void move_life(TrackerRow& row, RowLife to) {
        if (!row_life_allowed(row.life, to)) ++bad_moves;
        row.life = to;
    }

    /// Vouches for a held row: its events go out, in order, and it is ours.
    void confirm_row(TrackerRow& row, std::vector<Event>& out) {
        row.confirmed = true;
        out.insert(out.end(), std::make_move_iterator(row.held.begin()),
                   std::make_move_iterator(row.held.end()));
        row.held = {};
    }

    TrackerRow& add(const SocketRecord& socket, bool from_snapshot, Clock::time_point seen) {
        const std::uint64_t id = next_id++;
        TrackerRow& row = rows[id];
        row.id = id;
        row.created = seen;
        row.state_since = seen;
        row.socket = socket;
        row.read_counters(socket.tcp_info, seen);
        row.state = display_state(socket.state);
        row.in_snapshots = from_snapshot;
        if (from_snapshot && socket.cookie != 0) by_cookie[socket.cookie] = id;
        by_ports.emplace(ports_key(socket), id);
        return row;
    }

    void unindex_ports(const TrackerRow& row) {
        auto [b, e] = by_ports.equal_range(ports_key(row.socket));
        for (auto it = b; it != e; ++it) {
            if (it->second == row.id) {
                by_ports.erase(it);
                return;
            }
        }
    }

    void set_endpoints(TrackerRow& row, const SocketRecord& from) {
        unindex_ports(row);
        row.socket.local = from.local;
        row.socket.peer = from.peer;
        by_ports.emplace(ports_key(row.socket), row.id);
    }

    void remove(TrackerRow& row, Clock::time_point when) {
        unindex_ports(row);
        if (row.socket.cookie != 0 && row.in_snapshots) {
            by_cookie.erase(row.socket.cookie);
            recently_gone[row.socket.cookie] = when;
        } else if (recently_gone_tuples.size() < max_foreign) {  // bounded, like `foreign`
            recently_gone_tuples[tuple_key(row.socket)] = when;
        }
        if (row.skaddr != 0) by_skaddr.erase(row.skaddr);
        rows.erase(row.id);
    }

    TrackerRow* find_id(std::unordered_map<std::uint64_t, std::uint64_t>& index,
                        std::uint64_t key) {
        if (key == 0) return nullptr;
        const auto it = index.find(key);
        return it == index.end() ? nullptr : &rows.at(it->second);
    }

    /// A row with the same ports and compatible addresses that `want` admits.
    template <class Pred>
    TrackerRow* find_ports(const SocketRecord& r, bool addresses_known, Pred want) {
        auto [b, e] = by_ports.equal_range(ports_key(r));
        for (auto it = b; it != e; ++it) {
            TrackerRow& row = rows.at(it->second);
            const bool same =
                !addresses_known || !row.addresses_known ||
                (row.socket.local.addr == r.local.addr && row.socket.peer.addr == r.peer.addr);
            if (same && want(row)) return &row;
        }
        return nullptr;
    }
};

struct Tracker::Impl : TrackerImpl {};

namespace {

Event make_event(EventKind kind, EventOrigin origin, Clock::time_point time, TcpState old_state,
                 TcpState state, const TrackerRow& row) {
    Event e;
    e.time = time;
    e.kind = kind;
    e.origin = origin;
    e.old_state = old_state;
    e.state = state;
    e.row = row.id;
    e.identity_known = row.in_snapshots;
    e.created = row.created;
    e.state_since = row.state_since;
    e.counters_time = row.counters_time;
    e.socket = row.socket;
    e.socket.state = state;
    const auto span = std::chrono::duration<double>(row.counters_time - row.base_time).count();
    if (kind != EventKind::new_ && row.base_known && row.socket.tcp_info && span > 0) {
        const TcpInfo& ti = *row.socket.tcp_info;
        const auto per_s = [&](std::uint64_t now, std::uint64_t base) {
            return static_cast<std::uint64_t>(
                static_cast<double>(now - std::min(now, base)) / span + 0.5);
        };
        e.sent_per_s = per_s(ti.bytes_acked, row.base_sent);
        e.received_per_s = per_s(ti.bytes_received, row.base_received);
    }
    return e;
}

/// Moves the row's display state, with the time it entered it.
void enter_state(TrackerRow& row, TcpState state, Clock::time_point since) {
    if (row.state != state) row.state_since = since;
    row.state = state;
}

/// Whether the traffic counters of `now` differ from `before` (absent reads as 0).
bool counters_moved(const Box<TcpInfo>& before, const Box<TcpInfo>& now) {
    if (!now) return false;
    const TcpInfo zero{};
    const TcpInfo& b = before ? *before : zero;
    return b.bytes_acked != now->bytes_acked || b.bytes_received != now->bytes_received ||
           b.segs_out != now->segs_out || b.segs_in != now->segs_in;
}

Event gone_event(EventOrigin origin, Clock::time_point time, const TrackerRow& row) {
    return make_event(EventKind::gone, origin, time, row.state, TcpState::close, row);
}

/// A socket of the dump that we track: vouch for it, adopt its cookie, and
/// report what changed since we last knew it.
void refresh_row(TrackerImpl& m, TrackerRow& row, const SocketRecord& rec, std::uint64_t gen,
                 Clock::time_point t, std::vector<Event>& out) {
    row.seen_generation = gen;
    row.missed = 0;
    if (!row.confirmed) {
        m.confirm_row(row, out);
        if (row.life == RowLife::closed_unvouched) {
            m.remove(row, t);
            return;
        }
    }
    if (rec.cookie != 0 && (!row.in_snapshots || row.socket.cookie != rec.cookie)) {
        if (row.in_snapshots) {
            m.by_cookie.erase(row.socket.cookie);
            m.recently_gone[row.socket.cookie] = t;
        }
        row.in_snapshots = true;
        row.socket.cookie = rec.cookie;  // remove() unindexes by it
        m.by_cookie[rec.cookie] = row.id;
    }
    const TcpState shown = display_state(rec.state);
    const bool moved = counters_moved(row.socket.tcp_info, rec.tcp_info);
    row.read_counters(rec.tcp_info, t);  // the traffic, however new the state
    // A live, announced row whose state stays: its counters go out as a sample.
    const auto sample = [&] {
        if (!moved || !row.confirmed || row.life != RowLife::live) return;
        const TcpInfo& ti = *row.socket.tcp_info;
        m.traffic.push_back(
            TrafficSample{row.id, t, ti.bytes_acked, ti.bytes_received, ti.segs_out, ti.segs_in});
    };
    if (row.updated > t) {  // an event newer than this dump already moved it
        sample();
        return;
    }
    const TcpState old = row.state;
    const bool was_closing = row.settling();
    const auto since = was_closing ? row.closing_time : t;
    const bool announced = row.life != RowLife::settling_unannounced;
    if (row.life != RowLife::live) m.move_life(row, RowLife::live);
    row.addresses_known = true;
    const std::uint64_t skaddr = row.skaddr;
    m.unindex_ports(row);
    const Box<TcpInfo> kept = row.socket.tcp_info;  // a dump without it keeps the last
    row.socket = rec;
    if (!row.socket.tcp_info) row.socket.tcp_info = kept;
    row.skaddr = skaddr;
    m.by_ports.emplace(ports_key(rec), row.id);
    row.updated = t;
    if (!announced) {
        row.state = shown;
        row.state_since = since;
        out.push_back(
            make_event(EventKind::new_, EventOrigin::poll, since, TcpState::unknown, shown, row));
    } else if (shown != old) {
        out.push_back(make_event(EventKind::change, EventOrigin::poll, since, old, shown, row));
    } else if (!was_closing) {
        sample();
    }
    enter_state(row, shown, since);
}

/// Rows a dump did not contain: gone, settled, or (tracepoint-only) aged out.
void settle_missing(TrackerImpl& m, std::uint64_t gen, Clock::time_point t,
                    std::vector<Event>& out) {
    std::vector<TrackerRow*> missing;
    for (auto& [id, row] : m.rows)
        if (row.seen_generation != gen && row.updated <= t) missing.push_back(&row);
    std::sort(missing.begin(), missing.end(),
              [](const TrackerRow* a, const TrackerRow* b) { return a->id < b->id; });
    for (TrackerRow* row : missing) {
        if (row->confirmed && row->settling()) {
            out.push_back(gone_event(row->closing_origin, row->closing_time, *row));
            m.remove(*row, t);
        } else if (row->confirmed && row->in_snapshots) {
            out.push_back(gone_event(EventOrigin::poll, t, *row));
            m.remove(*row, t);
        } else if (++row->missed >= max_missed_snapshots) {
            // Alive sockets of our namespace are in every dump: this one is not
            // ours (or never passed the query). Forget it, and its later events.
            if (row->skaddr != 0 && m.foreign.size() < max_foreign) m.foreign[row->skaddr] = t;
            m.remove(*row, t);
        }
    }
}

}  // namespace

Tracker::Tracker(std::function<bool(const SocketRecord&)> accept)
    : impl_(std::make_unique<Impl>()) {
    impl_->accept = std::move(accept);
}
Tracker::~Tracker() = default;
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&&) noexcept = default;

std::vector<Event> Tracker::apply_snapshot(const diag::Snapshot& snapshot) {
    Impl& m = *impl_;
    std::vector<Event> out;
    const auto t = snapshot.time;
    const std::uint64_t gen = ++m.generation;
    for (const SocketRecord& rec : snapshot.records) {
        TrackerRow* row = m.find_id(m.by_cookie, rec.cookie);
        if (row == nullptr) {
            // A row the tracepoint created (no cookie yet), or one that left
            // FIN_WAIT2 and now shows up as the TIME_WAIT minisocket.
            // The minisocket keeps the cookie only if the full socket's was
            // generated before (cookies are made on first use): match the 4-tuple.
            row = m.find_ports(rec, true,
                               [](const TrackerRow& r) { return !r.in_snapshots || r.settling(); });
        }
        if (row == nullptr) {
            if (!m.accepts(rec)) continue;
            // Closed after this dump began (an event read after the dump removed
            // it): the dump is older news, not a new socket.
            if (const auto g = m.recently_gone.find(rec.cookie);
                rec.cookie != 0 && g != m.recently_gone.end() && g->second >= t)
                continue;
            TrackerRow& fresh = m.add(rec, true, t);
            fresh.updated = t;
            fresh.seen_generation = gen;
            out.push_back(make_event(EventKind::new_, EventOrigin::poll, t, TcpState::unknown,
                                     fresh.state, fresh));
            continue;
        }
        refresh_row(m, *row, rec, gen, t, out);
    }
    settle_missing(m, gen, t, out);
    // Settled rows carry the time of their close: keep the batch in time order.
    std::stable_sort(out.begin(), out.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
    std::erase_if(m.recently_gone, [&](const auto& kv) { return kv.second + gone_memory < t; });
    std::erase_if(m.recently_gone_tuples,
                  [&](const auto& kv) { return kv.second + gone_memory < t; });
    std::erase_if(m.foreign, [&](const auto& kv) { return kv.second + foreign_memory < t; });
    return out;
}

std::vector<TrafficSample> Tracker::take_traffic() {
    return std::exchange(impl_->traffic, {});
}

std::vector<Event> Tracker::apply_destroyed(const diag::DestroyedSocket& destroyed) {
    Impl& m = *impl_;
    const SocketRecord& rec = destroyed.socket;
    const auto t = destroyed.time;
    std::vector<Event> out;
    TrackerRow* row = m.find_id(m.by_cookie, rec.cookie);
    // The full socket of a connection already in TIME_WAIT, freed after its
    // minisocket took over (whose cookie may differ: cookies are made on first
    // use): nothing new.
    if (row == nullptr && rec.netid == Netid::tcp &&
        m.find_ports(rec, true, [](const TrackerRow& r) {
            return r.life == RowLife::live && r.state == TcpState::time_wait;
        }) != nullptr)
        return out;
    if (row == nullptr) {
        // The destroy groups report our namespace only: this vouches for a
        // tracepoint row with the same 4-tuple.
        row = m.find_ports(rec, true, [](const TrackerRow& r) { return !r.confirmed; });
        if (row != nullptr) {
            m.confirm_row(*row, out);
            row->in_snapshots = true;
            row->socket.cookie = rec.cookie;
            if (rec.cookie != 0) m.by_cookie[rec.cookie] = row->id;
            if (row->life == RowLife::closed_unvouched) {
                m.remove(*row, t);
                return out;
            }
        }
    }
    if (row == nullptr) {
        // Born and freed between two polls. An active closer's full socket is
        // freed when its TIME_WAIT minisocket takes over (with the same cookie),
        // so the next snapshot decides: NEW in TIME_WAIT, or GONE.
        if (m.recently_gone.count(rec.cookie) != 0 || !m.accepts(rec)) return {};
        if (m.recently_gone_tuples.count(TrackerImpl::tuple_key(rec)) != 0) return {};
        if (rec.netid != Netid::tcp) {  // no TIME_WAIT outside TCP: gone now
            m.recently_gone[rec.cookie] = t;
            TrackerRow gone;
            gone.in_snapshots = true;  // the destroy message told its cookie
            gone.created = t;
            gone.socket = rec;
            gone.state = display_state(rec.state);
            return {gone_event(EventOrigin::destroy, t, gone)};
        }
        TrackerRow& fresh = m.add(rec, true, t);
        fresh.life = RowLife::settling_unannounced;  // born so: no NEW yet
        fresh.closing_origin = EventOrigin::destroy;
        fresh.closing_time = t;
        fresh.updated = t;
        return {};
    }
    if (row->settling() || row->state == TcpState::time_wait) return out;
    if (may_enter_time_wait(row->state)) {
        m.move_life(*row, RowLife::settling);
        row->closing_origin = EventOrigin::destroy;
        row->closing_time = t;
        row->updated = t;
        return out;
    }
    row->read_counters(rec.tcp_info, t);  // the final totals
    out.push_back(gone_event(EventOrigin::destroy, t, *row));
    m.remove(*row, t);
    return out;
}

namespace {

/// A transition of a socket we do not track yet: a row starting in the state
/// the transition left (a clone starts where its listener hands it over).
TrackerRow* add_from_transition(TrackerImpl& m, const diag::StateTransition& tr,
                                std::vector<Event>& out) {
    const auto t = tr.time;
    const TcpState old_shown = display_state(tr.old_state);
    const TcpState new_shown = display_state(tr.new_state);
    if (new_shown == TcpState::close) return nullptr;  // never seen alive: nothing to report
    SocketRecord rec = tr.socket;
    rec.state = tr.new_state;
    if (!m.accepts(rec)) return nullptr;
    // LISTEN -> SYN_RECV is a child cloned from its listener: it starts there.
    const bool fresh = old_shown == TcpState::close || old_shown == TcpState::listen ||
                       old_shown == TcpState::unknown;
    rec.state = fresh ? tr.new_state : tr.old_state;
    // Found by 4-tuple through sock_diag: our namespace's, with its cookie.
    const bool identified = tr.identity_known && tr.socket.cookie != 0;
    TrackerRow& r = m.add(rec, identified, t);
    r.confirmed = !m.confirm || identified;
    r.skaddr = tr.skaddr;
    r.addresses_known = tr.addresses_known;
    r.updated = t;
    // Seen from its connect() or its accept(): nothing moved before.
    if (fresh) {
        r.base_known = true;
        r.base_time = t;
    }
    if (tr.skaddr != 0) m.by_skaddr[tr.skaddr] = r.id;
    if (rec.local.port == 0) {
        r.life = RowLife::waiting_port;  // born so
        r.deferred_time = t;
    } else {
        out.push_back(
            make_event(EventKind::new_, EventOrigin::tracepoint, t, TcpState::unknown, r.state, r));
    }
    if (!fresh) {
        out.push_back(
            make_event(EventKind::change, EventOrigin::tracepoint, t, r.state, new_shown, r));
        enter_state(r, new_shown, t);
        r.socket.state = tr.new_state;
    }
    return &r;
}

/// A sock_diag look-up told a tracepoint row's cookie, inode and uid: it is
/// ours (the look-up sees our namespace only), so its held events go out.
void adopt_identity(TrackerImpl& m, TrackerRow& row, const SocketRecord& found,
                    std::vector<Event>& out) {
    if (row.in_snapshots && row.socket.cookie != found.cookie) m.by_cookie.erase(row.socket.cookie);
    row.in_snapshots = true;
    row.socket.cookie = found.cookie;
    row.socket.inode = found.inode;
    row.socket.uid = found.uid;
    m.by_cookie[found.cookie] = row.id;
    for (Event& e : row.held) {
        e.identity_known = true;
        e.socket.cookie = found.cookie;
        e.socket.inode = found.inode;
        e.socket.uid = found.uid;
    }
    if (!row.confirmed) m.confirm_row(row, out);
}

/// Applies one transition to `m`, appending events to `out`; returns the row it
/// touched when that row is still held (null when none or removed).
TrackerRow* transition(TrackerImpl& m, const diag::StateTransition& tr, std::vector<Event>& out) {
    // Request sockets (NEW_SYN_RECV) are not full sockets; the child that
    // replaces one reports LISTEN -> SYN_RECV itself.
    if (tr.new_state == TcpState::new_syn_recv || tr.old_state == TcpState::new_syn_recv)
        return nullptr;
    const auto t = tr.time;
    const TcpState old_shown = display_state(tr.old_state);
    const TcpState new_shown = display_state(tr.new_state);
    if (tr.skaddr != 0) {
        const auto f = m.foreign.find(tr.skaddr);
        if (f != m.foreign.end()) {
            if (new_shown == TcpState::close) m.foreign.erase(f);
            return nullptr;
        }
    }
    TrackerRow* row = m.find_id(m.by_skaddr, tr.skaddr);
    if (row == nullptr) {
        row = m.find_ports(tr.socket, tr.addresses_known, [&](const TrackerRow& r) {
            return r.skaddr == 0 && (r.life == RowLife::live || r.life == RowLife::waiting_port) &&
                   r.state == old_shown;
        });
    }
    const bool identified = tr.identity_known && tr.socket.cookie != 0;
    if (row == nullptr && identified) row = m.find_id(m.by_cookie, tr.socket.cookie);
    if (row == nullptr) return add_from_transition(m, tr, out);
    if (identified && (!row->in_snapshots || row->socket.cookie != tr.socket.cookie))
        adopt_identity(m, *row, tr.socket, out);
    if (row->skaddr == 0 && tr.skaddr != 0) {
        row->skaddr = tr.skaddr;
        m.by_skaddr[tr.skaddr] = row->id;
    }
    if (tr.addresses_known || (tr.socket.local.port != 0 && row->socket.local.port == 0)) {
        const IpAddr local = row->socket.local.addr, peer = row->socket.peer.addr;
        m.set_endpoints(*row, tr.socket);
        if (!tr.addresses_known) {
            row->socket.local.addr = local;
            row->socket.peer.addr = peer;
        }
        row->addresses_known = row->addresses_known && tr.addresses_known;
    }
    if (row->life == RowLife::waiting_port &&
        (row->socket.local.port != 0 || new_shown == TcpState::close)) {
        m.move_life(*row, RowLife::live);
        out.push_back(make_event(EventKind::new_, EventOrigin::tracepoint, row->deferred_time,
                                 TcpState::unknown, row->state, *row));
    }
    row->updated = t;
    row->read_counters(tr.socket.tcp_info, t);  // the destroy message's final totals (Monitor)
    if (new_shown == TcpState::close) {
        if (may_enter_time_wait(row->state)) {
            m.move_life(*row, RowLife::settling);
            row->closing_origin = EventOrigin::tracepoint;
            row->closing_time = t;
            // The kernel may reuse the address for a new socket at once.
            m.by_skaddr.erase(row->skaddr);
            row->skaddr = 0;
            return row;
        }
        out.push_back(gone_event(EventOrigin::tracepoint, t, *row));
        if (!row->confirmed) {
            // Maybe another namespace's: kept until a destroy message or a dump vouches for it.
            m.by_skaddr.erase(row->skaddr);
            row->skaddr = 0;
            m.move_life(*row, RowLife::closed_unvouched);
            return row;
        }
        m.remove(*row, t);
        return nullptr;
    }
    if (new_shown != row->state) {
        out.push_back(make_event(EventKind::change, EventOrigin::tracepoint, t,
                                 old_shown == TcpState::unknown ? row->state : old_shown, new_shown,
                                 *row));
        enter_state(*row, new_shown, t);
    }
    row->socket.state = tr.new_state;
    return row;
}

}  // namespace

std::vector<Event> Tracker::apply_transition(const diag::StateTransition& tr) {
    std::vector<Event> out;
    TrackerRow* row = transition(*impl_, tr, out);
    if (row != nullptr && !row->confirmed) {
        row->held.insert(row->held.end(), std::make_move_iterator(out.begin()),
                         std::make_move_iterator(out.end()));
        return {};
    }
    return out;
}

std::vector<Event> Tracker::apply_time_wait(const SocketRecord& mini, Clock::time_point t) {
    Impl& m = *impl_;
    std::vector<Event> out;
    // An orphan that leaves FIN_WAIT1 gets a minisocket in FIN_WAIT2 (its
    // substate), which turns TIME_WAIT later without a transition.
    const TcpState mini_state = display_state(mini.state);
    if (mini.netid != Netid::tcp ||
        (mini_state != TcpState::time_wait && mini_state != TcpState::fin_wait2))
        return out;
    TrackerRow* row = m.find_id(m.by_cookie, mini.cookie);
    if (row == nullptr)
        row = m.find_ports(mini, true, [](const TrackerRow& r) {
            return r.life == RowLife::live || r.settling();
        });
    if (row == nullptr || (row->life == RowLife::live && row->state == mini_state)) return out;
    if (!row->confirmed) m.confirm_row(*row, out);  // the look-up sees our namespace only
    const bool announced = row->life != RowLife::settling_unannounced;
    const auto when = row->settling() ? row->closing_time : t;
    const TcpState old = row->state;
    if (row->life != RowLife::live) m.move_life(*row, RowLife::live);
    if (mini.cookie != 0 && row->socket.cookie != mini.cookie) {
        if (row->in_snapshots) m.by_cookie.erase(row->socket.cookie);
        m.by_cookie[mini.cookie] = row->id;
    }
    row->in_snapshots = row->in_snapshots || mini.cookie != 0;
    row->addresses_known = true;
    m.unindex_ports(*row);
    const Box<TcpInfo> kept = row->socket.tcp_info;  // a minisocket has no tcp_info
    row->socket = mini;
    if (!row->socket.tcp_info) row->socket.tcp_info = kept;
    m.by_ports.emplace(ports_key(mini), row->id);
    row->updated = std::max(row->updated, t);
    if (!announced) {
        row->state = mini_state;
        row->state_since = when;
    }
    if (announced && old == mini_state) return out;  // still FIN_WAIT2: nothing to say
    out.push_back(make_event(announced ? EventKind::change : EventKind::new_, EventOrigin::poll,
                             when, announced ? old : TcpState::unknown, mini_state, *row));
    enter_state(*row, mini_state, when);
    return out;
}

void Tracker::confirm_tracepoint_rows(bool on) {
    impl_->confirm = on;
}

StateCounts Tracker::counts() const {
    StateCounts c{};
    for (const auto& [id, row] : impl_->rows)
        if (!row.settling() && row.confirmed) ++c[static_cast<std::size_t>(row.state)];
    return c;
}

std::size_t Tracker::size() const noexcept {
    return impl_->rows.size();
}

bool Tracker::invariants_hold() const {
    if (impl_->bad_moves != 0) return false;
    return std::all_of(impl_->rows.begin(), impl_->rows.end(), [](const auto& kv) {
        const TrackerRow& r = kv.second;
        if (r.confirmed && !r.held.empty()) return false;  // vouched-for rows hold nothing
        if (r.life == RowLife::closed_unvouched && (r.confirmed || r.skaddr != 0)) return false;
        return r.life != RowLife::settling_unannounced || r.in_snapshots;
    });
}

std::size_t Tracker::count_in(RowLife life) const {
    return static_cast<std::size_t>(
        std::count_if(impl_->rows.begin(), impl_->rows.end(),
                      [&](const auto& kv) { return kv.second.life == life; }));
}

std::string_view row_life_name(RowLife life) {
    constexpr std::array<std::string_view, 5> names{"live", "waiting_port", "settling",
                                                    "settling_unannounced", "closed_unvouched"};
    const auto i = static_cast<std::size_t>(life);
    return i < names.size() ? names[i] : "?";
}

bool row_life_allowed(RowLife from, RowLife to) {
    using L = RowLife;
    switch (to) {
        case L::live:
            return from == L::waiting_port || from == L::settling ||
                   from == L::settling_unannounced;
        case L::settling:
            return from == L::live || from == L::waiting_port || from == L::settling;
        case L::closed_unvouched:
            return from == L::live || from == L::settling;
        case L::waiting_port:
        case L::settling_unannounced:
            return false;  // birth states only
    }
    return false;
}

}  // namespace socklab::watch
