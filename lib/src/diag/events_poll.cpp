// events: the polling source — one timed sock_diag dump per refresh.
#include "socklab/events.hpp"

namespace socklab::diag {

std::string_view origin_name(EventOrigin origin) {
    switch (origin) {
        case EventOrigin::poll:
            return "poll";
        case EventOrigin::destroy:
            return "destroy";
        case EventOrigin::tracepoint:
            return "tracepoint";
    }
    return "?";
}

Result<Snapshot> take_snapshot(SocketSource& source, const Query& query) {
    // The time is taken before the dump: every socket in it is at least this new,
    // which is what the Tracker needs to order the dump against live events.
    Snapshot snap;
    snap.time = std::chrono::system_clock::now();
    auto records = source.dump(query);
    if (!records) return records.error();
    snap.records = std::move(records).value();
    return snap;
}

}  // namespace socklab::diag
