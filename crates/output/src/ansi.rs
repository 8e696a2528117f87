//! ANSI decoration as k6's summary code emits it, and display widths.

/// Colors the summary uses (SGR codes).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Color {
    /// 31
    Red,
    /// 32
    Green,
    /// 36
    Cyan,
    /// 37
    White,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Red => "31",
            Color::Green => "32",
            Color::Cyan => "36",
            Color::White => "37",
        }
    }
}

/// Decorates text, or passes it through when colors are off.
#[derive(Copy, Clone, Debug)]
pub struct Painter {
    /// Whether to emit escape sequences.
    pub enabled: bool,
}

impl Painter {
    /// k6 v1 summary: `ESC[<color>m` or `ESC[2;<color>m` (faint) ... `ESC[0m`.
    pub fn paint(&self, text: &str, color: Color, faint: bool) -> String {
        if !self.enabled {
            return text.to_owned();
        }
        let style = if faint { "2;" } else { "" };
        format!("\x1b[{style}{}m{text}\x1b[0m", color.code())
    }

    /// k6 v1 summary: `ESC[1m...ESC[0m`.
    pub fn bold(&self, text: &str) -> String {
        if !self.enabled {
            return text.to_owned();
        }
        format!("\x1b[1m{text}\x1b[0m")
    }

    /// The legacy summary's `decorate(text, codes...)`: `ESC[c1;c2m...ESC[0m`.
    pub fn legacy(&self, text: &str, codes: &[u8]) -> String {
        if !self.enabled {
            return text.to_owned();
        }
        let codes: Vec<String> = codes.iter().map(u8::to_string).collect();
        format!("\x1b[{}m{text}\x1b[0m", codes.join(";"))
    }
}

/// The display width k6 computes (`strWidth`): code points, skipping ANSI
/// escape sequences.
pub fn str_width(s: &str) -> usize {
    let mut in_esc = false;
    let mut in_long = false;
    let mut width = 0;
    for c in s.chars() {
        if c == '\x1b' {
            in_esc = true;
            continue;
        }
        if in_esc && c == '[' {
            in_long = true;
            continue;
        }
        let code = c as u32;
        if in_esc && in_long && (0x40..=0x7e).contains(&code) {
            in_esc = false;
            in_long = false;
            continue;
        }
        if in_esc && !in_long && (0x40..=0x5f).contains(&code) {
            in_esc = false;
            continue;
        }
        if !in_esc && !in_long {
            width += 1;
        }
    }
    width
}

/// What k6 does when it prints to a terminal: every line ends with
/// `ESC[0K` (erase to end of line, wiping progress-bar leftovers).
pub fn for_terminal(text: &str) -> String {
    text.replace('\n', "\x1b[0K\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_skip_escapes() {
        let p = Painter { enabled: true };
        assert_eq!(str_width(&p.paint("12.5ms", Color::Cyan, false)), 6);
        assert_eq!(str_width(&p.legacy("✓ ok", &[36, 2])), 4);
        assert_eq!(str_width("  { a:b }"), 9);
        assert_eq!(str_width("899.19µs"), 8);
    }

    #[test]
    fn sequences_like_k6() {
        let p = Painter { enabled: true };
        assert_eq!(p.paint("x", Color::White, true), "\x1b[2;37mx\x1b[0m");
        assert_eq!(p.bold("HTTP"), "\x1b[1mHTTP\x1b[0m");
        assert_eq!(p.legacy("x", &[36, 2]), "\x1b[36;2mx\x1b[0m");
        let off = Painter { enabled: false };
        assert_eq!(off.paint("x", Color::Red, false), "x");
        assert_eq!(for_terminal("a\n\nb"), "a\x1b[0K\n\x1b[0K\nb");
    }
}
