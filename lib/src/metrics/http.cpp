// metrics: the HTTP side — a request-head parser, the responses, and a poll-loop server.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "socklab/detail/syscall.hpp"
#include "socklab/metrics.hpp"

namespace socklab::metrics {
namespace {

bool token_char(char c) {
    return c >= 'A' && c <= 'Z';
}

bool target_char(char c) {
    return c > ' ' && c < 0x7f;
}

std::string_view chomp(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

/// METHOD SP TARGET SP HTTP/1.x; false for anything else.
bool parse_request_line(std::string_view line, Request& out) {
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > 16) return false;
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
    const auto method = line.substr(0, sp1);
    const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line.substr(sp2 + 1);
    if (!std::all_of(method.begin(), method.end(), token_char)) return false;
    if (target.front() != '/' || !std::all_of(target.begin(), target.end(), target_char))
        return false;
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
    out.method = std::string(method);
    out.target = std::string(target.substr(0, target.find('?')));
    return true;
}

std::string response(std::string_view status, std::string_view type, std::string_view body,
                     bool with_body, std::string_view extra = {}) {
    std::string out = fmt::format(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
        status, type, body.size(), extra);
    if (with_body) out += body;
    return out;
}

}  // namespace

Request parse_request(std::string_view bytes, std::size_t max_bytes) {
    Request r;
    // The request line can be judged as soon as it is whole: garbage is answered
    // at once, not after the time limit.
    const auto eol = bytes.find('\n');
    if (eol != std::string_view::npos && !parse_request_line(chomp(bytes.substr(0, eol)), r)) {
        r.status = Request::Status::bad;
        return r;
    }
    auto end = bytes.find("\r\n\r\n");
    std::size_t head = end == std::string_view::npos ? end : end + 4;
    if (const auto lf = bytes.find("\n\n"); lf != std::string_view::npos && lf + 2 < head)
        head = lf + 2;
    if (head == std::string_view::npos || head > max_bytes) {
        r.status = bytes.size() > max_bytes || head != std::string_view::npos
                       ? Request::Status::too_large
                       : Request::Status::incomplete;
        return r;
    }
    // Header lines: "Name: value"; a line without a colon is malformed.
    std::size_t at = eol + 1;
    while (at < head) {
        auto next = bytes.find('\n', at);
        const auto line = chomp(bytes.substr(at, next - at));
        if (!line.empty() && (line.find(':') == std::string_view::npos || line.front() == ':' ||
                              line.find('\0') != std::string_view::npos)) {
            r.status = Request::Status::bad;
            return r;
        }
        at = next + 1;
    }
    r.status = Request::Status::ok;
    return r;
}

std::string respond(const Request& request, const BodyFn& body) {
    constexpr std::string_view text = "text/plain; charset=utf-8";
    switch (request.status) {
        case Request::Status::bad:
        case Request::Status::incomplete:
            return response("400 Bad Request", text, "bad request\n", true);
        case Request::Status::too_large:
            return response("431 Request Header Fields Too Large", text, "request too large\n",
                            true);
        case Request::Status::ok:
            break;
    }
    const bool head = request.method == "HEAD";
    if (request.method != "GET" && !head)
        return response("405 Method Not Allowed", text, "only GET\n", true, "Allow: GET, HEAD\r\n");
    if (request.target != "/metrics")
        return response("404 Not Found", text, "only /metrics\n", !head);
    auto b = body();
    if (!b) return response("500 Internal Server Error", text, b.error().message() + "\n", !head);
    return response("200 OK", content_type, *b, !head);
}

Result<Endpoint> parse_listen_address(std::string_view text) {
    auto bad = [&](std::string why) {
        return make_error(std::errc::invalid_argument,
                          fmt::format("'{}' {}", text.substr(0, 64), why));
    };
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return bad("is not [IPV6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon)
            return bad("is not ADDR:PORT (IPv6 in brackets: [::1]:9977)");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    auto addr = IpAddr::parse(host);
    if (!addr) return bad("has no numeric address (127.0.0.1, [::1])");
    if ((text.front() == '[') != (addr->family == Family::inet6))
        return bad("is not ADDR:PORT (IPv6 in brackets: [::1]:9977)");
    auto p = parse_uint(port, 0, 65535);
    if (!p) return bad("has no port 0-65535");
    Endpoint e;
    e.addr = *addr;
    e.port = static_cast<std::uint32_t>(*p);
    return e;
}

// ---------------------------------------------------------------------------

struct Server::Impl {
    Endpoint at;
    BodyFn body;
    ServerOptions options;
    Fd listener;
    Fd wake_read, wake_write;
    std::thread thread;
    std::atomic<std::uint64_t> answered{0};

    struct Conn {
        Fd fd;
        std::string in;
        std::string out;
        std::size_t sent = 0;
        bool draining = false;  ///< answered: reads and drops the rest until EOF
        std::chrono::steady_clock::time_point deadline;
    };
    std::vector<Conn> conns;

    void run();
    void accept_all();
    /// False when the connection is done (answered, failed or its peer left).
    bool serve(Conn& c, short revents);
};

namespace {

using Steady = std::chrono::steady_clock;

}  // namespace

void Server::Impl::accept_all() {
    while (conns.size() < options.max_connections) {
        const int fd =
            SOCKLAB_SYS(accept4)(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN, or a connection that died in the queue
        Conn c;
        c.fd = Fd(fd);
        c.deadline = Steady::now() + options.connection_timeout;
        conns.push_back(std::move(c));
    }
}

bool Server::Impl::serve(Conn& c, short revents) {
    if (c.draining) {
        // A lingering close: a close with unread input would send RST and could
        // destroy the answer before the client has read it.
        char buf[4096];
        const auto n = SOCKLAB_SYS(read)(c.fd.get(), buf, sizeof buf);
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
    }
    if (c.out.empty() && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[4096];
        const auto n = SOCKLAB_SYS(read)(c.fd.get(), buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
        if (n > 0) {
            c.in.append(buf, static_cast<std::size_t>(n));
            const auto req = parse_request(c.in, options.max_request);
            if (req.status != Request::Status::incomplete) {
                c.out = respond(req, body);
                c.in.clear();
                c.in.shrink_to_fit();
            }
        }
    }
    if (!c.out.empty()) {
        while (c.sent < c.out.size()) {
            const auto n =
                ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
            if (n < 0) return errno == EAGAIN || errno == EINTR;
            c.sent += static_cast<std::size_t>(n);
        }
        ++answered;
        ::shutdown(c.fd.get(), SHUT_WR);
        c.draining = true;
        c.deadline = std::min(c.deadline, Steady::now() + std::chrono::seconds(1));
        return true;
    }
    return true;
}

void Server::Impl::run() {
    std::vector<pollfd> fds;
    for (;;) {
        fds.clear();
        fds.push_back({wake_read.get(), POLLIN, 0});
        fds.push_back({listener.get(),
                       static_cast<short>(conns.size() < options.max_connections ? POLLIN : 0), 0});
        auto next = Steady::time_point::max();
        for (const auto& c : conns) {
            const bool in = c.out.empty() || c.draining;
            fds.push_back({c.fd.get(), static_cast<short>(in ? POLLIN : POLLOUT), 0});
            next = std::min(next, c.deadline);
        }
        int timeout = -1;
        if (next != Steady::time_point::max()) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(next - Steady::now()).count();
            timeout = static_cast<int>(std::clamp<long long>(left + 1, 0, 60'000));
        }
        const int rc = SOCKLAB_SYS(poll)(fds.data(), fds.size(), timeout);
        if (rc < 0 && errno != EINTR) return;
        if ((fds[0].revents & (POLLIN | POLLHUP)) != 0) return;
        const auto now = Steady::now();
        std::vector<Conn> keep;
        keep.reserve(conns.size());
        for (std::size_t i = 0; i < conns.size(); ++i) {
            const short ev = rc > 0 ? fds[i + 2].revents : 0;
            if (ev != 0 && !serve(conns[i], ev)) continue;
            if (now >= conns[i].deadline) continue;  // slow or silent: closed
            keep.push_back(std::move(conns[i]));
        }
        conns = std::move(keep);
        if (rc > 0 && (fds[1].revents & POLLIN) != 0) accept_all();
    }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    if (impl_->thread.joinable()) {
        const char x = 'x';
        (void)!::write(impl_->wake_write.get(), &x, 1);
        impl_->thread.join();
    }
}

const Endpoint& Server::address() const noexcept {
    return impl_->at;
}

std::uint64_t Server::answered() const noexcept {
    return impl_->answered.load();
}

Result<std::unique_ptr<Server>> Server::start(const Endpoint& at, BodyFn body,
                                              ServerOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->at = at;
    impl->body = std::move(body);
    impl->options = options;
    const std::string where = host_port(at.addr, fmt::format("{}", at.port));
    const bool v6 = at.addr.family == Family::inet6;
    Fd s(SOCKLAB_SYS(socket)(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             0));
    if (!s) return errno_error("socket " + where);
    const int one = 1;
    (void)::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (v6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<std::uint16_t>(at.port));
        std::memcpy(&a->sin6_addr, at.addr.bytes.data(), 16);
        (void)::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(static_cast<std::uint16_t>(at.port));
        std::memcpy(&a->sin_addr, at.addr.bytes.data(), 4);
        len = sizeof *a;
    }
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        return errno_error("bind " + where);
    if (::listen(s.get(), 64) != 0) return errno_error("listen " + where);
    len = sizeof ss;
    if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return errno_error("getsockname " + where);
    impl->at.port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) return errno_error("pipe");
    impl->wake_read = Fd(pipefd[0]);
    impl->wake_write = Fd(pipefd[1]);
    impl->listener = std::move(s);
    auto* raw = impl.get();
    impl->thread = std::thread([raw] { raw->run(); });
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

}  // namespace socklab::metrics
