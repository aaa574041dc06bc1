// output: format names, the render entry points, and the text pieces shared by renderers.
#include <arpa/inet.h>

#include <array>

#include "output/detail.hpp"

namespace socklab::output {
namespace {

struct FormatName {
    std::string_view name;
    Format format;
};
constexpr std::array<FormatName, 6> kFormats{{
    {"ss", Format::ss},
    {"netstat", Format::netstat},
    {"windows", Format::windows},
    {"json", Format::json},
    {"jsonl", Format::jsonl},
    {"csv", Format::csv},
}};

struct GroupName {
    std::string_view name;
    GroupBy by;
};
constexpr std::array<GroupName, 3> kGroups{{
    {"port", GroupBy::port},
    {"process", GroupBy::process},
    {"peer", GroupBy::peer},
}};

/// The name column of a keyword table, for help texts and CLI11's checks.
template <class Row, std::size_t N>
constexpr std::array<std::string_view, N> names_of(const std::array<Row, N>& rows) {
    std::array<std::string_view, N> out{};
    for (std::size_t i = 0; i < N; ++i)
        out[i] = rows[i].name;
    return out;
}
constexpr auto kFormatNames = names_of(kFormats);
constexpr auto kGroupNames = names_of(kGroups);

void append_octet(detail::Field& out, std::uint8_t byte) {
    unsigned v = byte;
    char digits[3];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        out.push_back(digits[--n]);
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
    for (const auto& f : kFormats)
        if (f.name == name) return f.format;
    return std::nullopt;
}

std::span<const std::string_view> format_names() {
    return kFormatNames;
}

std::span<const std::string_view> group_by_names() {
    return kGroupNames;
}

std::optional<GroupBy> parse_group_by(std::string_view name) {
    for (const auto& g : kGroups)
        if (g.name == name) return g.by;
    return std::nullopt;
}

struct StreamRenderer::Impl {
    Impl(const RenderOptions& o, Sink s) : options(o), sink(std::move(s)), out(sink) {}
    RenderOptions options;
    Sink sink;  // declared before `out`, which keeps a reference to it
    detail::Writer out;
    bool header_done = false;
    std::size_t objects = 0;
    detail::NetstatHeaders netstat;

    /// The options for the next batch: the header only until one was written.
    RenderOptions batch_options() const {
        RenderOptions o = options;
        o.header = options.header && !header_done;
        return o;
    }
};

StreamRenderer::StreamRenderer(const RenderOptions& options, Sink sink)
    : impl_(std::make_unique<Impl>(options, std::move(sink))) {}

StreamRenderer::~StreamRenderer() = default;

void StreamRenderer::add(std::span<const SocketRecord> batch) {
    if (batch.empty()) return;
    Impl& s = *impl_;
    const RenderOptions o = s.batch_options();
    switch (o.format) {
        case Format::ss:
            detail::render_ss(batch, o, s.out);
            break;
        case Format::netstat:
            detail::render_netstat(batch, s.options, s.out, s.netstat);
            break;
        case Format::windows:
            detail::render_windows(batch, o, s.out);
            break;
        case Format::json:
        case Format::jsonl:
            detail::render_json(batch, o, o.format == Format::jsonl, s.out, s.objects);
            break;
        case Format::csv:
            detail::render_csv(batch, o, s.out);
            break;
    }
    s.header_done = true;
}

void StreamRenderer::finish() {
    Impl& s = *impl_;
    const RenderOptions o = s.batch_options();
    const std::span<const SocketRecord> none;
    switch (o.format) {
        case Format::netstat:
            detail::finish_netstat(s.options, s.out, s.netstat);
            break;
        case Format::json:
        case Format::jsonl:
            detail::finish_json(o.format == Format::jsonl, s.out, s.objects);
            break;
        case Format::ss:
            if (!s.header_done) detail::render_ss(none, o, s.out);
            break;
        case Format::windows:
            if (!s.header_done) detail::render_windows(none, o, s.out);
            break;
        case Format::csv:
            if (!s.header_done) detail::render_csv(none, o, s.out);
            break;
    }
    s.header_done = true;
    s.out.flush();
}

void render(std::span<const SocketRecord> records, const RenderOptions& options, const Sink& sink) {
    StreamRenderer r(options, sink);
    r.add(records);
    r.finish();
}

std::string render_to_string(std::span<const SocketRecord> records, const RenderOptions& options) {
    std::string text;
    render(records, options, [&text](std::string_view chunk) { text.append(chunk); });
    return text;
}

namespace detail {

void append_numeric_host(Field& out, const IpAddr& addr) {
    if (addr.family == Family::inet) {
        // Hand-made dotted quad: inet_ntop is the hot spot at 100k rows.
        for (std::size_t i = 0; i < 4; ++i) {
            if (i != 0) out.push_back('.');
            append_octet(out, addr.bytes[i]);
        }
        return;
    }
    char buf[INET6_ADDRSTRLEN] = {};
    if (::inet_ntop(AF_INET6, addr.bytes.data(), buf, sizeof buf) == nullptr) {
        out.push_back('?');
        return;
    }
    out.append(std::string_view(buf));
}

void append_host(Field& out, const IpAddr& addr, const RenderOptions& options) {
    if (options.resolve_hosts && options.resolver != nullptr) {
        const std::string name = options.resolver->host(addr);
        if (!name.empty()) {
            out.append(name);
            return;
        }
    }
    append_numeric_host(out, addr);
}

void append_port(Field& out, std::uint32_t port, Netid netid, const RenderOptions& options) {
    if (port == 0) {
        out.push_back('*');
        return;
    }
    if (!options.numeric_ports && options.resolver != nullptr) {
        const std::string name = options.resolver->service(port, netid);
        if (!name.empty()) {
            out.append(name);
            return;
        }
    }
    append_uint(out, port);
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF), or 0 when the byte starts none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
    return n;
}

}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
    constexpr std::string_view hex = "0123456789abcdef";
    out.push_back('"');
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        if (c >= 0x80) {
            if (const std::size_t n = utf8_sequence(s, i); n != 0) {
                out.append(s.substr(i, n));
                i += n;
                continue;
            }
        }
        out.push_back('\\');
        switch (c) {
            case '"':
                out.push_back('"');
                break;
            case '\\':
                out.push_back('\\');
                break;
            case '\n':
                out.push_back('n');
                break;
            case '\r':
                out.push_back('r');
                break;
            case '\t':
                out.push_back('t');
                break;
            case '\b':
                out.push_back('b');
                break;
            case '\f':
                out.push_back('f');
                break;
            default:
                // Control characters and stray non-UTF-8 bytes: \u00XX (the byte as
                // a Latin-1 code point), so any path still gives valid JSON.
                out.append(std::string_view("u00"));
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xf]);
        }
        ++i;
    }
    out.push_back('"');
}

}  // namespace detail
}  // namespace socklab::output
