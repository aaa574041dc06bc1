// filter: the tokeniser of the filter language (works on the words joined by spaces).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace socklab::filter {

/// Punctuation is split off words, so `sport=:22` and `(dport` tokenise as ss's
/// spaced forms do; keywords (`and`, `eq`, `state`...) stay words and the parser
/// reads them by position.
struct Token {
    enum class Type : std::uint8_t {
        word,
        lparen,
        rparen,
        bang,  ///< !
        amp,   ///< & &&
        pipe,  ///< | ||
        eq,    ///< = ==
        ne,    ///< !=
        lt,    ///< <
        le,    ///< <=
        gt,    ///< >
        ge,    ///< >=
        end,
    };
    Type type = Type::end;
    std::string_view text;
    std::size_t col = 0;  ///< 1-based column in the joined text
};

/// Splits `text` into tokens; the last one is always `end` (at the column after
/// the text). Never fails: every character belongs to some token.
[[nodiscard]] std::vector<Token> tokenize(std::string_view text);

}  // namespace socklab::filter
