// term: the live table (pure model, rendered to lines) and the ncurses screen it is painted on.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "socklab/core.hpp"
#include "socklab/filter.hpp"
#include "socklab/model.hpp"
#include "socklab/watch.hpp"

namespace socklab::term {

using Clock = watch::Clock;

/// How a row is highlighted: new green, changed yellow, closed red (then removed).
enum class Mark : std::uint8_t { none, added, changed, closed };

/// The `s` `>` and `<` keys move through these; sent and received (tcp_info's
/// bytes_acked and bytes_received) sort the largest first.
enum class SortKey : std::uint8_t { local, remote, state, proto, process, sent, received };
/// "local" "remote" "state" "proto" "process" "sent" "received".
[[nodiscard]] std::string_view sort_key_name(SortKey key);

/// One painted line.
struct Line {
    std::string text;
    Mark mark = Mark::none;
    bool bold = false;  ///< the header and the status line
};

/// What the status line says besides the counts.
struct StatusInfo {
    std::string sources;  ///< "destroy+poll"
    std::chrono::nanoseconds interval{};
    bool paused = false;
    std::string prompt;   ///< non-empty while the user types a filter: "/state est"
    std::string message;  ///< a one-shot message (a filter error)
};

/// The rows of the live screen: fed with events, highlighted for a moment,
/// sorted, filtered and scrolled. Pure: time comes in as arguments, output is
/// lines of text; unit tested without a terminal.
class LiveTable {
  public:
    /// `flash`: how long a new, changed or closed row stays highlighted.
    explicit LiveTable(std::chrono::milliseconds flash = std::chrono::seconds(2));

    /// Applies events; `mark` false for the baseline snapshot (no highlight).
    void apply(std::span<const watch::Event> events, Clock::time_point now, bool mark = true);
    /// Applies the counters a poll read for rows whose state did not change
    /// (watch::Step::traffic): Sent/Recv follow them. Unknown rows are ignored.
    void apply_traffic(std::span<const watch::TrafficSample> samples, Clock::time_point now);
    /// Clears expired highlights and removes closed rows whose moment has passed.
    void expire(Clock::time_point now);
    /// Inodes of rows that have no process name yet (0 never listed).
    [[nodiscard]] std::vector<std::uint64_t> inodes_without_process() const;
    /// Sets the process column of rows by inode ("1234/nginx").
    void set_processes(const std::unordered_map<std::uint64_t, std::string>& by_inode);

    /// Moves the sort column by `step` (wrapping): +1 the next, -1 the previous.
    void cycle_sort(int step = 1);
    /// Reverses the order of the sort column (again: back to its own order).
    void reverse_sort() noexcept { reversed_ = !reversed_; }
    [[nodiscard]] SortKey sort() const noexcept { return sort_; }
    [[nodiscard]] bool sort_reversed() const noexcept { return reversed_; }
    /// Parses `text` as sockls FILTER words (empty clears). On error the old
    /// filter stays and the error says where.
    [[nodiscard]] Result<void> set_filter(std::string_view text);
    [[nodiscard]] const std::string& filter_text() const noexcept { return filter_text_; }
    /// Moves the first shown row by `delta` rows (clamped when rendering).
    void scroll(long delta);
    void scroll_to(long row);

    [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }
    /// Header, rows and status line for a terminal of `height` x `width`.
    [[nodiscard]] std::vector<Line> render(int width, int height, const StatusInfo& status) const;

  private:
    struct Row {
        SocketRecord socket;
        TcpState state = TcpState::unknown;
        Mark mark = Mark::none;
        Clock::time_point mark_until;
        std::string process;
        std::uint64_t sent = 0;      ///< tcp_info bytes_acked, the last one told
        std::uint64_t received = 0;  ///< tcp_info bytes_received
    };
    [[nodiscard]] std::vector<const Row*> visible() const;

    std::chrono::milliseconds flash_;
    std::unordered_map<std::uint64_t, Row> rows_;
    SortKey sort_ = SortKey::local;
    bool reversed_ = false;
    filter::Filter filter_;
    bool has_filter_ = false;
    std::string filter_text_;
    long top_ = 0;
};

/// Scans /proc once for the owners of the rows without a process and labels
/// them "pid/comm" (the first owner). Blocks for the scan; owners it cannot
/// see (other users' processes without root) stay blank.
void fill_processes(LiveTable& table);

/// Keys the live screen understands; letters (q p s /) come as Key::character.
enum class Key {
    none,
    up,
    down,
    page_up,
    page_down,
    home,
    end,
    resize,
    enter,
    escape,
    backspace,
    kill_line,  ///< Ctrl-U
    kill_word,  ///< Ctrl-W
    character
};
struct KeyPress {
    Key key = Key::none;
    char ch = 0;  ///< for Key::character (printable ASCII)
};

/// A one-line editor as a shell reads a line: characters append, Backspace
/// deletes one, Ctrl-U the whole line, Ctrl-W the word before the end (and the
/// blanks after it); Enter submits, Escape cancels. Pure, no terminal.
class LineEditor {
  public:
    enum class Outcome : std::uint8_t { editing, submit, cancel };
    /// Applies one key; keys it does not know leave the line as it is.
    Outcome edit(const KeyPress& key);
    void clear() { text_.clear(); }
    [[nodiscard]] const std::string& text() const noexcept { return text_; }

  private:
    std::string text_;
};

/// The `/` filter prompt of the live screen while the user types. It opens
/// empty; `hint` is the filter in force, shown but not edited.
struct Prompt {
    bool active = false;
    LineEditor line;
    std::string hint;
};

/// What a key asks of the app beyond the table and the status line.
enum class KeyAction : std::uint8_t { none, quit };

/// The live screen's keys as a pure mapping: arrows, Page Up/Down, Home and End
/// scroll by one row, by `page` rows or to an end; q quits; p or space pauses;
/// s and > sort by the next column, < by the previous, r reverses; / opens an empty prompt (the
/// filter in force as a hint) that edits as a LineEditor: Enter applies what was typed (empty
/// clears the filter; an error goes to `status.message` and the old filter stays), Escape keeps the
/// filter. Updates `status.paused`, `status.message` and `status.prompt`.
[[nodiscard]] KeyAction handle_key(const KeyPress& key, LiveTable& table, Prompt& prompt,
                                   StatusInfo& status, int page);

/// The ncurses screen: owns the terminal from open() to destruction (endwin).
class Screen {
  public:
    /// Initialises ncurses on the terminal; colour only when `color` and the
    /// terminal has it.
    [[nodiscard]] static Result<std::unique_ptr<Screen>> open(bool color);
    ~Screen();
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;

    /// Paints the lines (ncurses sends only what changed: no flicker).
    void draw(std::span<const Line> lines);
    /// The next key without blocking (Key::none when there is none).
    [[nodiscard]] KeyPress read_key();
    [[nodiscard]] int rows() const;
    [[nodiscard]] int cols() const;

  private:
    Screen() = default;
    bool color_ = false;
};

}  // namespace socklab::term
