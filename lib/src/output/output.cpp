// output: format names, the render entry points, and the text pieces shared by renderers.
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
    HostText buf{};
    out.append(numeric_host(addr, buf));
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

}  // namespace detail
}  // namespace socklab::output
