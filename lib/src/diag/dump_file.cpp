// Reads and writes the framed dump files of recorded sock_diag replies.
#include "diag/dump_file.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace socklab::diag {
namespace {

constexpr std::size_t frame_header_size = 8;

std::byte byte_at(std::uint32_t value, unsigned index) {
    return static_cast<std::byte>((value >> (8 * index)) & 0xffU);
}

Error bad_dump(const std::string& path, const std::string& why) {
    return make_error(std::errc::invalid_argument, "dump " + path + ": " + why);
}

nlmsghdr header_at(std::span<const std::byte> bytes) {
    nlmsghdr h{};
    std::memcpy(&h, bytes.data(), sizeof h);
    return h;
}

// The first message of what `ss -D` writes: a sock_diag reply (or the end of an
// empty dump) whose length fits the netlink framing.
bool looks_like_netlink(std::span<const std::byte> head) {
    if (head.size() < sizeof(nlmsghdr)) return false;
    const nlmsghdr h = header_at(head);
    return h.nlmsg_len >= sizeof(nlmsghdr) && h.nlmsg_len <= max_dump_bytes &&
           (h.nlmsg_type == SOCK_DIAG_BY_FAMILY || h.nlmsg_type == NLMSG_DONE);
}

// ss's tcp_show_netlink_file(): messages one after another, each a TCP socket of
// the family in its inet_diag_msg. ss -D writes one NLMSG_DONE per dump (a v4 and
// a v6 dump hold two); ss replays up to the first, we read every dump (sockls(1),
// DIFFERENCES). Each message becomes a frame for the shared decoder; the file
// must end with an NLMSG_DONE (else it was cut).
Result<void> split_ss_dump(DumpFile& file, const std::string& path) {
    std::span<const std::byte> rest(file.data);
    bool done = false;
    while (!rest.empty()) {
        if (rest.size() < sizeof(nlmsghdr)) return bad_dump(path, "truncated netlink header");
        const nlmsghdr h = header_at(rest);
        if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > rest.size())
            return bad_dump(path, "netlink message past the end");
        const std::size_t step = std::min<std::size_t>(NLMSG_ALIGN(h.nlmsg_len), rest.size());
        done = h.nlmsg_type == NLMSG_DONE;
        if (done) {
            rest = rest.subspan(step);
            continue;
        }
        if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY)
            return bad_dump(path, fmt::format("netlink message type {} in an ss -D dump",
                                              static_cast<unsigned>(h.nlmsg_type)));
        if (h.nlmsg_len < sizeof(nlmsghdr) + 1) return bad_dump(path, "empty sock_diag message");
        const auto family = std::to_integer<unsigned>(rest[sizeof(nlmsghdr)]);
        if (family != AF_INET && family != AF_INET6)
            return bad_dump(path, fmt::format("address family {} in an ss -D dump", family));
        file.frames.push_back(
            {{Netid::tcp, family == AF_INET ? Family::inet : Family::inet6}, rest.first(step)});
        rest = rest.subspan(step);
    }
    if (!done) return bad_dump(path, "no NLMSG_DONE at the end of the ss -D dump");
    return {};
}

}  // namespace

namespace {

// Reads exactly data.size() bytes from `fd` (short when the file shrank meanwhile).
Result<std::size_t> read_full(int fd, std::span<std::byte> data, const std::string& path) {
    auto got = read_exact(fd, data);
    if (!got) return Error{got.error().code, "dump " + path};
    return got;
}

}  // namespace

Result<DumpFile> read_dump_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) return errno_error("dump " + path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error("dump " + path);
    // Only a regular file has a size to check before reading: a directory, FIFO or
    // device (/dev/zero never ends) is refused before a byte is read.
    if (S_ISDIR(st.st_mode)) return errno_error("dump " + path, EISDIR);
    if (!S_ISREG(st.st_mode)) return bad_dump(path, "not a regular file");
    const auto magic = detail::dump_magic;
    // Enough for the magic and for one netlink header: what `ss -D` writes has no
    // magic and starts with the first reply's nlmsghdr.
    constexpr std::size_t head_size = std::max(detail::dump_magic.size(), sizeof(nlmsghdr));
    DumpFile file;
    file.data.resize(head_size);
    auto got = read_full(fd.get(), file.data, path);
    if (!got) return got.error();
    file.data.resize(*got);
    const bool ours =
        *got >= magic.size() && std::memcmp(file.data.data(), magic.data(), magic.size()) == 0;
    if (!ours && !looks_like_netlink(file.data))
        return bad_dump(path, "not a socklab dump (bad magic)");
    // The start is right: now the size, still before reading the rest.
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > max_dump_bytes)
        return bad_dump(path, fmt::format("larger than {} MiB", max_dump_bytes >> 20));
    const std::size_t have = file.data.size();
    if (size > have) {
        file.data.resize(static_cast<std::size_t>(size));
        got = read_full(fd.get(), std::span(file.data).subspan(have), path);
        if (!got) return got.error();
        file.data.resize(have + *got);
    }
    if (!ours) {
        file.ss_format = true;
        if (auto split = split_ss_dump(file, path); !split) return split.error();
        return file;
    }
    std::span<const std::byte> rest(file.data);
    rest = rest.subspan(magic.size());
    while (!rest.empty()) {
        if (rest.size() < frame_header_size) return bad_dump(path, "truncated frame header");
        const auto netid = std::to_integer<unsigned>(rest[0]);
        const auto family = std::to_integer<unsigned>(rest[1]);
        std::uint32_t len = 0;
        for (unsigned i = 0; i < 4; ++i)
            len |= std::to_integer<std::uint32_t>(rest[4 + i]) << (8 * i);
        if (netid > static_cast<unsigned>(Netid::unix_) ||
            family > static_cast<unsigned>(Family::unix_)) {
            return bad_dump(path, "unknown netid or family in frame");
        }
        if (len > rest.size() - frame_header_size) return bad_dump(path, "frame past the end");
        file.frames.push_back({{static_cast<Netid>(netid), static_cast<Family>(family)},
                               rest.subspan(frame_header_size, len)});
        rest = rest.subspan(frame_header_size + len);
    }
    return file;
}

Result<DumpWriter> DumpWriter::create(std::string path) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return errno_error("dump " + path);
    DumpWriter w(std::move(path), std::move(fd));
    const auto magic = detail::dump_magic;
    const auto* p = reinterpret_cast<const std::byte*>(magic.data());
    w.data_.insert(w.data_.end(), p, p + magic.size());
    return w;
}

Result<void> DumpWriter::append(detail::DumpRequest request, std::span<const std::byte> bytes) {
    const auto len = static_cast<std::uint32_t>(bytes.size());
    data_.push_back(static_cast<std::byte>(request.netid));
    data_.push_back(static_cast<std::byte>(request.family));
    data_.push_back(std::byte{0});
    data_.push_back(std::byte{0});
    for (unsigned i = 0; i < 4; ++i)
        data_.push_back(byte_at(len, i));
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    return {};
}

Result<void> DumpWriter::finish() {
    // A recording is a file we wrote: close(2)'s error (a full disk on NFS) counts too.
    auto wrote = write_all(fd_.get(), data_);
    if (wrote) wrote = fd_.close();
    if (!wrote) return Error{wrote.error().code, "dump " + path_};
    return {};
}

}  // namespace socklab::diag
