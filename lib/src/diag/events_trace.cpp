// events: the sock:inet_sock_set_state tracepoint through a private tracefs instance.
#include <dirent.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "socklab/detail/syscall.hpp"
#include "socklab/events.hpp"

namespace socklab::diag {

namespace {

constexpr const char* tracefs_root = "/sys/kernel/tracing";
constexpr const char* instance_prefix = "sockwatch-";
/// statfs f_type of tracefs (include/uapi/linux/magic.h TRACEFS_MAGIC).
constexpr long tracefs_magic = 0x74726163;
constexpr std::string_view event_marker = "inet_sock_set_state:";

/// "0x1f" (the `fields` option) or "31".
std::optional<std::uint64_t> parse_number(std::string_view v) {
    int base = 10;
    if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        base = 16;
        v.remove_prefix(2);
    }
    std::uint64_t out = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return out;
}

/// "TCP_FIN_WAIT1" (the print format's symbols) or "0x4".
std::optional<TcpState> parse_trace_state(std::string_view v) {
    if (auto n = parse_number(v)) return state_from_kernel(static_cast<unsigned>(*n));
    if (v.substr(0, 4) != "TCP_") return std::nullopt;
    v.remove_prefix(4);
    if (v == "NEW_SYN_RECV") return TcpState::new_syn_recv;
    return parse_state(v);
}

/// "127.0.0.1" (print format) or "0x100007f": the __u8[4] array read as a
/// host-order u32 by the `fields` option, so its bytes are in memory order.
std::optional<IpAddr> parse_v4(std::string_view v) {
    if (auto n = parse_number(v)) {
        IpAddr a;
        const auto raw = static_cast<std::uint32_t>(*n);
        std::memcpy(a.bytes.data(), &raw, 4);
        return a;
    }
    auto a = IpAddr::parse(v);
    if (!a || a->family != Family::inet) return std::nullopt;
    return a;
}

std::optional<std::chrono::nanoseconds> parse_timestamp(std::string_view v) {
    const auto dot = v.find('.');
    const auto secs = parse_number(v.substr(0, dot));
    // The trace clock counts seconds since boot; past ~126 years the sum below
    // would overflow nanoseconds' signed 64 bits (found by parsers_fuzz).
    constexpr std::uint64_t max_seconds = 4'000'000'000;
    if (!secs || *secs > max_seconds) return std::nullopt;
    std::uint64_t frac_ns = 0;
    if (dot != std::string_view::npos) {
        std::string_view frac = v.substr(dot + 1);
        if (frac.empty() || frac.size() > 9) return std::nullopt;
        const auto f = parse_number(frac);
        if (!f || frac.find('x') != std::string_view::npos) return std::nullopt;
        frac_ns = *f;
        for (std::size_t i = frac.size(); i < 9; ++i)
            frac_ns *= 10;
    }
    return std::chrono::seconds(*secs) + std::chrono::nanoseconds(frac_ns);
}

struct Fields {
    std::optional<std::uint64_t> skaddr, sport, dport;
    std::optional<TcpState> oldstate, newstate;
    std::string_view family, protocol, saddr, daddr, saddr6, daddr6;
};

Fields split_fields(std::string_view rest) {
    Fields f;
    while (!rest.empty()) {
        const auto sp = rest.find(' ');
        const std::string_view tok = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
        const auto eq = tok.find('=');
        if (eq == std::string_view::npos) continue;  // "(7)": the decimal echo of `fields`
        const std::string_view key = tok.substr(0, eq), val = tok.substr(eq + 1);
        if (key == "skaddr")
            f.skaddr = parse_number(val);
        else if (key == "sport")
            f.sport = parse_number(val);
        else if (key == "dport")
            f.dport = parse_number(val);
        else if (key == "oldstate")
            f.oldstate = parse_trace_state(val);
        else if (key == "newstate")
            f.newstate = parse_trace_state(val);
        else if (key == "family")
            f.family = val;
        else if (key == "protocol")
            f.protocol = val;
        else if (key == "saddr")
            f.saddr = val;
        else if (key == "daddr")
            f.daddr = val;
        else if (key == "saddrv6" || key == "saddr_v6")
            f.saddr6 = val;
        else if (key == "daddrv6" || key == "daddr_v6")
            f.daddr6 = val;
    }
    return f;
}

bool fill_addresses(const Fields& f, StateTransition& tr) {
    SocketRecord& r = tr.socket;
    if (r.family == Family::inet) {
        auto s = parse_v4(f.saddr), d = parse_v4(f.daddr);
        if (!s || !d) return false;
        r.local.addr = *s;
        r.peer.addr = *d;
        return true;
    }
    auto s = IpAddr::parse(f.saddr6), d = IpAddr::parse(f.daddr6);
    if (!s || !d || s->family != Family::inet6 || d->family != Family::inet6) {
        r.local.addr = IpAddr{Family::inet6, {}};
        r.peer.addr = IpAddr{Family::inet6, {}};
        return false;
    }
    r.local.addr = *s;
    r.peer.addr = *d;
    return true;
}

}  // namespace

std::optional<StateTransition> parse_trace_line(std::string_view line,
                                                std::chrono::system_clock::duration clock_offset) {
    const auto at = line.find(event_marker);
    if (at == std::string_view::npos) return std::nullopt;
    // The timestamp is the last word before the marker: "  623.384780: ".
    std::string_view head = line.substr(0, at);
    while (!head.empty() && (head.back() == ' ' || head.back() == ':'))
        head.remove_suffix(1);
    const auto ts_start = head.rfind(' ');
    const auto ts =
        parse_timestamp(ts_start == std::string_view::npos ? head : head.substr(ts_start + 1));
    if (!ts) return std::nullopt;
    const Fields f = split_fields(line.substr(at + event_marker.size()));
    if (!f.oldstate || !f.newstate || !f.sport || !f.dport) return std::nullopt;
    if (f.protocol != "IPPROTO_TCP" && parse_number(f.protocol) != std::optional<std::uint64_t>(6))
        return std::nullopt;
    StateTransition tr;
    SocketRecord& r = tr.socket;
    if (f.family == "AF_INET" || parse_number(f.family) == std::optional<std::uint64_t>(2)) {
        r.family = Family::inet;
    } else if (f.family == "AF_INET6" ||
               parse_number(f.family) == std::optional<std::uint64_t>(10)) {
        r.family = Family::inet6;
    } else {
        return std::nullopt;
    }
    if (*f.sport > 0xffff || *f.dport > 0xffff) return std::nullopt;
    tr.time = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(*ts) + clock_offset);
    tr.skaddr = f.skaddr.value_or(0);
    tr.old_state = *f.oldstate;
    tr.new_state = *f.newstate;
    r.netid = Netid::tcp;
    r.state = tr.new_state;
    r.local.port = static_cast<std::uint32_t>(*f.sport);
    r.peer.port = static_cast<std::uint32_t>(*f.dport);
    tr.addresses_known = fill_addresses(f, tr);
    return tr;
}

namespace {

Result<void> write_file(const std::string& path, std::string_view text) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return errno_error("open " + path);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return errno_error("write " + path);
    return {};
}

/// Mounts tracefs at the standard place unless something is mounted there.
Result<void> ensure_tracefs() {
    struct statfs st {};
    if (::statfs(tracefs_root, &st) == 0 && static_cast<long>(st.f_type) == tracefs_magic)
        return {};
    if (::mount("nodev", tracefs_root, "tracefs", 0, nullptr) != 0)
        return errno_error(std::string("mount tracefs on ") + tracefs_root);
    return {};
}

/// How long we wait for another sockwatch to finish creating its instance.
constexpr auto instances_lock_wait = std::chrono::seconds(2);
constexpr auto lock_retry = std::chrono::milliseconds(5);
/// Names tried when ours exists (a live owner of the same pid in another PID
/// namespace that started in the same clock tick).
constexpr int max_name_tries = 8;

Fd open_dir(const std::string& path) {
    return Fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/// flock(2) without blocking. The lock belongs to the open file description, so
/// the kernel drops it when its owner dies, however it dies (SIGKILL included),
/// and it is the same lock seen from every PID namespace.
bool try_lock(int fd) {
    for (int tries = 0; tries < 100; ++tries) {  // EINTR only: a signal arrived
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno != EINTR) return false;
    }
    return false;
}

/// Locks the instances directory itself, waiting a bounded time: creation and
/// the stale sweep are serialised through it, so an instance is never seen
/// between its mkdir and its owner's lock. Returns an invalid Fd on time-out.
Fd lock_instances_dir(const std::string& dir) {
    Fd fd = open_dir(dir);
    if (!fd) return fd;
    const auto give_up = std::chrono::steady_clock::now() + instances_lock_wait;
    while (!try_lock(fd.get())) {
        if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= give_up) return Fd();
        const timespec pause{0, std::chrono::nanoseconds(lock_retry).count()};
        ::nanosleep(&pause, nullptr);
    }
    return fd;
}

/// "sockwatch-" followed by digits, '-' and '.': ours ("sockwatch-PID-START",
/// "sockwatch-PID-START.N") and the "sockwatch-PID" of older versions. Other
/// names under the prefix (a test's "sockwatch-test-1") are not ours to touch.
bool is_our_name(std::string_view name) {
    const std::string_view prefix = instance_prefix;
    if (name.substr(0, prefix.size()) != prefix) return false;
    const std::string_view rest = name.substr(prefix.size());
    if (rest.empty() || rest[0] < '0' || rest[0] > '9') return false;
    for (const char c : rest)
        if ((c < '0' || c > '9') && c != '-' && c != '.') return false;
    return true;
}

/// Removes instances whose owner died without cleaning up (SIGKILL): their event
/// would otherwise stay enabled forever. A PID says nothing here: in a PID
/// namespace every sockwatch may be pid 1, and a dead owner's pid may be reused.
/// A live owner holds a flock on its instance directory for its whole life; an
/// instance nobody holds a lock on is stale. (A live older sockwatch that takes
/// no lock keeps trace_pipe open, and the kernel refuses to remove an instance
/// in use with EBUSY.) Call with the instances directory locked.
void remove_stale_instances(const std::string& dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return;
    std::vector<std::string> candidates;
    for (int n = 0; n < 65536; ++n) {  // bounded: tracefs lists what exists
        const dirent* e = ::readdir(d.get());
        if (e == nullptr) break;
        if (is_our_name(e->d_name)) candidates.emplace_back(e->d_name);
    }
    for (const auto& name : candidates) {
        const std::string path = dir + "/" + name;
        const Fd fd = open_dir(path);
        if (fd && try_lock(fd.get())) (void)::rmdir(path.c_str());
    }
}

/// Field 22 of /proc/self/stat: our start time in clock ticks after boot. With
/// the pid it names this process and no later one that reuses the pid.
std::string start_time() {
    std::string stat;
    const Fd fd(::open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
    if (!fd) return "0";
    std::array<char, 1024> buf{};
    for (int rounds = 0; rounds < 16; ++rounds) {
        const ssize_t got = ::read(fd.get(), buf.data(), buf.size());
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        stat.append(buf.data(), static_cast<std::size_t>(got));
    }
    // The command name (field 2) may hold spaces and ')': fields count from the last ')'.
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) return "0";
    std::string_view rest = std::string_view(stat).substr(paren + 1);
    std::string_view word;
    for (int field = 3; field <= 22; ++field) {  // the words after ')' are fields 3, 4...
        while (!rest.empty() && rest.front() == ' ')
            rest.remove_prefix(1);
        const auto sp = rest.find(' ');
        word = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
    }
    return parse_number(word) ? std::string(word) : std::string("0");
}

/// Wall clock minus CLOCK_MONOTONIC, the instance's trace clock ("mono").
std::chrono::system_clock::duration mono_to_wall() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto mono = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    return std::chrono::system_clock::now().time_since_epoch() -
           std::chrono::duration_cast<std::chrono::system_clock::duration>(mono);
}

}  // namespace

struct TraceSession::Impl {
    std::string instance;
    Fd lock;  ///< the instance directory, flocked while we live (see remove_stale_instances)
    Fd pipe;
    std::string partial;  ///< an incomplete last line from the previous read
    std::chrono::system_clock::duration offset{};
    bool open = false;
    // The binary records (trace_raw.cpp) when the format file reads: one
    // trace_pipe_raw per CPU behind one epoll descriptor.
    std::optional<SetStateLayout> layout;
    std::vector<Fd> raw;
    /// Per CPU: a page a short read left incomplete (the kernel hands out whole
    /// pages; a signal may cut one).
    std::vector<std::vector<std::byte>> partial_pages;
    Fd epoll;
    std::size_t subbuf = 4096;
    std::uint64_t lost = 0;
};

namespace {

/// Opens per_cpu/cpuN/trace_pipe_raw for every CPU under one epoll descriptor,
/// if the event's format file reads; leaves m.layout empty (the text pipe is
/// used) otherwise.
void open_raw(TraceSession::Impl& m) {
    const Fd ffd(::open((m.instance + "/events/sock/inet_sock_set_state/format").c_str(),
                        O_RDONLY | O_CLOEXEC));
    if (!ffd) return;
    const auto text = read_all(ffd.get(), 1 << 16);
    if (!text) return;
    const auto format = parse_trace_format(*text);
    if (!format) return;
    auto layout = set_state_layout(*format);
    if (!layout) return;
    const Fd sfd(::open((m.instance + "/buffer_subbuf_size_kb").c_str(), O_RDONLY | O_CLOEXEC));
    if (sfd) {
        const auto kb = read_all(sfd.get(), 64);
        std::size_t v = 0;
        if (kb && std::from_chars(kb->data(), kb->data() + kb->size(), v).ec == std::errc() &&
            v > 0 && v <= 1024)
            m.subbuf = v * 1024;
    }
    m.epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!m.epoll) return;
    for (int cpu = 0; cpu < 4096; ++cpu) {
        const std::string path =
            m.instance + "/per_cpu/cpu" + std::to_string(cpu) + "/trace_pipe_raw";
        Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        if (!fd) break;
        epoll_event ev{};
        ev.events = EPOLLIN;
        if (::epoll_ctl(m.epoll.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) return;
        m.raw.push_back(std::move(fd));
    }
    m.partial_pages.resize(m.raw.size());
    if (!m.raw.empty()) m.layout = std::move(layout).value();
}

Result<std::vector<StateTransition>> read_raw(TraceSession::Impl& m) {
    std::vector<StateTransition> out;
    for (std::size_t cpu = 0; cpu < m.raw.size(); ++cpu) {
        std::vector<std::byte>& page = m.partial_pages[cpu];
        int zeros = 0;
        for (int rounds = 0; rounds < 256; ++rounds) {  // bounded: yield to other sources
            const std::size_t have = page.size();
            page.resize(m.subbuf);
            const ssize_t got =
                SOCKLAB_SYS(read)(m.raw[cpu].get(), page.data() + have, m.subbuf - have);
            const int err = errno;
            page.resize(have + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
            if (got < 0 && err == EINTR) continue;
            if (got < 0 && err == EAGAIN) break;
            if (got < 0) return errno_error("read " + m.instance + "/per_cpu trace_pipe_raw", err);
            // The kernel answers 0 to a read shorter than a page (a signal's or
            // the seam's cut); a few in a row mean it has nothing for us.
            if (got == 0 && ++zeros > 4) break;
            if (got > 0) zeros = 0;
            if (page.size() < m.subbuf) continue;  // the rest of the page follows
            auto decoded = decode_trace_page(page, *m.layout, m.offset);
            page.clear();
            if (decoded.lost) m.lost += std::max<std::uint64_t>(decoded.lost_count, 1);
            out.insert(out.end(), std::make_move_iterator(decoded.transitions.begin()),
                       std::make_move_iterator(decoded.transitions.end()));
        }
    }
    return out;
}

}  // namespace

TraceSession::TraceSession() : impl_(std::make_unique<Impl>()) {}
TraceSession::~TraceSession() {
    (void)close();
}
int TraceSession::fd() const noexcept {
    return impl_->layout ? impl_->epoll.get() : impl_->pipe.get();
}
std::uint64_t TraceSession::lost() const noexcept {
    return impl_->lost;
}
const std::string& TraceSession::instance() const noexcept {
    return impl_->instance;
}

Result<std::unique_ptr<TraceSession>> TraceSession::open() {
    if (auto r = ensure_tracefs(); !r) return r.error();
    const std::string instances = std::string(tracefs_root) + "/instances";
    std::unique_ptr<TraceSession> self(new TraceSession());
    Impl& m = *self->impl_;
    {
        // Held until our own instance is locked; without it (another process
        // sits on the lock) we skip the sweep rather than race a creator.
        const Fd guard = lock_instances_dir(instances);
        if (guard) remove_stale_instances(instances);
        const std::string base =
            instances + "/" + instance_prefix + std::to_string(::getpid()) + "-" + start_time();
        for (int n = 0; n < max_name_tries; ++n) {
            m.instance = n == 0 ? base : base + "." + std::to_string(n);
            if (::mkdir(m.instance.c_str(), 0700) == 0) break;
            if (errno != EEXIST || n + 1 == max_name_tries)
                return errno_error("mkdir " + m.instance);
        }
        m.open = true;  // from here the destructor removes the instance
        m.lock = open_dir(m.instance);
        if (!m.lock || !try_lock(m.lock.get())) return errno_error("lock " + m.instance);
    }
    // The monotonic clock converts to the wall clock; the default "local" does not.
    if (auto r = write_file(m.instance + "/trace_clock", "mono"); !r) return r.error();
    // `fields` is the only output that prints skaddr, which keeps two sockets
    // with the same ports apart; older kernels lack it, and then rows are keyed
    // by ports alone. Failure is not an error.
    (void)write_file(m.instance + "/trace_options", "fields");
    // Wake poll() on every event, not when the buffer is half full (the default).
    (void)write_file(m.instance + "/buffer_percent", "0");
    (void)write_file(m.instance + "/buffer_size_kb", "4096");
    const std::string enable = m.instance + "/events/sock/inet_sock_set_state/enable";
    if (auto r = write_file(enable, "1"); !r) return r.error();
    m.offset = mono_to_wall();
    open_raw(m);
    if (m.layout) return self;
    const std::string pipe = m.instance + "/trace_pipe";
    m.pipe.reset(::open(pipe.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!m.pipe) return errno_error("open " + pipe);
    return self;
}

Result<std::vector<StateTransition>> TraceSession::read() {
    Impl& m = *impl_;
    if (m.layout) return read_raw(m);
    std::vector<StateTransition> out;
    std::string buf(1 << 16, '\0');
    for (int rounds = 0; rounds < 256; ++rounds) {  // bounded: yield to other sources
        const ssize_t got = SOCKLAB_SYS(read)(m.pipe.get(), buf.data(), buf.size());
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return errno_error("read " + m.instance + "/trace_pipe");
        }
        if (got == 0) break;
        m.partial.append(buf.data(), static_cast<std::size_t>(got));
        std::size_t start = 0;
        for (std::size_t nl; (nl = m.partial.find('\n', start)) != std::string::npos;
             start = nl + 1) {
            auto tr =
                parse_trace_line(std::string_view(m.partial).substr(start, nl - start), m.offset);
            if (tr) out.push_back(std::move(*tr));
        }
        m.partial.erase(0, start);
    }
    return out;
}

Result<void> TraceSession::close() {
    Impl& m = *impl_;
    if (!m.open) return {};
    m.open = false;
    m.pipe.reset();
    m.raw.clear();
    m.epoll.reset();
    (void)write_file(m.instance + "/events/sock/inet_sock_set_state/enable", "0");
    const bool removed = ::rmdir(m.instance.c_str()) == 0;
    const int err = errno;
    m.lock.reset();  // after the rmdir: a sweeper never sees our instance unlocked
    if (!removed) return Error{std::error_code(err, std::system_category()), "rmdir " + m.instance};
    return {};
}

}  // namespace socklab::diag
