// output: the machine formats (json, jsonl, csv): model's socket object plus -p -o -i -m parts.
#include <array>

#include "output/detail.hpp"

namespace socklab::output {
namespace {

using U64 = std::uint64_t;

template <class T>
struct NumberField {
    std::string_view name;
    U64 (*get)(const T&);
};

// Every TcpInfo field under its struct name (units in the name: _us, _ms).
constexpr std::array<NumberField<TcpInfo>, 43> kTcpFields{{
    {"ca_state", [](const TcpInfo& t) -> U64 { return t.ca_state; }},
    {"retransmits", [](const TcpInfo& t) -> U64 { return t.retransmits; }},
    {"probes", [](const TcpInfo& t) -> U64 { return t.probes; }},
    {"backoff", [](const TcpInfo& t) -> U64 { return t.backoff; }},
    {"options", [](const TcpInfo& t) -> U64 { return t.options; }},
    {"snd_wscale", [](const TcpInfo& t) -> U64 { return t.snd_wscale; }},
    {"rcv_wscale", [](const TcpInfo& t) -> U64 { return t.rcv_wscale; }},
    {"rto_us", [](const TcpInfo& t) -> U64 { return t.rto_us; }},
    {"ato_us", [](const TcpInfo& t) -> U64 { return t.ato_us; }},
    {"snd_mss", [](const TcpInfo& t) -> U64 { return t.snd_mss; }},
    {"rcv_mss", [](const TcpInfo& t) -> U64 { return t.rcv_mss; }},
    {"unacked", [](const TcpInfo& t) -> U64 { return t.unacked; }},
    {"sacked", [](const TcpInfo& t) -> U64 { return t.sacked; }},
    {"lost", [](const TcpInfo& t) -> U64 { return t.lost; }},
    {"retrans", [](const TcpInfo& t) -> U64 { return t.retrans; }},
    {"last_data_sent_ms", [](const TcpInfo& t) -> U64 { return t.last_data_sent_ms; }},
    {"last_data_recv_ms", [](const TcpInfo& t) -> U64 { return t.last_data_recv_ms; }},
    {"last_ack_recv_ms", [](const TcpInfo& t) -> U64 { return t.last_ack_recv_ms; }},
    {"pmtu", [](const TcpInfo& t) -> U64 { return t.pmtu; }},
    {"rcv_ssthresh", [](const TcpInfo& t) -> U64 { return t.rcv_ssthresh; }},
    {"rtt_us", [](const TcpInfo& t) -> U64 { return t.rtt_us; }},
    {"rttvar_us", [](const TcpInfo& t) -> U64 { return t.rttvar_us; }},
    {"snd_ssthresh", [](const TcpInfo& t) -> U64 { return t.snd_ssthresh; }},
    {"snd_cwnd", [](const TcpInfo& t) -> U64 { return t.snd_cwnd; }},
    {"advmss", [](const TcpInfo& t) -> U64 { return t.advmss; }},
    {"reordering", [](const TcpInfo& t) -> U64 { return t.reordering; }},
    {"rcv_rtt_us", [](const TcpInfo& t) -> U64 { return t.rcv_rtt_us; }},
    {"rcv_space", [](const TcpInfo& t) -> U64 { return t.rcv_space; }},
    {"total_retrans", [](const TcpInfo& t) -> U64 { return t.total_retrans; }},
    {"segs_out", [](const TcpInfo& t) -> U64 { return t.segs_out; }},
    {"segs_in", [](const TcpInfo& t) -> U64 { return t.segs_in; }},
    {"min_rtt_us", [](const TcpInfo& t) -> U64 { return t.min_rtt_us; }},
    {"bytes_acked", [](const TcpInfo& t) -> U64 { return t.bytes_acked; }},
    {"bytes_received", [](const TcpInfo& t) -> U64 { return t.bytes_received; }},
    {"bytes_sent", [](const TcpInfo& t) -> U64 { return t.bytes_sent; }},
    {"bytes_retrans", [](const TcpInfo& t) -> U64 { return t.bytes_retrans; }},
    {"delivery_rate", [](const TcpInfo& t) -> U64 { return t.delivery_rate; }},
    {"pacing_rate", [](const TcpInfo& t) -> U64 { return t.pacing_rate; }},
    {"busy_time_us", [](const TcpInfo& t) -> U64 { return t.busy_time_us; }},
    {"delivered", [](const TcpInfo& t) -> U64 { return t.delivered; }},
    {"notsent_bytes", [](const TcpInfo& t) -> U64 { return t.notsent_bytes; }},
    {"data_segs_out", [](const TcpInfo& t) -> U64 { return t.data_segs_out; }},
    {"data_segs_in", [](const TcpInfo& t) -> U64 { return t.data_segs_in; }},
}};

constexpr std::array<NumberField<MemInfo>, 9> kMemFields{{
    {"rmem_alloc", [](const MemInfo& m) -> U64 { return m.rmem_alloc; }},
    {"rcvbuf", [](const MemInfo& m) -> U64 { return m.rcvbuf; }},
    {"wmem_alloc", [](const MemInfo& m) -> U64 { return m.wmem_alloc; }},
    {"sndbuf", [](const MemInfo& m) -> U64 { return m.sndbuf; }},
    {"fwd_alloc", [](const MemInfo& m) -> U64 { return m.fwd_alloc; }},
    {"wmem_queued", [](const MemInfo& m) -> U64 { return m.wmem_queued; }},
    {"optmem", [](const MemInfo& m) -> U64 { return m.optmem; }},
    {"backlog", [](const MemInfo& m) -> U64 { return m.backlog; }},
    {"drops", [](const MemInfo& m) -> U64 { return m.drops; }},
}};

constexpr std::array<std::string_view, 3> kTimerFields{"kind", "expires_ms", "retrans"};

// Writes `"key":`, after a comma unless first.
void json_key(fmt::memory_buffer& b, std::string_view key, bool first) {
    if (!first) b.push_back(',');
    b.push_back('"');
    b.append(key);
    b.append(std::string_view("\":"));
}

template <class T, std::size_t N>
void json_numbers(fmt::memory_buffer& b, const std::array<NumberField<T>, N>& fields,
                  const T& value) {
    for (std::size_t i = 0; i < N; ++i) {
        json_key(b, fields[i].name, i == 0);
        detail::append_uint(b, fields[i].get(value));
    }
}

void json_optional_parts(fmt::memory_buffer& b, const SocketRecord& r, const RenderOptions& o) {
    auto it = std::back_inserter(b);
    if (r.family == Family::unix_) {
        b.append(std::string_view(",\"type\":"));
        append_json_string(b, unix_type_name(r.unix_type));
    }
    if (o.processes) {
        b.append(std::string_view(",\"processes\":["));
        for (std::size_t i = 0; i < r.owners.size(); ++i) {
            fmt::format_to(it, "{}{{\"pid\":{},\"comm\":", i == 0 ? "" : ",", r.owners[i].pid);
            append_json_string(b, r.owners[i].comm);
            fmt::format_to(it, ",\"fd\":{}}}", r.owners[i].fd);
        }
        b.push_back(']');
    }
    if (o.timers) {
        if (r.timer)
            fmt::format_to(it, ",\"timer\":{{\"kind\":\"{}\",\"expires_ms\":{},\"retrans\":{}}}",
                           timer_kind_name(r.timer->kind), r.timer->expires_ms, r.timer->retrans);
        else
            b.append(std::string_view(",\"timer\":null"));
    }
    if (o.info) {
        b.append(std::string_view(",\"tcp_info\":"));
        if (r.tcp_info) {
            b.push_back('{');
            json_numbers(b, kTcpFields, *r.tcp_info);
            b.append(std::string_view(",\"congestion\":"));
            append_json_string(b, r.tcp_info->congestion);
            b.push_back('}');
        } else {
            b.append(std::string_view("null"));
        }
    }
    if (o.memory) {
        b.append(std::string_view(",\"memory\":"));
        if (r.mem) {
            b.push_back('{');
            json_numbers(b, kMemFields, *r.mem);
            b.push_back('}');
        } else {
            b.append(std::string_view("null"));
        }
    }
}

void json_object(fmt::memory_buffer& b, const SocketRecord& r, const RenderOptions& o) {
    b.push_back('{');
    append_socket_json(b, r, true);
    json_optional_parts(b, r, o);
    b.push_back('}');
}

void csv_header(fmt::memory_buffer& b, const RenderOptions& o) {
    auto it = std::back_inserter(b);
    const auto keys = socket_keys();
    for (std::size_t i = 0; i < keys.size(); ++i)
        fmt::format_to(it, "{}{}", i == 0 ? "" : ",", keys[i]);
    b.append(std::string_view(",type"));
    if (o.processes) b.append(std::string_view(",processes"));
    // Nested objects flatten to object.field columns.
    if (o.timers)
        for (auto f : kTimerFields)
            fmt::format_to(it, ",timer.{}", f);
    if (o.info) {
        for (const auto& f : kTcpFields)
            fmt::format_to(it, ",tcp_info.{}", f.name);
        b.append(std::string_view(",tcp_info.congestion"));
    }
    if (o.memory)
        for (const auto& f : kMemFields)
            fmt::format_to(it, ",memory.{}", f.name);
    b.push_back('\n');
}

template <class T, std::size_t N>
void csv_numbers(fmt::memory_buffer& b, const std::array<NumberField<T>, N>& fields,
                 const T* value) {
    for (const auto& f : fields) {
        b.push_back(',');
        if (value != nullptr) detail::append_uint(b, f.get(*value));
    }
}

void csv_row(fmt::memory_buffer& b, const SocketRecord& r, const RenderOptions& o) {
    detail::Field text;
    append_socket_csv(b, r);
    b.push_back(',');
    b.append(unix_type_name(r.unix_type));
    if (o.processes) {
        for (std::size_t i = 0; i < r.owners.size(); ++i)
            fmt::format_to(std::back_inserter(text), "{}{}/{}", i == 0 ? "" : ";",
                           process_label(r.owners[i]), r.owners[i].fd);
        b.push_back(',');
        append_csv_field(b, detail::view(text));
    }
    if (o.timers) {
        if (r.timer)
            fmt::format_to(std::back_inserter(b), ",{},{},{}", timer_kind_name(r.timer->kind),
                           r.timer->expires_ms, r.timer->retrans);
        else
            b.append(std::string_view(",,,"));
    }
    if (o.info) {
        csv_numbers(b, kTcpFields, r.tcp_info ? &*r.tcp_info : nullptr);
        b.push_back(',');
        if (r.tcp_info) append_csv_field(b, r.tcp_info->congestion);
    }
    if (o.memory) csv_numbers(b, kMemFields, r.mem ? &*r.mem : nullptr);
    b.push_back('\n');
}

}  // namespace

std::span<const std::string_view> json_keys() {
    return socket_keys();
}

namespace detail {

void render_json(std::span<const SocketRecord> records, const RenderOptions& options, bool lines,
                 Writer& out, std::size_t& objects) {
    fmt::memory_buffer b;
    for (const auto& r : records) {
        b.clear();
        // An array's separator goes before each object after the first: the
        // last object of a batch may not be the last of the array.
        if (!lines) out.put(objects == 0 ? "[\n" : ",\n");
        json_object(b, r, options);
        if (lines) b.push_back('\n');
        out.put(std::string_view(b.data(), b.size()));
        out.end_row();
        ++objects;
    }
}

void finish_json(bool lines, Writer& out, std::size_t objects) {
    if (!lines) out.put(objects == 0 ? "[]\n" : "\n]\n");
}

void render_csv(std::span<const SocketRecord> records, const RenderOptions& options, Writer& out) {
    fmt::memory_buffer b;
    if (options.header) {
        csv_header(b, options);
        out.put(std::string_view(b.data(), b.size()));
    }
    for (const auto& r : records) {
        b.clear();
        csv_row(b, r, options);
        out.put(std::string_view(b.data(), b.size()));
        out.end_row();
    }
}

}  // namespace detail
}  // namespace socklab::output
