//! NAWS (RFC 1073): the client's window size, and text wrapped to its width.
//!
//! [`parse`] reads the `IAC SB NAWS` payload; [`wrap`] breaks lines at
//! spaces so that none is wider than the window. ANSI escape codes take no
//! room and are never split, and a word is broken only when it is itself
//! wider than the window.

/// The width assumed until the client reports one (or when it reports 0).
pub const DEFAULT_WIDTH: u16 = 80;
/// Narrower windows are treated as this wide.
pub const MIN_WIDTH: u16 = 20;
/// Wider windows are treated as this wide.
pub const MAX_WIDTH: u16 = 1000;

/// The `(width, height)` of a NAWS subnegotiation (already IAC-unescaped):
/// two 16-bit big-endian numbers. `None` if the payload is not 4 bytes.
pub fn parse(data: &[u8]) -> Option<(u16, u16)> {
    match data {
        [w0, w1, h0, h1] => Some((
            u16::from_be_bytes([*w0, *w1]),
            u16::from_be_bytes([*h0, *h1]),
        )),
        _ => None,
    }
}

/// The width text is wrapped to for a reported width: 0 ("unknown") is the
/// default, others are kept within [`MIN_WIDTH`]..=[`MAX_WIDTH`].
pub fn effective_width(reported: u16) -> u16 {
    if reported == 0 {
        DEFAULT_WIDTH
    } else {
        reported.clamp(MIN_WIDTH, MAX_WIDTH)
    }
}

/// One piece of a line: an escape code (no width), a run of spaces, or a
/// run of other characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Escape(&'a str),
    Spaces(&'a str),
    Word(&'a str),
}

fn pieces(line: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i] == 0x1b {
            i += 1;
            if bytes.get(i) == Some(&b'[') {
                i += 1;
                while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                i = (i + 1).min(bytes.len());
            }
            out.push(Piece::Escape(&line[start..i]));
        } else if bytes[i] == b' ' {
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            out.push(Piece::Spaces(&line[start..i]));
        } else {
            while i < bytes.len() && bytes[i] != b' ' && bytes[i] != 0x1b {
                i += 1;
            }
            out.push(Piece::Word(&line[start..i]));
        }
    }
    out
}

/// `text` with every line broken at spaces to be at most `width` columns
/// wide (a column per character; escape codes take none). Lines are
/// separated by `\n`; a trailing newline stays.
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut out = String::with_capacity(text.len() + text.len() / width.max(8));
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        wrap_line(line, width, &mut out);
    }
    out
}

fn wrap_line(line: &str, width: usize, out: &mut String) {
    if line.chars().count() <= width {
        out.push_str(line);
        return;
    }
    let pieces = pieces(line);
    // Words with the escape codes that touch them, so a colour change stays
    // with the word it colours.
    let mut col = 0usize;
    let mut pending_spaces: Option<&str> = None;
    let mut i = 0;
    while i < pieces.len() {
        match pieces[i] {
            Piece::Spaces(s) => {
                if col == 0 && out_line_is_empty(out) {
                    // Indentation at the start of the line is kept.
                    out.push_str(s);
                    col += s.len();
                } else {
                    pending_spaces = Some(s);
                }
                i += 1;
            }
            Piece::Escape(_) | Piece::Word(_) => {
                // Gather a word: escapes and word pieces up to the next spaces.
                let start = i;
                let mut w = 0;
                while i < pieces.len() && !matches!(pieces[i], Piece::Spaces(_)) {
                    if let Piece::Word(s) = pieces[i] {
                        w += s.chars().count();
                    }
                    i += 1;
                }
                let word = &pieces[start..i];
                let gap = pending_spaces.take().map_or(0, str::len);
                if col + gap + w <= width {
                    out.extend(std::iter::repeat_n(' ', gap));
                    col += gap;
                } else if col > 0 {
                    out.push('\n');
                    col = 0;
                }
                for piece in word {
                    match *piece {
                        Piece::Escape(e) => out.push_str(e),
                        Piece::Word(s) => {
                            for c in s.chars() {
                                if col == width {
                                    out.push('\n');
                                    col = 0;
                                }
                                out.push(c);
                                col += 1;
                            }
                        }
                        Piece::Spaces(_) => {}
                    }
                }
            }
        }
    }
    // Trailing spaces (a prompt's "> ") stay if they fit.
    if let Some(s) = pending_spaces {
        if col + s.len() <= width {
            out.push_str(s);
        }
    }
}

/// Whether nothing has been written since the last newline of `out`.
fn out_line_is_empty(out: &str) -> bool {
    out.is_empty() || out.ends_with('\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telnet::render::strip_ansi;

    fn widths(text: &str) -> Vec<usize> {
        strip_ansi(text)
            .split('\n')
            .map(|l| l.chars().count())
            .collect()
    }

    #[test]
    fn parses_the_window_size() {
        assert_eq!(parse(&[0, 120, 0, 40]), Some((120, 40)));
        assert_eq!(parse(&[1, 0, 0, 0]), Some((256, 0)));
        assert_eq!(parse(&[0, 80, 0]), None);
        assert_eq!(parse(&[]), None);
        assert_eq!(effective_width(0), DEFAULT_WIDTH);
        assert_eq!(effective_width(5), MIN_WIDTH);
        assert_eq!(effective_width(60000), MAX_WIDTH);
        assert_eq!(effective_width(132), 132);
    }

    #[test]
    fn short_lines_are_untouched() {
        let text = "\x1b[1;36mThe Plaza\x1b[0m\nCobbles.\n";
        assert_eq!(wrap(text, 80), text);
        assert_eq!(wrap("", 10), "");
    }

    #[test]
    fn long_lines_break_at_spaces_within_the_width() {
        let text = "the quick brown fox jumps over the lazy dog again and again";
        let wrapped = wrap(text, 20);
        assert!(widths(&wrapped).iter().all(|&w| w <= 20), "{wrapped}");
        assert_eq!(wrapped.replace('\n', " "), text);
        assert_eq!(
            wrapped,
            "the quick brown fox\njumps over the lazy\ndog again and again"
        );
    }

    #[test]
    fn colour_codes_take_no_room_and_are_never_split() {
        let text = "\x1b[33mada says, \"a rather long sentence that needs wrapping\"\x1b[0m";
        let wrapped = wrap(text, 20);
        assert!(widths(&wrapped).iter().all(|&w| w <= 20), "{wrapped:?}");
        assert!(wrapped.starts_with("\x1b[33mada says,"));
        assert!(wrapped.ends_with("wrapping\"\x1b[0m"));
        // Every escape survives whole.
        assert_eq!(wrapped.matches("\x1b[33m").count(), 1);
        assert_eq!(wrapped.matches("\x1b[0m").count(), 1);
        assert_eq!(strip_ansi(&wrapped).replace('\n', " "), strip_ansi(text));
    }

    #[test]
    fn only_words_wider_than_the_window_are_broken() {
        let long = "x".repeat(45);
        let text = format!("see {long} here");
        let wrapped = wrap(&text, 20);
        assert_eq!(widths(&wrapped), vec![3, 20, 20, 10]);
        assert_eq!(wrapped.replace('\n', ""), format!("see{long} here"));
    }

    #[test]
    fn re_wrapping_to_a_new_width() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let at_30 = wrap(text, 30);
        let at_20 = wrap(text, 20);
        assert!(widths(&at_30).iter().all(|&w| w <= 30));
        assert!(widths(&at_20).iter().all(|&w| w <= 20));
        assert!(at_20.lines().count() > at_30.lines().count());
        assert_eq!(wrap(text, 200), text);
    }

    #[test]
    fn indentation_and_trailing_prompt_spaces_are_kept() {
        let wrapped = wrap(
            "  ada              telnet  The Plaza with a long name indeed",
            30,
        );
        assert!(wrapped.starts_with("  ada"), "{wrapped:?}");
        assert_eq!(wrap("The Plaza > ", 80), "The Plaza > ");
        let prompt = wrap("[The Plaza with a rather long name] 12 online > ", 20);
        assert!(prompt.ends_with("> "), "{prompt:?}");
    }
}
