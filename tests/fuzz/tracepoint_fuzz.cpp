// libFuzzer target for the tracepoint's binary side: format files (field offsets)
// and raw ring-buffer pages decoded with a layout. The first byte picks which.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "socklab/events.hpp"

namespace {

using namespace socklab;

/// A layout shaped like the kernel's (tests/golden/trace/), built once.
const diag::SetStateLayout& layout() {
    static const diag::SetStateLayout l = [] {
        constexpr std::string_view text =
            "name: inet_sock_set_state\nID: 2287\nformat:\n"
            "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
            "\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n"
            "\tfield:int oldstate;\toffset:16;\tsize:4;\tsigned:1;\n"
            "\tfield:int newstate;\toffset:20;\tsize:4;\tsigned:1;\n"
            "\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;\n"
            "\tfield:__u16 dport;\toffset:26;\tsize:2;\tsigned:0;\n"
            "\tfield:__u16 family;\toffset:28;\tsize:2;\tsigned:0;\n"
            "\tfield:__u16 protocol;\toffset:30;\tsize:2;\tsigned:0;\n"
            "\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;\n"
            "\tfield:__u8 daddr[4];\toffset:36;\tsize:4;\tsigned:0;\n"
            "\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;\n"
            "\tfield:__u8 daddr_v6[16];\toffset:56;\tsize:16;\tsigned:0;\n";
        auto format = diag::parse_trace_format(text);
        if (!format) __builtin_trap();
        auto lay = diag::set_state_layout(*format);
        if (!lay) __builtin_trap();
        return *lay;
    }();
    return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    if (data[0] % 2 == 0) {
        const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
        if (auto format = diag::parse_trace_format(text)) {
            // A fuzzed layout may point anywhere: the decoder must still stay in bounds.
            if (auto l = diag::set_state_layout(*format))
                (void)diag::decode_trace_page(rest, *l, {});
        }
    } else {
        (void)diag::decode_trace_page(rest, layout(), {});
    }
    return 0;
}
