// packet: a TCP state machine of our own (RFC 9293 section 3.3.2) driven by segments.
#include "socklab/packet.hpp"

namespace socklab::packet {
namespace {

/// a >= b in sequence space (RFC 9293 3.4: modulo 2^32).
bool seq_ge(std::uint32_t a, std::uint32_t b) {
    return static_cast<std::int32_t>(a - b) >= 0;
}

bool same(const Endpoint& a, const Endpoint& b) {
    return a.port == b.port && a.addr == b.addr;
}

}  // namespace

const Machine::End* Machine::find(const Endpoint& local, const Endpoint& peer) const {
    for (const auto& e : ends_)
        if (same(e.local, local) && same(e.peer, peer)) return &e;
    return nullptr;
}

Machine::End& Machine::end(const Endpoint& local, const Endpoint& peer) {
    if (const End* e = find(local, peer)) return const_cast<End&>(*e);
    End e;
    e.local = local;
    e.peer = peer;
    ends_.push_back(e);
    return ends_.back();
}

std::optional<TcpState> Machine::state(const Endpoint& local, const Endpoint& peer) const {
    const End* e = find(local, peer);
    if (e == nullptr) return std::nullopt;
    return e->state;
}

Step Machine::feed(const Segment& s, Fate fate) {
    End& tx = end(s.src, s.dst);
    // What the sender's own segment does to it: SYN opens, FIN closes, RST aborts.
    if (s.has(syn) && !tx.isn) {
        tx.isn = s.seq;
        if (tx.state == TcpState::close || tx.state == TcpState::listen)
            tx.state = s.has(ack) ? TcpState::syn_recv : TcpState::syn_sent;
    }
    if (s.has(rst)) {
        tx.state = TcpState::close;
    } else if (s.has(fin) && !tx.fin_seq) {
        tx.fin_seq = s.seq + s.payload + (s.has(syn) ? 1U : 0U);
        if (tx.state == TcpState::established || tx.state == TcpState::syn_recv)
            tx.state = TcpState::fin_wait1;
        else if (tx.state == TcpState::close_wait)
            tx.state = TcpState::last_ack;
    }
    Step step;
    step.fate = fate;
    step.sender = tx.state;
    const std::optional<std::uint32_t> tx_isn = tx.isn;
    End* rx = const_cast<End*>(find(s.dst, s.src));
    if (tx_isn) step.rel_seq = s.seq - *tx_isn;
    if (rx != nullptr && rx->isn) step.rel_ack = s.ack - *rx->isn;
    step.relative = tx_isn && (!s.has(ack) || (rx != nullptr && rx->isn));
    if (rx == nullptr) return step;
    if (fate == Fate::delivered) {
        TcpState& st = rx->state;
        if (s.has(rst)) {
            st = TcpState::close;
        } else {
            if (s.has(ack) && rx->isn) {
                if (st == TcpState::syn_sent && s.has(syn) && seq_ge(s.ack, *rx->isn + 1))
                    st = TcpState::established;
                else if (st == TcpState::syn_recv && seq_ge(s.ack, *rx->isn + 1))
                    st = TcpState::established;
                if (rx->fin_seq && !rx->fin_acked && seq_ge(s.ack, *rx->fin_seq + 1)) {
                    rx->fin_acked = true;
                    if (st == TcpState::fin_wait1)
                        st = TcpState::fin_wait2;
                    else if (st == TcpState::closing)
                        st = TcpState::time_wait;
                    else if (st == TcpState::last_ack)
                        st = TcpState::close;
                }
            }
            if (s.has(fin)) {
                if (st == TcpState::established || st == TcpState::syn_recv)
                    st = TcpState::close_wait;
                else if (st == TcpState::fin_wait1)
                    st = TcpState::closing;
                else if (st == TcpState::fin_wait2)
                    st = TcpState::time_wait;
            }
        }
    }
    step.receiver = rx->state;
    return step;
}

}  // namespace socklab::packet
