// term: the live table model — rows from events, highlights, sort, filter, scroll, lines.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "socklab/term.hpp"

namespace socklab::term {

namespace {

constexpr int proto_width = 5;
constexpr int state_width = 11;
constexpr int min_addr_width = 15;
constexpr int min_process_width = 8;
/// Sent and Recv: up to 9 digits (999 MB) before the column is cut.
constexpr int bytes_width = 9;

/// Marks where text was cut: one ASCII column on every terminal.
constexpr char cut_mark = '>';

/// `s` padded to `width`, or cut to it with the cut mark as its last column.
std::string fit(std::string s, std::size_t width) {
    if (s.size() > width) {
        s.resize(width);
        if (width > 0) s.back() = cut_mark;
    }
    s.append(width - s.size(), ' ');
    return s;
}

std::string right(std::string_view s, std::size_t width) {
    std::string out;
    if (s.size() < width) out.append(width - s.size(), ' ');
    out += s.substr(0, width);
    return out;
}

/// The status text `s` ended by the key help, as long a form of it as fits in
/// `width`; when only the shortest fits, `s` is cut (with the mark) to leave it room.
std::string with_help(std::string s, std::size_t width) {
    constexpr std::array<std::string_view, 2> forms{
        " | q quit p pause s/</> sort r reverse / filter", " | q p s</> r /"};
    for (const auto f : forms)
        if (s.size() + f.size() <= width) return s + std::string(f);
    const auto room = width > forms.back().size() ? width - forms.back().size() : 0;
    if (s.size() > room) s = fit(std::move(s), room);
    return s + std::string(forms.back());
}

auto endpoint_key(const Endpoint& e) {
    return std::tie(e.addr.family, e.addr.bytes, e.port, e.path);
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ')
            ++i;
        const std::size_t start = i;
        while (i < text.size() && text[i] != ' ')
            ++i;
        if (i > start) words.emplace_back(text.substr(start, i - start));
    }
    return words;
}

}  // namespace

std::string_view sort_key_name(SortKey key) {
    switch (key) {
        case SortKey::local:
            return "local";
        case SortKey::remote:
            return "remote";
        case SortKey::state:
            return "state";
        case SortKey::proto:
            return "proto";
        case SortKey::process:
            return "process";
        case SortKey::sent:
            return "sent";
        case SortKey::received:
            return "received";
    }
    return "?";
}

LiveTable::LiveTable(std::chrono::milliseconds flash) : flash_(flash) {}

void LiveTable::apply(std::span<const watch::Event> events, Clock::time_point now, bool mark) {
    const auto until = now + flash_;
    for (const watch::Event& e : events) {
        if (e.kind == watch::EventKind::gone) {
            const auto it = rows_.find(e.row);
            if (it == rows_.end()) continue;  // never shown (born and freed between polls)
            it->second.mark = Mark::closed;
            it->second.mark_until = until;
            continue;
        }
        Row& row = rows_[e.row];
        const bool known = row.state != TcpState::unknown;
        const std::string process = std::move(row.process);
        row.socket = e.socket;
        row.process = process;
        row.state = e.state;
        if (const auto& ti = e.socket.tcp_info) {
            row.sent = ti->bytes_acked;
            row.received = ti->bytes_received;
        }
        if (!mark) continue;
        // A row that appeared in this batch stays green through its first changes.
        if (!known || row.mark == Mark::added) {
            row.mark = Mark::added;
        } else {
            row.mark = Mark::changed;
        }
        row.mark_until = until;
    }
}

void LiveTable::apply_traffic(std::span<const watch::TrafficSample> samples,
                              Clock::time_point /*now*/) {
    for (const watch::TrafficSample& t : samples) {
        const auto it = rows_.find(t.row);
        if (it == rows_.end() || it->second.mark == Mark::closed) continue;
        it->second.sent = t.bytes_sent;
        it->second.received = t.bytes_received;
    }
}

void LiveTable::expire(Clock::time_point now) {
    std::erase_if(rows_, [&](const auto& kv) {
        return kv.second.mark == Mark::closed && kv.second.mark_until <= now;
    });
    for (auto& [id, row] : rows_)
        if (row.mark != Mark::none && row.mark_until <= now) row.mark = Mark::none;
}

std::vector<std::uint64_t> LiveTable::inodes_without_process() const {
    std::vector<std::uint64_t> out;
    for (const auto& [id, row] : rows_)
        if (row.process.empty() && row.socket.inode != 0) out.push_back(row.socket.inode);
    return out;
}

void LiveTable::set_processes(const std::unordered_map<std::uint64_t, std::string>& by_inode) {
    for (auto& [id, row] : rows_) {
        if (!row.process.empty() || row.socket.inode == 0) continue;
        const auto it = by_inode.find(row.socket.inode);
        if (it != by_inode.end()) row.process = it->second;
    }
}

void LiveTable::cycle_sort(int step) {
    const int n = static_cast<int>(SortKey::received) + 1;
    sort_ = static_cast<SortKey>(((static_cast<int>(sort_) + step) % n + n) % n);
}

Result<void> LiveTable::set_filter(std::string_view text) {
    const auto words = split_words(text);
    if (words.empty()) {
        has_filter_ = false;
        filter_text_.clear();
        return {};
    }
    auto f = filter::parse(words, all_states_mask);
    if (!f) return f.error();
    filter_ = std::move(f).value();
    has_filter_ = true;
    filter_text_ = std::string(text);
    top_ = 0;
    return {};
}

void LiveTable::scroll(long delta) {
    top_ = std::max(0L, top_ + delta);
}
void LiveTable::scroll_to(long row) {
    top_ = std::max(0L, row);
}

std::vector<const LiveTable::Row*> LiveTable::visible() const {
    std::vector<const Row*> out;
    out.reserve(rows_.size());
    for (const auto& [id, row] : rows_) {
        if (has_filter_ && row.mark != Mark::closed) {
            SocketRecord r = row.socket;
            r.state = row.state;
            if (!filter::matches(filter_, r)) continue;
        }
        out.push_back(&row);
    }
    const auto by = [this](const Row* a, const Row* b) {
        const auto la = endpoint_key(a->socket.local), lb = endpoint_key(b->socket.local);
        const auto pa = endpoint_key(a->socket.peer), pb = endpoint_key(b->socket.peer);
        switch (sort_) {
            case SortKey::remote:
                return std::tie(pa, la) < std::tie(pb, lb);
            case SortKey::state:
                return std::tie(a->state, la, pa) < std::tie(b->state, lb, pb);
            case SortKey::proto:
                return std::tie(a->socket.netid, la, pa) < std::tie(b->socket.netid, lb, pb);
            case SortKey::process:
                return std::tie(a->process, la, pa) < std::tie(b->process, lb, pb);
            case SortKey::sent:  // the busiest first
                return std::tie(b->sent, la, pa) < std::tie(a->sent, lb, pb);
            case SortKey::received:
                return std::tie(b->received, la, pa) < std::tie(a->received, lb, pb);
            case SortKey::local:
                break;
        }
        return std::tie(la, pa) < std::tie(lb, pb);
    };
    std::sort(out.begin(), out.end(), by);
    if (reversed_) std::reverse(out.begin(), out.end());
    return out;
}

std::vector<Line> LiveTable::render(int width, int height, const StatusInfo& status) const {
    std::vector<Line> lines;
    if (width < 20 || height < 3) return lines;
    const auto w = static_cast<std::size_t>(width);
    const int rest = width - proto_width - state_width - 2 * bytes_width - 6;
    const auto shown = visible();
    // Addresses as wide as the widest shown (within what leaves the process 8
    // columns); the process takes the rest.
    std::vector<std::pair<std::string, std::string>> endpoints;
    endpoints.reserve(shown.size());
    std::size_t widest = std::string_view("Remote Address^").size();
    for (const Row* r : shown) {
        endpoints.emplace_back(watch::format_endpoint(r->socket, r->socket.local),
                               watch::format_endpoint(r->socket, r->socket.peer));
        widest = std::max({widest, endpoints.back().first.size(), endpoints.back().second.size()});
    }
    const auto aw = std::min(
        widest, static_cast<std::size_t>(std::max(min_addr_width, (rest - min_process_width) / 2)));
    auto row_text = [&](std::string_view proto, const std::string& local, const std::string& peer,
                        std::string_view state, std::string_view sent, std::string_view received,
                        const std::string& process) {
        std::string t = fit(std::string(proto), proto_width) + ' ' + fit(local, aw) + ' ' +
                        fit(peer, aw) + ' ' + fit(std::string(state), state_width) + ' ' +
                        right(sent, bytes_width) + ' ' + right(received, bytes_width) + ' ' +
                        process;
        return fit(std::move(t), w);
    };
    // The sort column's title carries the direction: v largest/last first, ^ the other way.
    std::array<std::string, 7> titles{"Local Address", "Remote Address", "State", "Proto",
                                      "Process",       "Sent",           "Recv"};
    const bool descending = (sort_ == SortKey::sent || sort_ == SortKey::received) != reversed_;
    titles.at(static_cast<std::size_t>(sort_)) += descending ? 'v' : '^';
    lines.push_back(
        {row_text(titles[3], titles[0], titles[1], titles[2], titles[5], titles[6], titles[4]),
         Mark::none, true});
    const long body = height - 2;
    const long max_top = std::max(0L, static_cast<long>(shown.size()) - body);
    const long top = std::min(top_, max_top);
    watch::StateCounts counts{};
    for (const Row* r : shown)
        if (r->mark != Mark::closed) ++counts[static_cast<std::size_t>(r->state)];
    for (long i = top; i < static_cast<long>(shown.size()) && i < top + body; ++i) {
        const Row& r = *shown[static_cast<std::size_t>(i)];
        const std::string_view state =
            r.mark == Mark::closed ? state_info(TcpState::close).json : state_info(r.state).json;
        lines.push_back(
            {row_text(netid_name(r.socket.netid), endpoints[static_cast<std::size_t>(i)].first,
                      endpoints[static_cast<std::size_t>(i)].second, state,
                      fmt::format("{}", r.sent), fmt::format("{}", r.received), r.process),
             r.mark, false});
    }
    while (static_cast<long>(lines.size()) < height - 1)
        lines.push_back({fit("", w), Mark::none, false});
    std::string s;
    for (const TcpState st : watch::counted_states()) {
        const auto n = counts[static_cast<std::size_t>(st)];
        if (n != 0) s += fmt::format("{} {}  ", state_info(st).json, n);
    }
    s += fmt::format("| {} rows | {} every {}s | sort {}{}", shown.size(), status.sources,
                     std::chrono::duration<double>(status.interval).count(), sort_key_name(sort_),
                     reversed_ ? " reversed" : "");
    if (!filter_text_.empty()) s += " | filter " + filter_text_;
    if (status.paused) s += " | PAUSED";
    if (!status.message.empty()) s += " | " + status.message;
    if (!status.prompt.empty())
        s = status.prompt;
    else
        s = with_help(std::move(s), w);
    lines.push_back({fit(std::move(s), w), Mark::none, true});
    return lines;
}

}  // namespace socklab::term
