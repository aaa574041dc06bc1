// filter: the recursive-descent parser from words to one AST (states + expression).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <exception>
#include <fstream>
#include <new>
#include <string>
#include <utility>

#include "filter/ast.hpp"
#include "filter/lexer.hpp"
#include "filter/operand.hpp"
#include "socklab/filter.hpp"

namespace socklab::filter {
namespace {

/// Grammar (lowest precedence first; unlike ss, `and` binds tighter than `or`):
///   filter  := { state-clause | expr }
///   expr    := and { ("or" | "|" | "||") and }
///   and     := unary { [("and" | "&" | "&&")] unary }      juxtaposition is `and`
///   unary   := ("not" | "!") unary | "(" expr ")" | cond
///   cond    := ("sport"|"dport") [op] PORT | ("src"|"dst") [= | !=] HOST
///            | "dev" [= | !=] NAME | "autobound"
class Parser {
  public:
    Parser(std::vector<Token> tokens, const ParseOptions& options, StateMask default_states)
        : toks_(std::move(tokens)), options_(options) {
        filter_.states = default_states;
    }

    /// Whether `autobound` appeared: only then is the ephemeral range read.
    [[nodiscard]] bool uses_autobound() const { return uses_autobound_; }

    Filter run() {
        Node top{Node::Kind::all_of, {}, {}, {}, 0};
        while (peek().type != Token::Type::end) {
            if (is_state_word(peek())) {
                state_clause();
                continue;
            }
            top.children.push_back(expr(0));
            const Token& t = peek();
            if (t.type != Token::Type::end && !is_state_word(t))
                fail(t.col, fmt::format("unexpected '{}'", t.text));
        }
        if (filter_.explicit_states && (filter_.states & ~state_bit(TcpState::unknown)) == 0)
            fail(last_state_col_, "the state selection leaves no state");
        if (!top.children.empty())
            filter_.expr = std::make_shared<const Node>(simplify(std::move(top)));
        return filter_;
    }

  private:
    const Token& peek() const { return toks_[pos_]; }
    const Token& next() {
        const Token& t = toks_[pos_];
        if (t.type != Token::Type::end) ++pos_;
        return t;
    }
    bool peek_word(std::string_view w) const {
        return peek().type == Token::Type::word && peek().text == w;
    }
    static bool is_state_word(const Token& t) {
        return t.type == Token::Type::word &&
               (t.text == "state" || t.text == "exclude" || t.text == "excl");
    }
    [[noreturn]] static void fail(std::size_t col, std::string what) {
        throw ParseFailure{col, std::move(what)};
    }

    // `state NAME` / `exclude NAME`: the first `state` clears the default set, the
    // first `exclude` starts from every state (ss semantics).
    void state_clause() {
        const Token& kw = next();
        const Token& name = peek();
        if (name.type != Token::Type::word || is_state_word(name))
            fail(name.col, fmt::format("expected a state name after '{}'", kw.text));
        const auto mask = parse_state_word(name.text);
        if (!mask) fail(name.col, fmt::format("unknown state '{}'", name.text));
        next();
        if (kw.text == "state") {
            if (!filter_.explicit_states) filter_.states = 0;
            filter_.states |= *mask;
        } else {
            if (!filter_.explicit_states) filter_.states = all_states_mask;
            filter_.states &= ~*mask;
        }
        filter_.explicit_states = true;
        last_state_col_ = kw.col;
    }

    Node expr(int depth) {
        Node n{Node::Kind::any_of, {}, {}, {}, 0};
        n.children.push_back(conjunction(depth));
        while (peek().type == Token::Type::pipe || peek_word("or")) {
            next();
            n.children.push_back(conjunction(depth));
        }
        return simplify(std::move(n));
    }

    bool starts_unary() const {
        const Token& t = peek();
        if (t.type == Token::Type::lparen || t.type == Token::Type::bang) return true;
        return t.type == Token::Type::word && t.text != "or" && t.text != "and" &&
               !is_state_word(t);
    }

    Node conjunction(int depth) {
        Node n{Node::Kind::all_of, {}, {}, {}, 0};
        n.children.push_back(unary(depth));
        for (;;) {
            if (peek().type == Token::Type::amp || peek_word("and")) {
                next();
                n.children.push_back(unary(depth));
            } else if (starts_unary()) {
                n.children.push_back(unary(depth));
            } else {
                break;
            }
        }
        return simplify(std::move(n));
    }

    Node unary(int depth) {
        const Token& t = peek();
        if (depth >= max_depth)
            fail(t.col, fmt::format("nesting deeper than {} levels", max_depth));
        if (t.type == Token::Type::bang || peek_word("not")) {
            next();
            return negate(unary(depth + 1));
        }
        if (t.type == Token::Type::lparen) {
            const std::size_t open_col = t.col;
            next();
            if (peek().type == Token::Type::rparen)
                fail(peek().col, "expected a condition, got ')'");
            Node inner = expr(depth + 1);
            if (peek().type != Token::Type::rparen)
                fail(peek().col, fmt::format("expected ')' to close the '(' at col {}", open_col));
            next();
            return inner;
        }
        return condition();
    }

    Node condition() {
        const Token& t = peek();
        if (t.type == Token::Type::word) {
            if (t.text == "sport" || t.text == "dport") return port_condition();
            if (t.text == "src" || t.text == "dst") return host_condition();
            if (t.text == "dev") return dev_condition();
            if (t.text == "autobound") {
                next();
                uses_autobound_ = true;
                return Node{Node::Kind::autobound, {}, {}, {}, 0};
            }
        }
        if (t.type == Token::Type::end)
            fail(t.col, "expected a condition at the end of the filter");
        fail(t.col, fmt::format("expected a condition (sport, dport, src, dst, dev, autobound, "
                                "not, '('), got '{}'",
                                t.text));
    }

    enum class Op { none, eq, ne, lt, le, gt, ge };

    // The comparison after a keyword; `none` when the operand follows at once
    // (ss's optional `eq`: `sport :22`, `src 10.0.0.1`).
    Op comparison() {
        const Token& t = peek();
        Op op = Op::none;
        switch (t.type) {
            case Token::Type::eq:
                op = Op::eq;
                break;
            case Token::Type::ne:
                op = Op::ne;
                break;
            case Token::Type::lt:
                op = Op::lt;
                break;
            case Token::Type::le:
                op = Op::le;
                break;
            case Token::Type::gt:
                op = Op::gt;
                break;
            case Token::Type::ge:
                op = Op::ge;
                break;
            case Token::Type::word:
                op = comparison_word(t.text);
                break;
            default:
                break;
        }
        if (op != Op::none) next();
        return op;
    }

    static Op comparison_word(std::string_view w) {
        if (w == "eq") return Op::eq;
        if (w == "ne" || w == "neq") return Op::ne;
        if (w == "lt") return Op::lt;
        if (w == "le" || w == "leq") return Op::le;
        if (w == "gt") return Op::gt;
        if (w == "ge" || w == "geq") return Op::ge;
        return Op::none;
    }

    const Token& operand(std::string_view keyword, std::string_view what) {
        const Token& t = peek();
        if (t.type != Token::Type::word || t.text == "and" || t.text == "or" || is_state_word(t))
            fail(t.col, fmt::format("expected {} after '{}'", what, keyword));
        return next();
    }

    Node port_condition() {
        const Token& kw = next();
        const Side side = kw.text == "sport" ? Side::local : Side::peer;
        const Token& op_tok = peek();
        const Op op = comparison();
        if (options_.unix_only) return unix_condition(kw, op, op_tok, side);
        const Token& t = operand(kw.text, "a port");
        const std::int64_t p = parse_port_operand(t.text, t.col, kw.text, options_.inet_only);
        if (op == Op::none || op == Op::eq || op == Op::ne) {
            Node n{Node::Kind::host, {}, {}, {}, 0};
            n.host.side = side;
            n.host.port = p;
            return op == Op::ne ? negate(std::move(n)) : n;
        }
        if (p < 0) fail(t.col, "expected a port number to compare with, got '*'");
        Node n{Node::Kind::port_cmp, {}, {}, {}, 0};
        n.port.side = side;
        n.port.port = static_cast<std::uint32_t>(p);
        // The kernel has only >= and <=: a < b is not (a >= b), a > b is not (a <= b).
        n.port.op = (op == Op::ge || op == Op::lt) ? PortOp::ge : PortOp::le;
        return (op == Op::lt || op == Op::gt) ? negate(std::move(n)) : n;
    }

    Node host_condition() {
        const Token& kw = next();
        const Side side = kw.text == "src" ? Side::local : Side::peer;
        const Token& op_tok = peek();
        const Op op = comparison();
        if (op != Op::none && op != Op::eq && op != Op::ne)
            fail(op_tok.col, fmt::format("'{}' takes '=' or '!=', not '{}'", kw.text, op_tok.text));
        if (options_.unix_only) return unix_condition(kw, op, op_tok, side);
        const Token& t = operand(kw.text, "an address");
        Node n{Node::Kind::any_of, {}, {}, {}, 0};
        auto conds = parse_host_operand(t.text, t.col, options_.resolve_hosts, options_.inet_only);
        if (const auto fam = options_.only_family) {
            const auto other = [fam](const HostCond& c) {
                return c.addr && c.addr->family != *fam;
            };
            if (std::all_of(conds.begin(), conds.end(), other))
                fail(t.col, fmt::format("'{}' is {}, but only {} sockets are listed ({})", t.text,
                                        *fam == Family::inet ? "IPv6" : "IPv4",
                                        *fam == Family::inet ? "IPv4" : "IPv6",
                                        *fam == Family::inet ? "-4" : "-6"));
            std::erase_if(conds, other);
        }
        for (auto& c : conds) {
            Node leaf{Node::Kind::host, {}, {}, {}, 0};
            leaf.host = std::move(c);
            leaf.host.side = side;
            n.children.push_back(std::move(leaf));
        }
        Node result = simplify(std::move(n));
        return op == Op::ne ? negate(std::move(result)) : result;
    }

    // With only unix tables every operand is a path glob, as ss reads it then
    // (ss(8): preferred family AF_UNIX): `src /run/*`, `dport = :22` is the path ":22".
    Node unix_condition(const Token& kw, Op op, const Token& op_tok, Side side) {
        if (op != Op::none && op != Op::eq && op != Op::ne)
            fail(op_tok.col,
                 fmt::format("'{}' on unix sockets takes '=' or '!=' and a path, not '{}'", kw.text,
                             op_tok.text));
        const Token& t = operand(kw.text, "a path");
        std::string_view path = t.text;
        if (path.substr(0, 5) == "unix:") path.remove_prefix(5);
        Node n{Node::Kind::host, {}, {}, {}, 0};
        n.host.side = side;
        n.host.unix_pattern = std::string(path);
        return op == Op::ne ? negate(std::move(n)) : n;
    }

    Node dev_condition() {
        const Token& kw = next();
        const Token& op_tok = peek();
        const Op op = comparison();
        if (op != Op::none && op != Op::eq && op != Op::ne)
            fail(op_tok.col, fmt::format("'dev' takes '=' or '!=', not '{}'", op_tok.text));
        const Token& t = operand(kw.text, "a device name or index");
        Node n{Node::Kind::dev, {}, {}, {}, parse_device_operand(t.text, t.col)};
        return op == Op::ne ? negate(std::move(n)) : n;
    }

    static Node negate(Node inner) {
        if (inner.kind == Node::Kind::negate) return std::move(inner.children.front());
        Node n{Node::Kind::negate, {}, {}, {}, 0};
        n.children.push_back(std::move(inner));
        return n;
    }

    // A one-operand and/or is its operand; nested same-kind lists are flattened.
    static Node simplify(Node n) {
        if (n.kind != Node::Kind::all_of && n.kind != Node::Kind::any_of) return n;
        if (n.children.size() == 1) return std::move(n.children.front());
        std::vector<Node> flat;
        for (auto& c : n.children) {
            if (c.kind == n.kind) {
                for (auto& g : c.children)
                    flat.push_back(std::move(g));
            } else {
                flat.push_back(std::move(c));
            }
        }
        n.children = std::move(flat);
        return n;
    }

    std::vector<Token> toks_;
    bool uses_autobound_ = false;
    std::size_t pos_ = 0;
    std::size_t last_state_col_ = 1;
    const ParseOptions& options_;
    Filter filter_;
};

// "32768\t60999\n" from /proc/sys/net/ipv4/ip_local_port_range; the default when
// the file is missing or odd. The sysctl is one short line: 64 bytes bound the read.
void read_port_range(const std::string& path, Filter& f) {
    if (path.empty()) return;
    std::ifstream in(path);
    std::array<char, 64> buf{};
    in.read(buf.data(), buf.size());
    const auto n = static_cast<std::size_t>(in.gcount());
    if (const auto range = parse_ephemeral_range(std::string_view(buf.data(), n))) {
        f.ephemeral_lo = range->lo;
        f.ephemeral_hi = range->hi;
    }
}

// Keeps absurd inputs (a fuzzer's megabyte of parentheses) from costing memory.
constexpr std::size_t max_text = 64 * 1024;

}  // namespace

Result<Filter> parse(std::span<const std::string> words, StateMask default_states,
                     const ParseOptions& options) {
    try {
        std::string text;
        for (const auto& w : words) {
            if (!text.empty()) text.push_back(' ');
            text += w;
            if (text.size() > max_text)
                return make_error(std::errc::invalid_argument,
                                  fmt::format("the filter is longer than {} bytes", max_text));
        }
        Parser p(tokenize(text), options, default_states);
        Filter f = p.run();
        // Only a filter that asks for `autobound` needs the range: no file read otherwise.
        if (p.uses_autobound()) read_port_range(options.port_range_file, f);
        return f;
    } catch (const ParseFailure& e) {
        return make_error(std::errc::invalid_argument, fmt::format("col {}: {}", e.col, e.what));
    } catch (const std::bad_alloc&) {
        return make_error(std::errc::not_enough_memory, "parsing the filter");
    } catch (const std::exception& e) {
        return make_error(std::errc::invalid_argument, fmt::format("the filter: {}", e.what()));
    }
}

Result<Filter> parse(std::span<const std::string> words, StateMask default_states) {
    return parse(words, default_states, ParseOptions{});
}

std::vector<std::string> split_filter_text(std::string_view text) {
    std::vector<std::string> words;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        const std::size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#') continue;
        std::size_t i = first;
        while (i < line.size()) {
            const std::size_t end = line.find_first_of(" \t\r", i);
            const std::size_t stop = end == std::string_view::npos ? line.size() : end;
            if (stop > i) words.emplace_back(line.substr(i, stop - i));
            i = stop + 1;
        }
    }
    return words;
}

}  // namespace socklab::filter
