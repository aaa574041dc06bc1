// Reads and writes the framed dump files of recorded sock_diag replies.
#include "diag/dump_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace

Result<DumpFile> read_dump_file(const std::string& path) {
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error("dump " + path);
    DumpFile file;
    std::array<std::byte, 65536> buf{};
    for (;;) {
        const auto n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("dump " + path);
        if (n == 0) break;
        file.data.insert(file.data.end(), buf.begin(), buf.begin() + n);
    }
    const auto magic = detail::dump_magic;
    if (file.data.size() < magic.size() ||
        std::memcmp(file.data.data(), magic.data(), magic.size()) != 0) {
        return bad_dump(path, "not a socklab dump (bad magic)");
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
    std::span<const std::byte> rest(data_);
    while (!rest.empty()) {
        const auto n = ::write(fd_.get(), rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("dump " + path_);
        rest = rest.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace socklab::diag
