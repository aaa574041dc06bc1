// model: the one writer of the socket object (JSON and CSV), its escapers and the shared text
// rules.
#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>

#include "socklab/model.hpp"

namespace socklab {
namespace {

// The contract (JSON CONTRACT in sockls(1)): base keys of every socket object, in this order.
constexpr std::array<std::string_view, 12> kKeys{
    "netid",     "family", "state",  "local_addr", "local_port", "peer_addr",
    "peer_port", "recv_q", "send_q", "inode",      "uid",        "cookie",
};
constexpr std::size_t kStateKey = 2;

// JSON's two-character escapes (RFC 8259 section 7): the byte and the letter after '\\'.
struct ShortEscape {
    unsigned char byte;
    char letter;
};
constexpr std::array<ShortEscape, 7> kShortEscapes{{
    {'"', '"'},
    {'\\', '\\'},
    {'\n', 'n'},
    {'\r', 'r'},
    {'\t', 't'},
    {'\b', 'b'},
    {'\f', 'f'},
}};

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

// The address text of the contract: the path for unix, numeric for IP, the
// wildcard as the address it is ("0.0.0.0", "::"), never "*".
std::string_view address_text(const SocketRecord& r, const Endpoint& ep, HostText& buf) {
    if (r.family == Family::unix_) return ep.path;
    return numeric_host(ep.addr, buf);
}

// One scalar per base key, as text or as a number.
struct Scalar {
    bool is_string;
    std::string_view text;  // when is_string
    std::uint64_t number;   // otherwise
};

Scalar base_value(const SocketRecord& r, std::size_t i, std::string_view local,
                  std::string_view peer) {
    switch (i) {
        case 0:
            return {true, netid_name(r.netid), 0};
        case 1:
            return {true, family_name(r.family), 0};
        case 2:
            return {true, state_info(r.state).json, 0};
        case 3:
            return {true, local, 0};
        case 4:
            return {false, {}, r.local.port};
        case 5:
            return {true, peer, 0};
        case 6:
            return {false, {}, r.peer.port};
        case 7:
            return {false, {}, r.recv_q};
        case 8:
            return {false, {}, r.send_q};
        case 9:
            return {false, {}, r.inode};
        case 10:
            return {false, {}, r.uid};
        default:
            return {false, {}, r.cookie};
    }
}

void append_number(fmt::memory_buffer& out, std::uint64_t v) {
    const fmt::format_int text(v);
    out.append(text.data(), text.data() + text.size());
}

}  // namespace

std::span<const std::string_view> socket_keys() {
    return kKeys;
}

std::string_view numeric_host(const IpAddr& addr, HostText& buf) {
    if (addr.family == Family::inet) {
        // Hand-made dotted quad: inet_ntop is the hot spot at 100k rows.
        std::size_t n = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            if (i != 0) buf[n++] = '.';
            const unsigned v = addr.bytes[i];
            if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
            if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
            buf[n++] = static_cast<char>('0' + v % 10);
        }
        return {buf.data(), n};
    }
    static_assert(sizeof(HostText) >= INET6_ADDRSTRLEN);
    if (::inet_ntop(AF_INET6, addr.bytes.data(), buf.data(), INET6_ADDRSTRLEN) == nullptr)
        return "?";
    return {buf.data()};
}

std::string process_label(const Owner& owner) {
    return fmt::format("{}/{}", owner.pid, owner.comm);
}

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
        const auto esc = std::find_if(kShortEscapes.begin(), kShortEscapes.end(),
                                      [c](const ShortEscape& e) { return e.byte == c; });
        if (esc != kShortEscapes.end()) {
            out.push_back(esc->letter);
        } else {
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

void append_csv_field(fmt::memory_buffer& out, std::string_view s) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
        out.append(s);
        return;
    }
    out.push_back('"');
    for (char c : s) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
}

void append_socket_json(fmt::memory_buffer& out, const SocketRecord& r, bool with_state) {
    HostText local_buf{}, peer_buf{};
    const std::string_view local = address_text(r, r.local, local_buf);
    const std::string_view peer = address_text(r, r.peer, peer_buf);
    bool first = true;
    for (std::size_t i = 0; i < kKeys.size(); ++i) {
        if (i == kStateKey && !with_state) continue;
        if (!first) out.push_back(',');
        first = false;
        out.push_back('"');
        out.append(kKeys[i]);
        out.append(std::string_view("\":"));
        const Scalar v = base_value(r, i, local, peer);
        if (v.is_string)
            append_json_string(out, v.text);
        else
            append_number(out, v.number);
    }
}

void append_socket_csv(fmt::memory_buffer& out, const SocketRecord& r) {
    HostText local_buf{}, peer_buf{};
    const std::string_view local = address_text(r, r.local, local_buf);
    const std::string_view peer = address_text(r, r.peer, peer_buf);
    for (std::size_t i = 0; i < kKeys.size(); ++i) {
        if (i != 0) out.push_back(',');
        const Scalar v = base_value(r, i, local, peer);
        if (v.is_string)
            append_csv_field(out, v.text);
        else
            append_number(out, v.number);
    }
}

}  // namespace socklab
