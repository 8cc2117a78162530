//! Terminal colours, used only on a terminal and never when `NO_COLOR` is set
//! (https://no-color.org).

use std::io::IsTerminal;

#[derive(Clone, Copy)]
pub struct Style {
    pub enabled: bool,
}

impl Style {
    pub fn for_stdout() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            enabled: !no_color && std::io::stdout().is_terminal(),
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn green(self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn red(self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn yellow(self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }

    /// `text` as a terminal hyperlink to the file at `path` (OSC 8, which
    /// terminals without support show as plain text); plain text otherwise.
    pub fn link(self, text: &str, path: &std::path::Path) -> String {
        if self.enabled {
            format!("\x1b]8;;file://{}\x1b\\{text}\x1b]8;;\x1b\\", path.display())
        } else {
            text.to_string()
        }
    }
}
