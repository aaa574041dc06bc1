// watch: the Monitor — chooses the sources, waits on them, feeds the Tracker.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <optional>

#include "socklab/watch.hpp"

namespace socklab::watch {

using Steady = std::chrono::steady_clock;

struct Monitor::Impl {
    std::unique_ptr<diag::SocketSource> source;
    MonitorOptions options;
    Tracker tracker;
    std::unique_ptr<diag::TraceSession> trace;
    std::unique_ptr<diag::DestroyListener> destroy;
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

    Result<void> apply_trace(std::vector<Event>& out) {
        if (!trace) return {};
        auto got = trace->read();
        if (!got) return got.error();
        for (const auto& tr : *got)
            append(out, tracker.apply_transition(tr));
        return {};
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
        if (auto r = apply_trace(step.events); !r) return r.error();
        if (snap) {
            append(step.events, tracker.apply_snapshot(*snap));
            step.polled = true;
        }
        for (const auto& d : *destroyed)
            append(step.events, tracker.apply_destroyed(d));
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
    const auto wake = std::min(m.next_poll, until);
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
