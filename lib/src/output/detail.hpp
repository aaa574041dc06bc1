// output internals: the chunked writer and the text pieces every renderer shares.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <utility>

#include "socklab/output.hpp"

namespace socklab::output::detail {

/// A small stack buffer for one field (an address, a port); grows on the heap if needed.
using Field = fmt::basic_memory_buffer<char, 128>;

inline std::string_view view(const Field& f) {
    return {f.data(), f.size()};
}

/// Appends a decimal number without parsing a format string (the hot path at 100k rows).
template <class Buffer>
void append_uint(Buffer& out, std::uint64_t v) {
    const fmt::format_int text(v);
    out.append(text.data(), text.data() + text.size());
}

/// Collects output and hands it to the Sink in chunks of about 64 KiB, so a render
/// of 100k rows never builds one giant string.
class Writer {
  public:
    explicit Writer(const Sink& sink) : sink_(sink) { buf_.reserve(kChunk + 4096); }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() = default;

    void put(std::string_view s) { buf_.append(s); }
    void put(char c) { buf_.push_back(c); }
    void spaces(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            buf_.push_back(' ');
    }
    template <class... Args>
    void format(fmt::format_string<Args...> f, Args&&... args) {
        fmt::format_to(std::back_inserter(buf_), f, std::forward<Args>(args)...);
    }
    /// Ends a row: flushes when a chunk is full.
    void end_row() {
        if (buf_.size() >= kChunk) flush();
    }
    /// Hands whatever is buffered to the sink. Call once at the end of a render.
    void flush() {
        if (buf_.size() == 0) return;
        sink_(std::string_view(buf_.data(), buf_.size()));
        buf_.clear();
    }

  private:
    static constexpr std::size_t kChunk = 64 * 1024;
    const Sink& sink_;
    fmt::memory_buffer buf_;
};

/// Appends `text` left-aligned in `width` columns (no cut when longer), like "%-*s".
template <class Buffer>
void append_left(Buffer& out, std::string_view text, std::size_t width) {
    out.append(text);
    for (std::size_t n = text.size(); n < width; ++n)
        out.push_back(' ');
}

/// Appends a number right-aligned in `width` columns, like "%*lu".
template <class Buffer>
void append_right(Buffer& out, std::uint64_t v, std::size_t width) {
    const fmt::format_int text(v);
    for (std::size_t n = text.size(); n < width; ++n)
        out.push_back(' ');
    out.append(text.data(), text.data() + text.size());
}

/// Numeric address text: "127.0.0.1", "::1", "::ffff:10.0.0.1" (no brackets).
void append_numeric_host(Field& out, const IpAddr& addr);
/// Host text: the resolver's name with -r, else numeric.
void append_host(Field& out, const IpAddr& addr, const RenderOptions& options);
/// Port text: "*" for 0, a service name unless -n, else the number.
void append_port(Field& out, std::uint32_t port, Netid netid, const RenderOptions& options);

/// The ss rows (header, two-pass column widths, -p -e -o -i -m).
void render_ss(std::span<const SocketRecord> records, const RenderOptions& options, Writer& out);
/// Which of netstat's two table headers are already written (they come lazily,
/// so rows arriving in batches share one header each).
struct NetstatHeaders {
    bool inet = false;
    bool unix_ = false;
};
/// net-tools netstat rows (inet table then unix table), headers written as needed.
void render_netstat(std::span<const SocketRecord> records, const RenderOptions& options,
                    Writer& out, NetstatHeaders& headers);
/// Ends a netstat render: an empty one still shows the internet table's header.
void finish_netstat(const RenderOptions& options, Writer& out, NetstatHeaders& headers);
/// Windows `netstat -an` rows.
void render_windows(std::span<const SocketRecord> records, const RenderOptions& options,
                    Writer& out);
/// json (one array), jsonl (one object a line). For arrays, `objects` counts the
/// objects written so far (brackets and commas span batches); finish_json closes.
void render_json(std::span<const SocketRecord> records, const RenderOptions& options, bool lines,
                 Writer& out, std::size_t& objects);
void finish_json(bool lines, Writer& out, std::size_t objects);
/// RFC 4180 CSV with a header row.
void render_csv(std::span<const SocketRecord> records, const RenderOptions& options, Writer& out);

}  // namespace socklab::output::detail
