// libFuzzer target for every parser besides the filter's: netlink replies,
// recorded dump files, /proc/net files, tracepoint lines and the text parsers
// of options and sockcat's command line. The first byte picks the parser; the rest is its input.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/detail/netlink_decode.hpp"
#include "socklab/diag.hpp"
#include "socklab/events.hpp"
#include "socklab/model.hpp"
#include "socklab/net.hpp"
#include "socklab/watch.hpp"

namespace {

using namespace socklab;

constexpr Netid kNetids[] = {Netid::tcp, Netid::udp, Netid::raw, Netid::unix_};
constexpr Family kFamilies[] = {Family::inet, Family::inet6, Family::unix_};

void fuzz_netlink(std::uint8_t pick, std::span<const std::byte> data) {
    diag::detail::DumpRequest req;
    req.netid = kNetids[pick % 4];
    req.family = req.netid == Netid::unix_ ? Family::unix_ : kFamilies[(pick >> 2) % 2];
    std::vector<SocketRecord> out;
    (void)diag::detail::decode_replies(data, req, out);
    (void)diag::detail::decode_ack(data, "fuzz");
}

/// A file the parsers can open by path: a memfd, named through /proc/self/fd.
std::string memfd_path(std::span<const std::byte> data, Fd& fd) {
    fd.reset(::memfd_create("socklab-fuzz", MFD_CLOEXEC));
    if (!fd) std::abort();
    std::size_t off = 0;
    while (off < data.size()) {
        const auto n = ::write(fd.get(), data.data() + off, data.size() - off);
        if (n <= 0) std::abort();
        off += static_cast<std::size_t>(n);
    }
    return "/proc/self/fd/" + std::to_string(fd.get());
}

void fuzz_replay(std::span<const std::byte> data) {
    Fd fd;
    const std::string path = memfd_path(data, fd);
    auto src = diag::make_replay_source(path);
    if (!src) return;
    diag::Query q;
    q.udp = q.raw = q.unix_ = true;
    (void)(*src)->dump(q);
}

void fuzz_procfs(std::uint8_t pick, std::span<const std::byte> data) {
    // One scratch tree per process; each input overwrites one of its files.
    static const std::filesystem::path root = [] {
        // Under TMPDIR when set: scripts/fuzz points it at a directory it removes,
        // as libFuzzer's exit leaves this tree behind.
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "socklab-fuzz-procXXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
        std::filesystem::create_directories(std::filesystem::path(tmpl) / "net");
        return std::filesystem::path(tmpl);
    }();
    static constexpr const char* kFiles[] = {"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix"};
    for (const char* f : kFiles)
        std::ofstream(root / "net" / f, std::ios::trunc);
    {
        std::ofstream out(root / "net" / kFiles[pick % 7], std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data.data()), static_cast<long>(data.size()));
    }
    diag::Query q;
    q.udp = q.raw = q.unix_ = true;
    (void)diag::make_procfs_source(root.string())->dump(q);
}

/// sockcat's command line: lines starting with '-' are options ("-w=3", "-l"), the others
/// operands, as sockcat's CLI11 layer hands them to convert_options().
void fuzz_cat_line(std::string_view text) {
    net::RawCatOptions raw;
    raw.stdin_is_tty = !text.empty() && text.front() == '-';
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (line.empty() || line.front() != '-') {
            raw.operands.emplace_back(line);
            continue;
        }
        const auto eq = line.find('=', 1);
        const auto name = line.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1);
        (void)net::check_cat_keyword(name, value);
        raw.given.emplace_back(name, value);
    }
    (void)net::convert_options(raw);
}

void fuzz_text(std::uint8_t pick, std::string_view text) {
    if (pick >= 0xf0) return fuzz_cat_line(text);
    switch (pick % 10) {
        case 0:
            (void)parse_uint(text, 0, ~0ULL);
            break;
        case 1:
            (void)parse_duration(text);
            break;
        case 2:
            (void)parse_state_word(text);
            break;
        case 3:
            (void)IpAddr::parse(text);
            break;
        case 4:
            (void)net::parse_port(text, (pick & 0x10) != 0);
            break;
        case 5:
            (void)net::parse_port_range(text);
            break;
        case 6:
            (void)net::parse_keepalive(text);
            break;
        case 7:
            (void)watch::parse_warn(text);
            break;
        case 8:
            (void)parse_state(text);
            break;
        default:
            (void)diag::parse_trace_line(text, std::chrono::system_clock::duration{});
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t which = data[0];
    const std::uint8_t pick = data[1];
    const std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data + 2), size - 2);
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    switch (which % 4) {
        case 0:
            fuzz_netlink(pick, rest);
            break;
        case 1:
            fuzz_replay(rest);
            break;
        case 2:
            fuzz_procfs(pick, rest);
            break;
        default:
            fuzz_text(pick, text);
            break;
    }
    return 0;
}
