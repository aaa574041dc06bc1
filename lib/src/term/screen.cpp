// term: the ncurses screen — paints Lines, decodes keys.
#include "socklab/term.hpp"

// curses.h defines macros named scroll, attrset, erase...: ask for functions.
#define NCURSES_NOMACROS
#include <curses.h>

namespace socklab::term {

namespace {

// Colour pairs: 1 green (new), 2 yellow (changed), 3 red (closed).
constexpr short pair_added = 1;
constexpr short pair_changed = 2;
constexpr short pair_closed = 3;
/// Milliseconds ncurses waits after ESC for the rest of an escape sequence.
constexpr int esc_delay_ms = 25;

short pair_for(Mark m) {
    switch (m) {
        case Mark::added:
            return pair_added;
        case Mark::changed:
            return pair_changed;
        case Mark::closed:
            return pair_closed;
        case Mark::none:
            break;
    }
    return 0;
}

/// Without colour the marks stay visible: bold new, underlined changed, dim closed.
attr_t mono_attr(Mark m) {
    switch (m) {
        case Mark::added:
            return A_BOLD;
        case Mark::changed:
            return A_UNDERLINE;
        case Mark::closed:
            return A_DIM;
        case Mark::none:
            break;
    }
    return A_NORMAL;
}

}  // namespace

Result<std::unique_ptr<Screen>> Screen::open(bool color) {
    if (::initscr() == nullptr) return make_error(std::errc::not_supported, "initscr");
    std::unique_ptr<Screen> self(new Screen());
    ::cbreak();
    ::noecho();
    ::nodelay(stdscr, TRUE);
    ::keypad(stdscr, TRUE);
    ::curs_set(0);
    ::set_escdelay(esc_delay_ms);
    if (color && ::has_colors() == TRUE) {
        ::start_color();
        ::use_default_colors();
        ::init_pair(pair_added, COLOR_GREEN, -1);
        ::init_pair(pair_changed, COLOR_YELLOW, -1);
        ::init_pair(pair_closed, COLOR_RED, -1);
        self->color_ = true;
    }
    return self;
}

Screen::~Screen() {
    ::endwin();
}

int Screen::rows() const {
    return LINES;
}
int Screen::cols() const {
    return COLS;
}

void Screen::draw(std::span<const Line> lines) {
    ::erase();
    int y = 0;
    for (const Line& l : lines) {
        if (y >= LINES) break;
        attr_t a = l.bold ? A_REVERSE : A_NORMAL;
        if (l.mark != Mark::none)
            a |= color_ ? static_cast<attr_t>(COLOR_PAIR(pair_for(l.mark))) : mono_attr(l.mark);
        ::attrset(static_cast<int>(a));
        ::mvaddnstr(y, 0, l.text.c_str(), COLS);
        ++y;
    }
    ::attrset(A_NORMAL);
    ::refresh();
}

KeyPress Screen::read_key() {
    const int c = ::getch();
    switch (c) {
        case ERR:
            return {Key::none, 0};
        case KEY_UP:
            return {Key::up, 0};
        case KEY_DOWN:
            return {Key::down, 0};
        case KEY_PPAGE:
            return {Key::page_up, 0};
        case KEY_NPAGE:
            return {Key::page_down, 0};
        case KEY_HOME:
            return {Key::home, 0};
        case KEY_END:
            return {Key::end, 0};
        case KEY_RESIZE:
            return {Key::resize, 0};
        case KEY_ENTER:
        case '\n':
        case '\r':
            return {Key::enter, 0};
        case 27:
            return {Key::escape, 0};
        case 21:  // Ctrl-U
            return {Key::kill_line, 0};
        case 23:  // Ctrl-W
            return {Key::kill_word, 0};
        case KEY_BACKSPACE:
        case 127:
        case 8:
            return {Key::backspace, 0};
        default:
            break;
    }
    if (c >= 0x20 && c < 0x7f) return {Key::character, static_cast<char>(c)};
    return {Key::none, 0};
}

}  // namespace socklab::term
