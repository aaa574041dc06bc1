// socklab app: where the host's sockets come from (sock_diag and /proc, via diag and proc).
#include "report.hpp"

namespace socklab::app {

std::unique_ptr<diag::SocketSource> open_diag() {
    return nullptr;
}

Result<std::vector<SocketRecord>> read_host(bool) {
    return make_error(std::errc::function_not_supported, "the diag module is not merged yet");
}

}  // namespace socklab::app
