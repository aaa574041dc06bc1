// libFuzzer target for the filter parser: parse random words and, when they parse, check
// that the bytecode passes the kernel's audit and agrees with user-space evaluation.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "filter_oracle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Longer inputs only slow the search down; the parser caps its input itself.
    if (size > 4096) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto words = socklab::filter::oracle::words_of(text);
    for (const bool unix_only : {false, true}) {
        if (const auto failure = socklab::filter::oracle::check_words(words, unix_only)) {
            std::fprintf(stderr, "filter_fuzz: %s\n", failure->c_str());
            std::abort();
        }
    }
    return 0;
}
