// term: the one-line editor of the live screen's prompts (shell-like keys).
#include "socklab/term.hpp"

namespace socklab::term {

LineEditor::Outcome LineEditor::edit(const KeyPress& key) {
    switch (key.key) {
        case Key::enter:
            return Outcome::submit;
        case Key::escape:
            return Outcome::cancel;
        case Key::backspace:
            if (!text_.empty()) text_.pop_back();
            break;
        case Key::kill_line:
            text_.clear();
            break;
        case Key::kill_word: {
            // As a shell's Ctrl-W: the blanks before the cursor, then the word.
            auto end = text_.find_last_not_of(' ');
            if (end == std::string::npos) {
                text_.clear();
                break;
            }
            const auto start = text_.find_last_of(' ', end);
            text_.erase(start == std::string::npos ? 0 : start + 1);
            break;
        }
        case Key::character:
            text_ += key.ch;
            break;
        default:
            break;
    }
    return Outcome::editing;
}

}  // namespace socklab::term
