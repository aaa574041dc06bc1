// report (private): the word-wrapping every renderer of socklab's texts shares.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace socklab::report::detail {

/// Word-wraps `text` to 78 columns: the first line starts with `indent`, the others
/// with `indent` and `hang` more spaces (for "- " items).
[[nodiscard]] std::string wrap(std::string_view text, std::string_view indent,
                               std::size_t hang = 0);

}  // namespace socklab::report::detail
