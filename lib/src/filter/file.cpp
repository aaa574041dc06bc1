// filter: reading a filter file (`sockls -F FILE`) with a bound, before any parsing.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>

#include "socklab/filter.hpp"

namespace socklab::filter {
namespace {

Error file_error(std::string_view path, std::string_view why) {
    return make_error(std::errc::invalid_argument, fmt::format("{}: {}", path, why));
}

// read_all() reads at most `limit` + 1 bytes, so "longer than the limit" is seen
// without reading the rest (a /dev/zero or a growing pipe never fills memory).
Result<std::string> read_bounded(int fd, std::string_view path, std::size_t limit) {
    auto text = read_all(fd, limit);
    if (text) return text;
    if (text.error().code == std::errc::file_too_large)
        return file_error(path, fmt::format("longer than {} KiB", limit / 1024));
    return Error{text.error().code, std::string(path)};
}

}  // namespace

Result<std::vector<std::string>> read_filter_file(const std::string& path) {
    if (path.empty()) return file_error("''", "empty file name");
    Fd owned;
    int fd = STDIN_FILENO;
    if (path != "-") {
        owned = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
        if (!owned) return errno_error(path);
        fd = owned.get();
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_error(path);
    // A regular file is sized before reading; a pipe or terminal (`-F -`, `<(...)`)
    // has no size and is read up to the limit; a directory reads as EISDIR (read(2))
    // and a block device is a disk, never a filter: both refused before any read.
    if (S_ISDIR(st.st_mode)) return errno_error(path, EISDIR);
    if (S_ISREG(st.st_mode)) {
        if (static_cast<std::uint64_t>(st.st_size) > max_filter_file_bytes)
            return file_error(path,
                              fmt::format("longer than {} KiB", max_filter_file_bytes / 1024));
    } else if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        return file_error(path, "not a regular file or a pipe");
    }
    auto text = read_bounded(fd, path, max_filter_file_bytes);
    if (!text) return text.error();
    // A NUL is no filter text: it would cut every message that quotes the word.
    if (const auto nul = text->find('\0'); nul != std::string::npos) {
        const auto line =
            1 + std::count(text->begin(), text->begin() + static_cast<std::ptrdiff_t>(nul), '\n');
        return file_error(path, fmt::format("line {}: a NUL byte (not a text file)", line));
    }
    return split_filter_text(*text);
}

}  // namespace socklab::filter
