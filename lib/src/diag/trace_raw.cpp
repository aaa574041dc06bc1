// events: the tracepoint's binary records (trace_pipe_raw) decoded by the offsets
// of its format file. The text outputs cannot carry both the socket address and
// the IPv6 addresses (`fields` prints the 16-byte arrays as <INVALID-SIZE>, the
// print format has no skaddr); the raw record has all of them.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include "socklab/events.hpp"

namespace socklab::diag {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::optional<std::uint32_t> parse_u32(std::string_view s) {
    s = trim(s);
    std::uint32_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

/// The value of `key:VALUE;` inside one format line.
std::optional<std::string_view> attribute(std::string_view line, std::string_view key) {
    const auto at = line.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(at + key.size());
    const auto semi = rest.find(';');
    if (semi == std::string_view::npos) return std::nullopt;
    return rest.substr(0, semi);
}

/// "const void * skaddr" -> "skaddr"; "__u8 saddr_v6[16]" -> "saddr_v6".
std::string_view field_name(std::string_view decl) {
    decl = trim(decl);
    const auto bracket = decl.find('[');
    if (bracket != std::string_view::npos) decl = trim(decl.substr(0, bracket));
    const auto sp = decl.find_last_of(" *\t");
    return sp == std::string_view::npos ? decl : decl.substr(sp + 1);
}

Error format_error(std::string what) {
    return make_error(std::errc::invalid_argument, "tracepoint format: " + what);
}

template <class T>
T load(std::span<const std::byte> data, std::size_t at) {
    T v{};
    std::memcpy(&v, data.data() + at, sizeof v);
    return v;
}

/// A field's bytes, or an empty span when the record is too short for it.
std::span<const std::byte> field_bytes(std::span<const std::byte> record, const TraceField& f) {
    if (f.offset > record.size() || f.size > record.size() - f.offset) return {};
    return record.subspan(f.offset, f.size);
}

std::optional<std::uint64_t> field_uint(std::span<const std::byte> record, const TraceField& f) {
    const auto b = field_bytes(record, f);
    switch (b.size()) {
        case 2:
            return load<std::uint16_t>(b, 0);
        case 4:
            return load<std::uint32_t>(b, 0);
        case 8:
            return load<std::uint64_t>(b, 0);
        default:
            return std::nullopt;
    }
}

bool copy_addr(std::span<const std::byte> record, const TraceField& f, IpAddr& out) {
    const auto b = field_bytes(record, f);
    if (b.empty() || b.size() > out.bytes.size()) return false;
    out.bytes = {};
    std::memcpy(out.bytes.data(), b.data(), b.size());
    return true;
}

constexpr std::uint64_t ipproto_tcp = 6;
constexpr std::uint64_t af_inet = 2, af_inet6 = 10;

std::optional<StateTransition> decode_record(std::span<const std::byte> record,
                                             const SetStateLayout& l,
                                             std::chrono::system_clock::time_point time) {
    if (record.size() < 2 || load<std::uint16_t>(record, 0) != l.id) return std::nullopt;
    const auto proto = field_uint(record, l.protocol), family = field_uint(record, l.family);
    const auto sport = field_uint(record, l.sport), dport = field_uint(record, l.dport);
    const auto olds = field_uint(record, l.oldstate), news = field_uint(record, l.newstate);
    const auto skaddr = field_uint(record, l.skaddr);
    if (!proto || !family || !sport || !dport || !olds || !news || !skaddr) return std::nullopt;
    if (*proto != ipproto_tcp || (*family != af_inet && *family != af_inet6)) return std::nullopt;
    StateTransition tr;
    tr.time = time;
    tr.skaddr = *skaddr;
    tr.old_state = state_from_kernel(static_cast<unsigned>(*olds));
    tr.new_state = state_from_kernel(static_cast<unsigned>(*news));
    SocketRecord& r = tr.socket;
    r.netid = Netid::tcp;
    r.state = tr.new_state;
    r.local.port = static_cast<std::uint32_t>(*sport);
    r.peer.port = static_cast<std::uint32_t>(*dport);
    const bool v4 = *family == af_inet;
    r.family = v4 ? Family::inet : Family::inet6;
    r.local.addr.family = r.peer.addr.family = r.family;
    tr.addresses_known = copy_addr(record, v4 ? l.saddr : l.saddr_v6, r.local.addr) &&
                         copy_addr(record, v4 ? l.daddr : l.daddr_v6, r.peer.addr);
    return tr;
}

// The ring buffer's page and event headers (events/header_page, header_event).
constexpr std::size_t page_header = 16;  ///< u64 timestamp, local_t commit
constexpr std::uint64_t missed_events = 1ULL << 31, missed_stored = 1ULL << 30;
constexpr std::uint64_t commit_flags = missed_events | missed_stored;
constexpr unsigned type_padding = 29, type_time_extend = 30, type_time_stamp = 31;
constexpr unsigned max_data_type = 28;
/// Absolute stamps carry the low 59 bits; the top ones come from the page.
constexpr std::uint64_t abs_ts_mask = (1ULL << 59) - 1;

}  // namespace

const TraceField* TraceFormat::field(std::string_view name) const {
    for (const auto& f : fields)
        if (f.name == name) return &f;
    return nullptr;
}

Result<TraceFormat> parse_trace_format(std::string_view text) {
    TraceFormat out;
    bool have_id = false;
    for (int lines = 0; !text.empty() && lines < 4096; ++lines) {
        const auto nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.substr(0, 3) == "ID:") {
            const auto id = parse_u32(line.substr(3));
            if (!id) return format_error("bad ID line");
            out.id = *id;
            have_id = true;
        } else if (line.substr(0, 6) == "field:") {
            const auto decl = attribute(line, "field:");
            const auto offset = attribute(line, "offset:");
            const auto size = attribute(line, "size:");
            if (!decl || !offset || !size) return format_error("field line without offset or size");
            const auto o = parse_u32(*offset), n = parse_u32(*size);
            const std::string_view name = field_name(*decl);
            if (!o || !n || name.empty()) return format_error("bad field line");
            out.fields.push_back(TraceField{std::string(name), *o, *n});
        }
    }
    if (!have_id) return format_error("no ID");
    return out;
}

Result<SetStateLayout> set_state_layout(const TraceFormat& format) {
    SetStateLayout l;
    l.id = format.id;
    if (format.id > 0xffff) return format_error("ID above 16 bits");
    struct Want {
        const char* name;
        TraceField SetStateLayout::*member;
        std::uint32_t min, max;
    };
    static constexpr Want wants[] = {
        {"skaddr", &SetStateLayout::skaddr, 4, 8},
        {"oldstate", &SetStateLayout::oldstate, 4, 4},
        {"newstate", &SetStateLayout::newstate, 4, 4},
        {"sport", &SetStateLayout::sport, 2, 2},
        {"dport", &SetStateLayout::dport, 2, 2},
        {"family", &SetStateLayout::family, 2, 2},
        {"protocol", &SetStateLayout::protocol, 2, 2},
        {"saddr", &SetStateLayout::saddr, 4, 4},
        {"daddr", &SetStateLayout::daddr, 4, 4},
        {"saddr_v6", &SetStateLayout::saddr_v6, 16, 16},
        {"daddr_v6", &SetStateLayout::daddr_v6, 16, 16},
    };
    for (const auto& w : wants) {
        const TraceField* f = format.field(w.name);
        if (f == nullptr) return format_error(std::string("no field ") + w.name);
        if (f->size < w.min || f->size > w.max || (f->size != w.min && f->size != w.max))
            return format_error(std::string("field ") + w.name + " has size " +
                                std::to_string(f->size));
        l.*w.member = *f;
    }
    return l;
}

TracePage decode_trace_page(std::span<const std::byte> page, const SetStateLayout& layout,
                            std::chrono::system_clock::duration clock_offset) {
    TracePage out;
    if (page.size() < page_header) return out;
    std::uint64_t ts = load<std::uint64_t>(page, 0);
    const std::uint64_t commit = load<std::uint64_t>(page, 8);
    const std::uint64_t length = commit & ~commit_flags & 0xffffffffULL;
    const std::span<const std::byte> data = page.subspan(page_header);
    const std::size_t end = static_cast<std::size_t>(std::min<std::uint64_t>(length, data.size()));
    if ((commit & missed_events) != 0) {
        out.lost = true;
        if ((commit & missed_stored) != 0 && end + sizeof(std::uint64_t) <= data.size())
            out.lost_count = load<std::uint64_t>(data, end);
    }
    const auto to_wall = [&](std::uint64_t ns) {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds(ns & abs_ts_mask)) +
            clock_offset);
    };
    std::size_t at = 0;
    // Each event is at least 4 bytes, so the count bounds the loop.
    for (std::size_t n = 0; n < data.size() / 4 && at + 4 <= end; ++n) {
        const auto word = load<std::uint32_t>(data, at);
        const unsigned type = word & 0x1f;
        const std::uint64_t delta = word >> 5;
        const auto array0 = [&]() -> std::optional<std::uint32_t> {
            if (at + 8 > end) return std::nullopt;
            return load<std::uint32_t>(data, at + 4);
        };
        if (type == type_padding) {
            const auto len = array0();
            if (delta == 0 || !len) break;  // the rest of the page is empty
            at += 4 + static_cast<std::size_t>(*len);
            continue;
        }
        if (type == type_time_extend || type == type_time_stamp) {
            const auto hi = array0();
            if (!hi) break;
            const std::uint64_t v = (static_cast<std::uint64_t>(*hi) << 27) | delta;
            ts = type == type_time_extend ? ts + v : (ts & ~abs_ts_mask) | v;
            at += 8;
            continue;
        }
        std::size_t start = 0, size = 0;
        if (type == 0) {
            const auto len = array0();
            if (!len || *len < 4) break;
            start = at + 8;
            size = *len - 4;
        } else if (type <= max_data_type) {
            start = at + 4;
            size = type * 4;
        }
        if (start + size > end || start + size < start) break;
        ts += delta;
        if (auto tr = decode_record(data.subspan(start, size), layout, to_wall(ts)))
            out.transitions.push_back(std::move(*tr));
        at = start + size;
    }
    return out;
}

}  // namespace socklab::diag
