// The live netlink sock_diag source, dump recording, and SOCK_DESTROY.
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "diag/dump_file.hpp"
#include "diag/sockstat.hpp"
#include "socklab/detail/netlink_decode.hpp"
#include "socklab/detail/syscall.hpp"
#include "socklab/diag.hpp"

namespace socklab::diag {
namespace {

using detail::DumpRequest;

/// Called after every datagram of replies is decoded: the raw bytes (empty for
/// records that came from /proc/net instead) and the records decoded so far,
/// which the sink may consume (record_dump keeps the bytes, dump_each streams).
using ChunkSink = std::function<Result<void>(DumpRequest, std::span<const std::byte>,
                                             std::vector<SocketRecord>&)>;

// The kernel builds dump skbs of at most 32 KiB (netlink_recvmsg caps
// max_recvmsg_len); twice that means a datagram is never cut (MSG_TRUNC).
constexpr std::size_t recv_buffer_size = 64 * 1024;
// A deep socket queue lets the kernel stay ahead of us while we decode.
constexpr int socket_rcvbuf = 1024 * 1024;

/// One NETLINK_SOCK_DIAG socket and its receive buffer.
class DiagSocket {
  public:
    static Result<DiagSocket> open() {
        Fd fd(SOCKLAB_SYS(socket)(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
        if (!fd) return errno_error("socket NETLINK_SOCK_DIAG");
        // Best effort: a smaller buffer only costs a few more wakeups.
        (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &socket_rcvbuf, sizeof socket_rcvbuf);
        return DiagSocket(std::move(fd));
    }

    Result<void> send(std::span<const std::byte> message, const char* what) {
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        for (;;) {
            const auto n =
                SOCKLAB_SYS(sendto)(fd_.get(), message.data(), message.size(), 0,
                                    reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
            if (n >= 0) return {};
            if (errno != EINTR) return errno_error(std::string("send ") + what);
        }
    }

    /// One datagram; the span stays valid until the next receive().
    Result<std::span<const std::byte>> receive(const char* what) {
        iovec iov{buffer_.get(), recv_buffer_size};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        for (;;) {
            const auto n = SOCKLAB_SYS(recvmsg)(fd_.get(), &msg, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno_error(std::string("recv ") + what);
            if ((msg.msg_flags & MSG_TRUNC) != 0) {
                return make_error(std::errc::message_size, std::string("recv ") + what);
            }
            return std::span<const std::byte>(buffer_.get(), static_cast<std::size_t>(n));
        }
    }

  private:
    explicit DiagSocket(Fd fd) : fd_(std::move(fd)), buffer_(new std::byte[recv_buffer_size]) {}

    Fd fd_;
    std::unique_ptr<std::byte[]> buffer_;
};

/// Runs one dump and decodes its replies into `out`, handing each datagram to
/// `sink` (when given) once it decoded cleanly.
Result<void> run_dump(DiagSocket& sock, const Query& query, DumpRequest request, std::uint32_t seq,
                      std::vector<SocketRecord>& out, const ChunkSink* sink) {
    const std::string context = detail::describe(request);
    const auto message = detail::build_request(query, request, seq);
    if (auto sent = sock.send(message, context.c_str()); !sent) return sent.error();
    for (bool done = false; !done;) {
        auto chunk = sock.receive(context.c_str());
        if (!chunk) return chunk.error();
        auto decoded = detail::decode_replies(*chunk, request, out);
        if (!decoded) return decoded.error();
        if (sink != nullptr) {
            if (auto kept = (*sink)(request, *chunk, out); !kept) return kept.error();
        }
        done = *decoded;
    }
    return {};
}

/// The kernel answers ENOENT when no diag module handles a protocol (raw_diag
/// is often not loaded); the dump ended cleanly and /proc/net still lists them.
bool kernel_cannot_dump(const Error& e) {
    return e.code == std::errc::no_such_file_or_directory;
}

/// Only `request`'s protocol and family of `query`.
Query narrowed(const Query& query, DumpRequest request) {
    Query q = query;
    q.tcp = request.netid == Netid::tcp;
    q.udp = request.netid == Netid::udp;
    q.raw = request.netid == Netid::raw;
    q.unix_ = request.netid == Netid::unix_;
    q.ipv4 = request.family == Family::inet;
    q.ipv6 = request.family == Family::inet6;
    return q;
}

class NetlinkSource final : public SocketSource {
  public:
    explicit NetlinkSource(DiagSocket sock) : sock_(std::move(sock)) {}

    Result<std::vector<SocketRecord>> dump(const Query& query) override {
        std::vector<SocketRecord> out;
        out.reserve(estimate_socket_count(query));
        if (auto res = run(query, out, nullptr); !res) return res.error();
        return out;
    }

    Result<void> dump_each(const Query& query, const RecordBatchSink& sink) override {
        std::vector<SocketRecord> batch;
        const ChunkSink pass_on = [&](DumpRequest, std::span<const std::byte>,
                                      std::vector<SocketRecord>& records) -> Result<void> {
            auto res = sink(records);
            records.clear();  // keeps the capacity: no allocation per datagram
            return res;
        };
        return run(query, batch, &pass_on);
    }

    std::string_view name() const override { return "netlink"; }

  private:
    /// Every dump of the query; a protocol the kernel cannot dump comes from /proc/net.
    Result<void> run(const Query& query, std::vector<SocketRecord>& out, const ChunkSink* sink) {
        if (!sock_) {
            auto reopened = DiagSocket::open();
            if (!reopened) return reopened.error();
            sock_ = std::move(*reopened);
        }
        for (const DumpRequest request : detail::plan_requests(query)) {
            const std::size_t before = out.size();
            auto res = run_dump(*sock_, query, request, ++seq_, out, sink);
            if (res) continue;
            out.resize(before);
            if (!kernel_cannot_dump(res.error())) {
                // Replies of the failed dump may still be queued: start afresh next time.
                sock_.reset();
                return res.error();
            }
            auto from_proc = make_procfs_source()->dump(narrowed(query, request));
            if (!from_proc) return from_proc.error();
            std::move(from_proc->begin(), from_proc->end(), std::back_inserter(out));
            if (sink != nullptr) {
                if (auto kept = (*sink)(request, {}, out); !kept) return kept.error();
            }
        }
        return {};
    }

    std::optional<DiagSocket> sock_;
    std::uint32_t seq_ = 0;
};

}  // namespace

Result<std::unique_ptr<SocketSource>> make_netlink_source() {
    auto sock = DiagSocket::open();
    if (!sock) return sock.error();
    return std::unique_ptr<SocketSource>(std::make_unique<NetlinkSource>(std::move(*sock)));
}

Result<void> record_dump(const Query& query, const std::string& path) {
    auto sock = DiagSocket::open();
    if (!sock) return sock.error();
    auto writer = DumpWriter::create(path);
    if (!writer) return writer.error();
    std::uint32_t seq = 0;
    std::vector<SocketRecord> records;
    const ChunkSink keep = [&](DumpRequest r, std::span<const std::byte> chunk,
                               std::vector<SocketRecord>& decoded) -> Result<void> {
        decoded.clear();
        return writer->append(r, chunk);
    };
    for (const DumpRequest request : detail::plan_requests(query)) {
        // A protocol the kernel cannot dump (ENOENT) is left out of the recording.
        auto res = run_dump(*sock, query, request, ++seq, records, &keep);
        if (!res && !kernel_cannot_dump(res.error())) return res.error();
    }
    return writer->finish();
}

Result<void> destroy_socket(const SocketRecord& record) {
    const std::string context = "destroy " + std::string(netid_name(record.netid)) + " " +
                                record.local.addr.to_string() + ":" +
                                std::to_string(record.local.port);
    if (record.netid == Netid::unix_) {
        return make_error(std::errc::operation_not_supported, context);
    }
    auto sock = DiagSocket::open();
    if (!sock) return sock.error();
    const auto message = detail::build_destroy(record, 1);
    if (auto sent = sock->send(message, context.c_str()); !sent) return sent.error();
    auto reply = sock->receive(context.c_str());
    if (!reply) return reply.error();
    return detail::decode_ack(*reply, context);
}

}  // namespace socklab::diag
