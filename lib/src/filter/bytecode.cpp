// filter: the AST compiled to inet_diag bytecode (INET_DIAG_REQ_BYTECODE) so the kernel filters.
#include <linux/inet_diag.h>
#include <sys/socket.h>

#include <cstring>
#include <limits>

#include "filter/ast.hpp"
#include "socklab/filter.hpp"

namespace socklab::filter {
namespace {

// How the kernel runs a program (inet_diag_bc_run in net/ipv4/inet_diag.c): each op
// {code, yes, no} tests the socket, then skips `yes` bytes when true and `no` bytes
// when false. Reaching the end exactly accepts; jumping to end + 4 rejects.
// inet_diag_bc_audit() only follows the `yes` chain and insists every `no` lands on
// an op of that chain (or on end / end + 4), so every op here has yes = its own
// length and all branching is done with `no`: conditions fall through when true and
// jump to a label when false; INET_DIAG_BC_JMP (never true) jumps unconditionally.
struct Op {
    std::uint8_t code = INET_DIAG_BC_NOP;
    std::vector<std::byte> payload;  ///< what follows the 4-byte op header
    int target = 0;                  ///< label index the op jumps to when false
};

class Compiler {
  public:
    Compiler() { labels_.push_back(reject_); }  // label 0: end + 4, the reject exit

    std::vector<std::byte> run(const Node& root) {
        emit(root, 0);
        return assemble();
    }

  private:
    static constexpr int reject_ = -2;  // label position meaning "end + 4"
    static constexpr int unplaced_ = -1;

    int new_label() {
        labels_.push_back(unplaced_);
        return static_cast<int>(labels_.size() - 1);
    }
    void place(int label) {
        labels_[static_cast<std::size_t>(label)] = static_cast<int>(ops_.size());
    }

    template <class T>
    void op(std::uint8_t code, const T& payload, int on_false) {
        Op o{code, std::vector<std::byte>(sizeof(T)), on_false};
        std::memcpy(o.payload.data(), &payload, sizeof(T));
        ops_.push_back(std::move(o));
    }
    void op(std::uint8_t code, int on_false) { ops_.push_back(Op{code, {}, on_false}); }

    // Code that falls through when `n` is true and jumps to `on_false` when not.
    void emit(const Node& n, int on_false) {
        switch (n.kind) {
            case Node::Kind::all_of:
                for (const auto& c : n.children)
                    emit(c, on_false);
                return;
            case Node::Kind::any_of: {
                const int done = new_label();
                for (std::size_t i = 0; i + 1 < n.children.size(); ++i) {
                    const int next = new_label();
                    emit(n.children[i], next);
                    op(INET_DIAG_BC_JMP, done);
                    place(next);
                }
                emit(n.children.back(), on_false);
                place(done);
                return;
            }
            case Node::Kind::negate: {
                const int was_false = new_label();
                emit(n.children.front(), was_false);
                op(INET_DIAG_BC_JMP, on_false);
                place(was_false);
                return;
            }
            case Node::Kind::host:
                return host(n.host, on_false);
            case Node::Kind::port_cmp:
                return port(n.port, on_false);
            case Node::Kind::dev:
                return op(INET_DIAG_BC_DEV_COND, n.ifindex, on_false);
            case Node::Kind::autobound:
                // The kernel's notion: the port was not chosen by bind() with an explicit
                // port (no SOCK_BINDPORT_LOCK); TIME_WAIT and request sockets count as autobound.
                return op(INET_DIAG_BC_AUTO, on_false);
        }
    }

    void host(const HostCond& c, int on_false) {
        // A unix path pattern, or a "port" only an inode can have, never matches an inet socket.
        if (c.unix_pattern || c.port > 65535) return op(INET_DIAG_BC_JMP, on_false);
        const std::size_t alen = !c.addr ? 0 : c.addr->family == Family::inet ? 4 : 16;
        inet_diag_hostcond hc{};
        hc.family = !c.addr ? AF_UNSPEC : c.addr->family == Family::inet ? AF_INET : AF_INET6;
        hc.prefix_len = static_cast<std::uint8_t>(c.prefix_len);
        hc.port = static_cast<int>(c.port);
        Op o{static_cast<std::uint8_t>(c.side == Side::local ? INET_DIAG_BC_S_COND
                                                             : INET_DIAG_BC_D_COND),
             std::vector<std::byte>(sizeof hc + alen), on_false};
        std::memcpy(o.payload.data(), &hc, sizeof hc);
        if (alen) std::memcpy(o.payload.data() + sizeof hc, c.addr->bytes.data(), alen);
        ops_.push_back(std::move(o));
    }

    void port(const PortCmp& p, int on_false) {
        // Past 65535 (unix inodes): >= never holds for an inet port, <= always does
        // (no code at all: fall through as true).
        if (p.port > 65535) {
            if (p.op == PortOp::ge) op(INET_DIAG_BC_JMP, on_false);
            return;
        }
        const bool local = p.side == Side::local;
        const auto code = p.op == PortOp::ge ? (local ? INET_DIAG_BC_S_GE : INET_DIAG_BC_D_GE)
                                             : (local ? INET_DIAG_BC_S_LE : INET_DIAG_BC_D_LE);
        // The port travels in the `no` field of a second, never-executed op.
        const inet_diag_bc_op arg{0, 0, static_cast<unsigned short>(p.port)};
        op(static_cast<std::uint8_t>(code), arg, on_false);
    }

    std::vector<std::byte> assemble() const {
        std::vector<std::size_t> offset(ops_.size() + 1, 0);
        for (std::size_t i = 0; i < ops_.size(); ++i)
            offset[i + 1] = offset[i] + sizeof(inet_diag_bc_op) + ops_[i].payload.size();
        const std::size_t end = offset.back();
        // `no` is 16 bits and the netlink attribute length too: too big for the kernel.
        if (end == 0 || end + 4 > std::numeric_limits<std::uint16_t>::max() - 64) return {};
        std::vector<std::byte> out(end);
        for (std::size_t i = 0; i < ops_.size(); ++i) {
            const int pos = labels_[static_cast<std::size_t>(ops_[i].target)];
            const std::size_t target =
                pos == reject_ ? end + 4 : offset[static_cast<std::size_t>(pos)];
            const std::size_t len = sizeof(inet_diag_bc_op) + ops_[i].payload.size();
            const inet_diag_bc_op head{ops_[i].code, static_cast<unsigned char>(len),
                                       static_cast<unsigned short>(target - offset[i])};
            std::memcpy(out.data() + offset[i], &head, sizeof head);
            if (!ops_[i].payload.empty())
                std::memcpy(out.data() + offset[i] + sizeof head, ops_[i].payload.data(),
                            ops_[i].payload.size());
        }
        return out;
    }

    std::vector<Op> ops_;
    std::vector<int> labels_;
};

}  // namespace

std::vector<std::byte> compile_bytecode(const Filter& filter) {
    if (!filter.expr) return {};
    return Compiler{}.run(*filter.expr);
}

}  // namespace socklab::filter
