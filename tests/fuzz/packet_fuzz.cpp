// libFuzzer target for the packet decoder (IPv4, IPv6 with extension headers, TCP
// and its options) and the state machine it feeds. Each input is a run of packets,
// each prefixed by a one-byte length and a one-byte fate.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "socklab/packet.hpp"

using namespace socklab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> all(data, size);
    // The whole input as one packet first: the decoder must refuse or agree with itself.
    if (auto s = packet::decode(all)) {
        if (s->wire_length > size && s->wire_length < s->payload) std::abort();
        (void)packet::flags_text(s->flags);
        (void)packet::tcpdump_flags(s->flags);
    }
    packet::Machine m;
    std::size_t at = 0;
    for (int n = 0; n < 64 && at + 2 <= size; ++n) {
        const std::size_t len = std::min<std::size_t>(all[at], size - at - 2);
        const auto fate = static_cast<packet::Fate>(all[at + 1] % 3);
        auto s = packet::decode(all.subspan(at + 2, len));
        at += 2 + len;
        if (!s) continue;
        const auto step = m.feed(*s, fate);
        if (step.sender == TcpState::unknown) std::abort();  // a sender always has a state
        (void)m.state(s->src, s->dst);
    }
    return 0;
}
