// dump_file: the framed file format of recorded sock_diag replies (record_dump / replay).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/detail/netlink_decode.hpp"

namespace socklab::diag {

// Format: detail::dump_magic, then frames until the end of the file. A frame is
// 1 byte netid, 1 byte family (model.hpp enum values), 2 zero bytes, a 4-byte
// little-endian length, then that many bytes: one datagram of netlink replies
// exactly as recvmsg() returned it (host byte order of the recording machine).

/// One recorded datagram and the dump it answered.
struct DumpFrame {
    detail::DumpRequest request;
    std::span<const std::byte> bytes;  ///< points into DumpFile::data
};

/// A whole dump file in memory.
struct DumpFile {
    std::vector<std::byte> data;
    std::vector<DumpFrame> frames;
    bool ss_format = false;  ///< written by `ss -D FILE` (raw TCP replies, no magic)
};

/// The largest dump read_dump_file() accepts. A recorded datagram holds a few hundred
/// bytes per socket, so this is far beyond any host's listing and still bounds memory.
inline constexpr std::uint64_t max_dump_bytes = 256ULL << 20;

/// Reads and splits a dump file: ours (magic and frames) or what `ss -D FILE`
/// writes (raw netlink replies of TCP dumps, no header: told by its first nlmsghdr;
/// every dump in it, where ss reads TCPDIAG_FILE up to the first NLMSG_DONE).
/// Checked before the data is read: only a regular
/// file (a directory, FIFO or device is refused), then the magic, then the size
/// (at most max_dump_bytes). A bad magic, unknown netid/family or a frame longer
/// than the file gives an Error with context "dump PATH".
[[nodiscard]] Result<DumpFile> read_dump_file(const std::string& path);

/// Collects frames in memory and writes the file once in finish().
class DumpWriter {
  public:
    /// Checks that `path` can be created (truncates it).
    [[nodiscard]] static Result<DumpWriter> create(std::string path);
    [[nodiscard]] Result<void> append(detail::DumpRequest request,
                                      std::span<const std::byte> bytes);
    [[nodiscard]] Result<void> finish();

  private:
    DumpWriter(std::string path, Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
    std::string path_;
    Fd fd_;
    std::vector<std::byte> data_;
};

}  // namespace socklab::diag
