// packet: IPv4/IPv6/TCP decoding, a TCP state machine fed by segments (RFC 9293
// section 3.3.2), loopback capture (AF_PACKET) and pcap files (libpcap).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/model.hpp"

namespace socklab::packet {

// ---------------------------------------------------------------------------
// Decoding: bytes from the network layer (an IPv4 or IPv6 header first) to values.

/// TCP header flag bits (RFC 9293 section 3.1).
enum Flag : std::uint8_t {
    fin = 0x01,
    syn = 0x02,
    rst = 0x04,
    psh = 0x08,
    ack = 0x10,
    urg = 0x20,
    ece = 0x40,
    cwr = 0x80,
};

/// The TCP options a segment carried (RFC 9293 3.2, RFC 7323, RFC 2018).
struct TcpOptions {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> wscale;
    bool sack_permitted = false;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps;  ///< TSval, TSecr
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sack;          ///< left, right edges
};

/// One TCP segment as it was on the wire.
struct Segment {
    Endpoint src;
    Endpoint dst;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;   ///< the raw field, unscaled (as tcpdump prints it)
    std::uint32_t payload = 0;  ///< payload bytes per the IP lengths (even if not captured)
    TcpOptions options;
    std::chrono::nanoseconds time{0};  ///< capture time (CLOCK_REALTIME)
    std::vector<std::uint8_t> bytes;   ///< the captured bytes from the IP header on
    std::uint32_t wire_length = 0;     ///< the packet's length on the wire

    [[nodiscard]] bool has(Flag f) const { return (flags & f) != 0; }
};

/// Decodes one IPv4 or IPv6 packet carrying TCP. Every length is checked against
/// the bytes given and against the IP header's own lengths; IPv6 extension headers
/// (hop-by-hop, routing, destination options) are skipped; fragments other than the
/// first, non-TCP packets and truncated TCP headers are errors. `data` may be cut
/// after the TCP header (a snap length): the payload length comes from the IP header.
[[nodiscard]] Result<Segment> decode(std::span<const std::uint8_t> data);
/// Decodes the TCP options area (bytes after the fixed 20-byte header).
[[nodiscard]] Result<TcpOptions> decode_options(std::span<const std::uint8_t> options);

/// "SYN", "SYN-ACK", "ACK", "PSH-ACK", "FIN-ACK", "RST", "RST-ACK"...
[[nodiscard]] std::string flags_text(std::uint8_t flags);
/// tcpdump's flag letters: "[S]", "[S.]", "[.]", "[P.]", "[F.]", "[R]".
[[nodiscard]] std::string tcpdump_flags(std::uint8_t flags);

// ---------------------------------------------------------------------------
// The state machine: both ends of every connection, driven by what each one sends
// and what it accepts (RFC 9293 3.3.2; LISTEN is left to the caller).

/// What happened to a segment at its receiver, beyond the wire.
enum class Fate : std::uint8_t {
    delivered,  ///< the receiver processed it
    dropped,    ///< dropped on purpose before TCP saw it (a socket filter)
    ignored,    ///< TCP saw it and did nothing (TCP_DEFER_ACCEPT and a bare ACK)
};

/// One segment with the states both ends of its connection moved to.
struct Step {
    Fate fate = Fate::delivered;
    TcpState sender = TcpState::unknown;    ///< the sender's state after sending
    TcpState receiver = TcpState::unknown;  ///< the receiver's state after it (unknown: none)
    std::uint32_t rel_seq = 0;              ///< seq relative to the sender's ISN
    std::uint32_t rel_ack = 0;              ///< ack relative to the receiver's ISN
    bool relative = false;                  ///< both ISNs known (else the raw numbers)
};

/// Tracks every connection seen (keyed by 4-tuple). Pure: segments in, states out.
class Machine {
  public:
    /// Feeds one segment, in capture order; returns the states after it.
    Step feed(const Segment& s, Fate fate = Fate::delivered);
    /// The state of the end at `local` talking to `peer`; nullopt: no segment seen.
    [[nodiscard]] std::optional<TcpState> state(const Endpoint& local, const Endpoint& peer) const;

  private:
    struct End {
        Endpoint local;
        Endpoint peer;
        TcpState state = TcpState::close;
        std::optional<std::uint32_t> isn;
        std::optional<std::uint32_t> fin_seq;  ///< the sequence number of our FIN
        bool fin_acked = false;
    };
    End& end(const Endpoint& local, const Endpoint& peer);
    [[nodiscard]] const End* find(const Endpoint& local, const Endpoint& peer) const;
    std::vector<End> ends_;
};

// ---------------------------------------------------------------------------
// Capture on a loopback interface (needs CAP_NET_RAW in the network namespace's
// owner: root, or a private user namespace).

class Capture {
  public:
    /// An AF_PACKET socket bound to "lo" of the current network namespace, non-blocking.
    [[nodiscard]] static Result<Capture> open_loopback();
    /// Reads every packet queued now (outgoing copies skipped: on lo each packet is
    /// seen twice) and decodes the TCP ones; appends to the segments kept so far.
    Result<void> drain();
    [[nodiscard]] const std::vector<Segment>& segments() const { return segments_; }

  private:
    explicit Capture(Fd fd) : fd_(std::move(fd)) {}
    Fd fd_;
    std::vector<Segment> segments_;
};

/// Bytes kept of each packet: enough for any IPv6 + TCP header with options.
inline constexpr std::size_t snap_length = 256;

/// Writes the segments as a pcap file (libpcap, LINKTYPE_RAW) at `path`.
[[nodiscard]] Result<void> write_pcap(const std::string& path, std::span<const Segment> segments);

}  // namespace socklab::packet
