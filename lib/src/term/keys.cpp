// term: what each key of the live screen does to the table, the prompt and the status line.
#include "socklab/term.hpp"

namespace socklab::term {
namespace {

/// Typing after `/`: Enter applies the line (empty clears the filter), Escape
/// keeps the filter, the rest edits the line.
void prompt_key(const KeyPress& k, LiveTable& table, Prompt& prompt, StatusInfo& status) {
    switch (prompt.line.edit(k)) {
        case LineEditor::Outcome::submit: {
            prompt.active = false;
            auto r = table.set_filter(prompt.line.text());
            status.message = r ? std::string() : "filter: " + r.error().context;
            break;
        }
        case LineEditor::Outcome::cancel:
            prompt.active = false;
            break;
        case LineEditor::Outcome::editing:
            break;
    }
}

KeyAction letter_key(char ch, LiveTable& table, Prompt& prompt, StatusInfo& status) {
    switch (ch) {
        case 'q':
        case 'Q':
            return KeyAction::quit;
        case 'p':
        case ' ':
            status.paused = !status.paused;
            break;
        case 's':
        case '>':
            table.cycle_sort(1);
            break;
        case '<':
            table.cycle_sort(-1);
            break;
        case 'r':
            table.reverse_sort();
            break;
        case '/':
            prompt.active = true;
            prompt.line.clear();
            prompt.hint = table.filter_text();
            status.message.clear();
            break;
        default:
            break;
    }
    return KeyAction::none;
}

}  // namespace

KeyAction handle_key(const KeyPress& k, LiveTable& table, Prompt& prompt, StatusInfo& status,
                     int page) {
    KeyAction action = KeyAction::none;
    if (prompt.active) {
        prompt_key(k, table, prompt, status);
    } else {
        switch (k.key) {
            case Key::up:
                table.scroll(-1);
                break;
            case Key::down:
                table.scroll(1);
                break;
            case Key::page_up:
                table.scroll(-page);
                break;
            case Key::page_down:
                table.scroll(page);
                break;
            case Key::home:
                table.scroll_to(0);
                break;
            case Key::end:
                table.scroll_to(1L << 30);
                break;
            case Key::character:
                action = letter_key(k.ch, table, prompt, status);
                break;
            default:
                break;
        }
    }
    status.prompt.clear();
    if (prompt.active) {
        status.prompt = "/" + prompt.line.text();
        if (prompt.line.text().empty())
            status.prompt += prompt.hint.empty()
                                 ? "   (no filter; Esc cancels)"
                                 : "   (now: " + prompt.hint + "; Enter clears, Esc keeps)";
    }
    return action;
}

}  // namespace socklab::term
