// filter: the tokeniser of the filter language.
#include "filter/lexer.hpp"

#include <array>

namespace socklab::filter {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_punct(char c) {
    return c == '(' || c == ')' || c == '!' || c == '=' || c == '<' || c == '>' || c == '&' ||
           c == '|';
}

struct Punct {
    std::string_view text;
    Token::Type type;
};

// Longest spellings first so "<=" wins over "<".
constexpr std::array<Punct, 13> kPuncts{{
    {"&&", Token::Type::amp},
    {"||", Token::Type::pipe},
    {"==", Token::Type::eq},
    {"!=", Token::Type::ne},
    {"<=", Token::Type::le},
    {">=", Token::Type::ge},
    {"(", Token::Type::lparen},
    {")", Token::Type::rparen},
    {"!", Token::Type::bang},
    {"&", Token::Type::amp},
    {"|", Token::Type::pipe},
    {"=", Token::Type::eq},
    {"<", Token::Type::lt},
}};

}  // namespace

std::vector<Token> tokenize(std::string_view text) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (is_space(text[i])) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        if (is_punct(text[i])) {
            Token t{Token::Type::gt, text.substr(i, 1), i + 1};  // '>' is the one not in the table
            for (const auto& p : kPuncts) {
                if (text.substr(i, p.text.size()) == p.text) {
                    t = Token{p.type, text.substr(i, p.text.size()), i + 1};
                    break;
                }
            }
            i += t.text.size();
            out.push_back(t);
            continue;
        }
        while (i < text.size() && !is_space(text[i]) && !is_punct(text[i]))
            ++i;
        out.push_back(Token{Token::Type::word, text.substr(start, i - start), start + 1});
    }
    out.push_back(Token{Token::Type::end, {}, text.size() + 1});
    return out;
}

}  // namespace socklab::filter
