//! What a terminal would show: CLIs repaint their input line with backspaces, carriage returns
//! and ANSI escape sequences (`ESC[1D ESC[1P` to rub out a character, `ESC[K` to clear the
//! rest of a line), and some paint colours into prompts and output. The echo of a command and
//! the prompt are compared as the screen shows them, never as raw bytes, so a repainted line
//! reads the same as a clean one. Pure functions over byte slices.

const ESC: u8 = 0x1b;
const BACKSPACE: u8 = 0x08;
const BELL: u8 = 0x07;

/// One escape sequence at the start of `bytes`, as far as a line cares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// `ESC [ params final`: the parameters' first two numbers (0 when absent) and the final
    /// byte.
    Csi {
        n: usize,
        m: usize,
        fin: u8,
        len: usize,
    },
    /// Any other sequence (`ESC ] ... BEL`, `ESC 7`, `ESC =`): no effect on the line.
    Other { len: usize },
    /// Cut off by the end of the bytes: more is coming.
    Incomplete,
}

/// Parses the escape sequence that starts `bytes` (whose first byte is ESC).
fn escape_at(bytes: &[u8]) -> Escape {
    match bytes.get(1) {
        None => Escape::Incomplete,
        Some(b'[') => {
            // The first two numeric parameters; further ones change nothing a line shows.
            let mut params = [0usize; 2];
            let mut index = 0;
            for (i, &b) in bytes.iter().enumerate().skip(2) {
                match b {
                    b'0'..=b'9' => {
                        if let Some(p) = params.get_mut(index) {
                            *p = p.saturating_mul(10).saturating_add(usize::from(b - b'0'));
                        }
                    }
                    // Parameter and intermediate bytes.
                    0x20..=0x3f => index += usize::from(b == b';'),
                    0x40..=0x7e => {
                        return Escape::Csi {
                            n: params[0],
                            m: params[1],
                            fin: b,
                            len: i + 1,
                        };
                    }
                    // A control byte inside a sequence: treat the sequence as over.
                    _ => return Escape::Other { len: i },
                }
            }
            Escape::Incomplete
        }
        Some(b']') => {
            // Operating-system command: up to BEL or ESC \ (and never acted on).
            for (i, &b) in bytes.iter().enumerate().skip(2) {
                if b == BELL {
                    return Escape::Other { len: i + 1 };
                }
                if b == ESC && bytes.get(i + 1) == Some(&b'\\') {
                    return Escape::Other { len: i + 2 };
                }
            }
            Escape::Incomplete
        }
        // Two-byte sequences: `ESC 7`, `ESC 8`, `ESC =`, `ESC >`, `ESC (B` is three.
        Some(b'(' | b')') => {
            if bytes.len() >= 3 {
                Escape::Other { len: 3 }
            } else {
                Escape::Incomplete
            }
        }
        Some(_) => Escape::Other { len: 2 },
    }
}

/// The text a terminal shows for one line's bytes (no line feeds in `raw`): printable bytes
/// overwrite at the cursor, backspace and `ESC[nD` move it left, `ESC[nC` right, carriage
/// return to the start, `ESC[r;cH` to column c, `ESC[K` erases, `ESC[nP` deletes, `ESC[n@` inserts blanks; colours
/// and other sequences change nothing. Trailing blanks are kept.
pub fn render_line(raw: &[u8]) -> Vec<u8> {
    let mut line: Vec<u8> = Vec::with_capacity(raw.len());
    let mut cursor = 0usize;
    let mut at = 0;
    while at < raw.len() {
        let b = raw[at];
        match b {
            ESC => {
                let escape = escape_at(&raw[at..]);
                let len = match escape {
                    Escape::Csi { n, m, fin, len } => {
                        apply_csi(&mut line, &mut cursor, n, m, fin);
                        len
                    }
                    Escape::Other { len } => len,
                    Escape::Incomplete => raw.len() - at,
                };
                at += len.max(1);
                continue;
            }
            BACKSPACE => cursor = cursor.saturating_sub(1),
            b'\r' => cursor = 0,
            b'\t' | 0x20..=0x7e | 0x80..=0xff => {
                if cursor < line.len() {
                    line[cursor] = b;
                } else {
                    line.resize(cursor, b' ');
                    line.push(b);
                }
                cursor += 1;
            }
            // Bell, DEL and other controls print nothing.
            _ => {}
        }
        at += 1;
    }
    line
}

fn apply_csi(line: &mut Vec<u8>, cursor: &mut usize, n: usize, m: usize, fin: u8) {
    let count = n.max(1);
    match fin {
        b'D' => *cursor = cursor.saturating_sub(count),
        b'C' => *cursor = cursor.saturating_add(count).min(line.len().max(*cursor)),
        // Column `n`, 1-based.
        b'G' => *cursor = count - 1,
        b'K' => match n {
            0 => line.truncate(*cursor),
            1 => {
                let upto = (*cursor).min(line.len());
                line[..upto].fill(b' ');
            }
            _ => line.clear(),
        },
        // Erasing the display erases this line too.
        b'J' if n == 2 => line.clear(),
        b'J' => line.truncate(*cursor),
        b'P' if *cursor < line.len() => {
            let end = (*cursor + count).min(line.len());
            line.drain(*cursor..end);
        }
        b'@' if *cursor < line.len() => {
            line.splice(*cursor..*cursor, std::iter::repeat_n(b' ', count));
        }
        // Cursor positioning to a row and column: the column is what a line has (a move to
        // another row is a line boundary, which `LinePainter` puts in).
        b'H' | b'f' => *cursor = m.max(1) - 1,
        _ => {}
    }
}

/// Puts the line ends a screen painted by cursor address only implies. HP ProCurve draws its
/// prompt and each echoed character at an address on the bottom row (`ESC[24;9Hs`) and, on
/// Enter, scrolls the screen up (`ESC[1;0H ESC[1M ESC[24;1H ESC[1L`) instead of sending a
/// line end: a command's echo would never end. The painter follows the cursor's row through
/// the stream and, where a line that shows something is left for another row (`ESC[r;cH`,
/// `ESC[rd`) or scrolled away (`ESC[nL`, `ESC[nM`), inserts a `\n` before the sequence that
/// does it. Everything the device sent is kept; a device that ends its lines itself, or moves
/// only within a line, gets nothing added. Column addressing within a line is positioning,
/// which [`render_line`] applies.
/// The longest unfinished escape sequence the painter holds back for the next chunk.
const MAX_HELD_ESCAPE: usize = 256;

#[derive(Debug, Default)]
pub struct LinePainter {
    /// The cursor's row (1-based), once the device has addressed one.
    row: Option<usize>,
    /// The bottom row of the scrolling region, once the device has set one: a line end there
    /// scrolls rather than moving down.
    bottom: Option<usize>,
    /// The current line shows something since it began.
    shows: bool,
    /// An escape sequence cut off at the end of the last chunk, decided with the next.
    held: Vec<u8>,
}

impl LinePainter {
    /// Appends `data` to `out`, with the line ends the cursor's moves imply.
    pub fn paint(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let joined;
        let data = if self.held.is_empty() {
            data
        } else {
            self.held.extend_from_slice(data);
            joined = std::mem::take(&mut self.held);
            &joined[..]
        };
        let mut copied = 0;
        let mut at = 0;
        while at < data.len() {
            let Some(found) = memchr::memchr(ESC, &data[at..]) else {
                self.text(&data[at..]);
                break;
            };
            self.text(&data[at..at + found]);
            at += found;
            match escape_at(&data[at..]) {
                // No real sequence is this long: a device that never finishes one (an OSC
                // title without its BEL) must not make us hold back all it says after.
                Escape::Incomplete if data.len() - at > MAX_HELD_ESCAPE => at += 1,
                Escape::Incomplete => {
                    out.extend_from_slice(&data[copied..at]);
                    self.held = data[at..].to_vec();
                    return;
                }
                Escape::Other { len } => at += len,
                Escape::Csi { n, m, fin, len } => {
                    if self.line_left(n, m, fin) {
                        out.extend_from_slice(&data[copied..at]);
                        out.push(b'\n');
                        copied = at;
                    }
                    at += len;
                }
            }
        }
        out.extend_from_slice(&data[copied..]);
    }

    /// Follows plain bytes: line feeds move down a row (or scroll at the region's bottom) and
    /// start a new line; anything printable makes the line show something.
    fn text(&mut self, bytes: &[u8]) {
        let visible = |b: &u8| matches!(b, b'\t' | 0x20..=0x7e | 0x80..=0xff);
        let tail = match memchr::memrchr(b'\n', bytes) {
            None => bytes,
            Some(last) => {
                let feeds = memchr::memchr_iter(b'\n', bytes).count();
                self.row = self.row.map(|row| {
                    let down = row.saturating_add(feeds);
                    match self.bottom {
                        Some(bottom) if row <= bottom => down.min(bottom),
                        _ => down,
                    }
                });
                self.shows = false;
                &bytes[last + 1..]
            }
        };
        self.shows |= tail.iter().any(visible);
    }

    /// Follows one control sequence; whether it leaves a line that shows something.
    fn line_left(&mut self, n: usize, m: usize, fin: u8) -> bool {
        let leaves = match fin {
            b'H' | b'f' | b'd' => {
                let to = n.max(1);
                let moved = self.row.is_some_and(|row| row != to);
                self.row = Some(to);
                moved
            }
            // Lines inserted or deleted: the screen scrolls under the current line.
            b'L' | b'M' => true,
            b'r' => {
                self.bottom = (m > 0).then_some(m);
                false
            }
            _ => false,
        };
        let left = leaves && self.shows;
        if left {
            self.shows = false;
        }
        left
    }
}

/// `raw` with every escape sequence removed and everything else kept, for profiles that strip
/// the colours and cursor movements some CLIs paint into their output.
pub fn strip_escapes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while let Some(found) = memchr::memchr(ESC, &raw[at..]) {
        out.extend_from_slice(&raw[at..at + found]);
        at += found;
        at += match escape_at(&raw[at..]) {
            Escape::Csi { len, .. } | Escape::Other { len } => len,
            Escape::Incomplete => raw.len() - at,
        };
    }
    out.extend_from_slice(&raw[at..]);
    out
}

/// How many leading bytes of `data` only repaint the screen after a pager was answered: the
/// pager rubbing out its marker with backspaces, blanks and carriage returns, or with escape
/// sequences, before the next page. Blanks count only when a backspace, carriage return or
/// escape follows them (otherwise they are the next line's indentation). `None` while `data`
/// could still be the start of such an erasure.
pub fn erasure_len(data: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        match data.get(at) {
            None => return None,
            Some(&BACKSPACE) => at += 1,
            Some(&b'\r') => match data.get(at + 1) {
                None => return None,
                // A line end is output (the end of the previous page's last line).
                Some(&b'\n') => return Some(at),
                Some(_) => at += 1,
            },
            Some(&ESC) => match escape_at(&data[at..]) {
                Escape::Incomplete => return None,
                Escape::Csi { len, .. } | Escape::Other { len } => at += len,
            },
            Some(&b' ') => {
                let blanks = data[at..].iter().take_while(|&&b| b == b' ').count();
                match data.get(at + blanks) {
                    None => return None,
                    Some(&(BACKSPACE | b'\r' | ESC)) => at += blanks,
                    Some(_) => return Some(at),
                }
            }
            Some(_) => return Some(at),
        }
    }
}

/// Appends `raw` to `out` with every line break (`\r\n`, `\n\r`, `\r\r\n`, `\n`) turned into
/// `\n`: a line feed with any carriage returns before it and one after it. Other carriage
/// returns are kept. One pass, copying whole runs between breaks.
pub fn normalize_newlines(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = memchr::memchr(b'\n', &raw[search..]) {
        let lf = search + found;
        let mut cut = lf;
        while cut > copied && raw[cut - 1] == b'\r' {
            cut -= 1;
        }
        out.extend_from_slice(&raw[copied..cut]);
        out.push(b'\n');
        copied = lf + 1;
        // `\n\r` is one break on devices that end lines that way, unless the `\r` starts
        // the next `\r\n`.
        if raw.get(copied) == Some(&b'\r') && raw.get(copied + 1) != Some(&b'\n') {
            copied += 1;
        }
        search = copied;
    }
    out.extend_from_slice(&raw[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(raw: &[u8]) -> String {
        String::from_utf8(render_line(raw)).unwrap()
    }

    #[test]
    fn plain_text_renders_as_itself() {
        assert_eq!(shown(b"show version"), "show version");
        assert_eq!(shown(b"r1# "), "r1# ");
        assert_eq!(shown(b""), "");
    }

    #[test]
    fn line_editors_repaint_and_the_screen_shows_the_result() {
        // Backspace over a typo, the way IOS does it.
        assert_eq!(shown(b"show verx\x08 \x08sion"), "show version");
        // The ANSI way: cursor left, delete a character.
        assert_eq!(shown(b"show verx\x1b[1D\x1b[1Psion"), "show version");
        // A word the line editor did not erase stays (0x08 ignored by the device, echoed as
        // nothing): the screen shows the glued line.
        assert_eq!(
            shown(b"cfxhtgipkg7wshow vlan brief"),
            "cfxhtgipkg7wshow vlan brief"
        );
        // Carriage return and erase-to-end repaint from the start.
        assert_eq!(shown(b"garbage\r\x1b[Kr1#"), "r1#");
        assert_eq!(shown(b"abcdef\r\x1b[2Kxy"), "xy");
        // Colours and modes change nothing.
        assert_eq!(shown(b"\x1b[1;32mr1\x1b[0m#"), "r1#");
        assert_eq!(shown(b"\x1b[?7hr1>\x1b]0;title\x07"), "r1>");
        // Cursor right over existing text, insert, column.
        assert_eq!(shown(b"abc\r\x1b[2CX"), "abX");
        assert_eq!(shown(b"ac\x1b[1D\x1b[1@b"), "abc");
        assert_eq!(shown(b"abc\x1b[1GZ"), "Zbc");
        // An escape cut off at the end is ignored, not printed.
        assert_eq!(shown(b"r1#\x1b["), "r1#");
    }

    fn painted(chunks: &[&[u8]]) -> String {
        let mut painter = LinePainter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            painter.paint(chunk, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_escape_that_never_ends_holds_nothing_back() {
        // An OSC title without its BEL, then a whole output: all of it comes through.
        let mut body = b"\x1b]0;title".to_vec();
        body.extend(std::iter::repeat_n(b'x', 1000));
        body.extend_from_slice(b"\r\nsw1#");
        let out = painted(&[&body[..10], &body[10..]]);
        assert!(out.ends_with("\r\nsw1#"), "{out:?}");
        assert_eq!(out.len(), body.len());
    }

    #[test]
    fn a_row_addressed_screen_gets_its_line_ends() {
        // ProCurve: the prompt and each typed character painted on row 24, then Enter
        // scrolls the screen up and the output starts on the fresh bottom line.
        let prompt = b"\x1b[1;24r\x1b[24;1H\x1b[2K\x1b[24;1Hsw1# \x1b[24;1H\x1b[24;6H";
        let echo = b"\x1b[24;6Hs\x1b[24;6H\x1b[?25h\x1b[24;7H\x1b[24;7Hh\x1b[24;8H";
        let enter =
            b"\x1b[1;0H\x1b[1M\x1b[24;1H\x1b[1L\x1b[24;8H\x1b[24;1H\x1b[2K\x1b[1;24r\x1b[24;1H";
        let out = painted(&[prompt, echo, enter, b"\r\nline\r\n", prompt]);
        let lines: Vec<String> = out
            .split('\n')
            .map(|l| String::from_utf8(render_line(l.as_bytes())).unwrap())
            .collect();
        assert_eq!(lines, ["sw1# sh", "", "line", "sw1# "]);
        // Exactly one line end was added, before the move to row 1: everything else is the
        // device's bytes.
        assert_eq!(out.matches('\n').count(), 3);
        assert!(out.contains("\x1b[24;8H\n\x1b[1;0H"), "{out:?}");
        // A command with no output: the next prompt starts a line of its own.
        let out = painted(&[prompt, echo, enter, prompt]);
        let last = out.rsplit('\n').next().unwrap();
        assert_eq!(render_line(last.as_bytes()), b"sw1# ");
        // A sequence cut between chunks is decided when it is whole.
        let out = painted(&[b"\x1b[24;1Hsw1# x\x1b[1", b";0H\x1b[1Mrest"]);
        assert_eq!(out, "\x1b[24;1Hsw1# x\n\x1b[1;0H\x1b[1Mrest");
    }

    #[test]
    fn lines_that_end_themselves_get_nothing_added() {
        for raw in [
            &b"show version\r\nCisco IOS\r\nr1#"[..],
            b"\r\x1b[Kr1# show clock\x1b[1D\x1b[1P\r\n",
            b"\x1b[9999B\x1b[6n\r\n[admin@r1] > ",
            // Moves within one row, and to a new row from a blank line.
            b"\x1b[5;1Hab\x1b[5;9Hcd\r\n\x1b[7;1Hnext",
        ] {
            assert_eq!(painted(&[raw]).as_bytes(), raw, "{raw:?}");
        }
    }

    #[test]
    fn column_addressing_positions_within_the_line() {
        assert_eq!(shown(b"\x1b[24;1Hsw1# \x1b[24;6Hshow"), "sw1# show");
        assert_eq!(shown(b"\x1b[24;3Hx"), "  x");
        assert_eq!(shown(b"abc\x1b[H!"), "!bc");
    }

    #[test]
    fn escapes_are_stripped_and_text_kept() {
        assert_eq!(
            strip_escapes(b"\x1b[24;1H\x1b[2Kline one\x1b[0m\r\n\x1b[?25h"),
            b"line one\r\n"
        );
        assert_eq!(strip_escapes(b"no escapes"), b"no escapes");
        assert_eq!(strip_escapes(b"cut\x1b["), b"cut");
    }

    #[test]
    fn pager_erasures_of_every_style() {
        // IOS: k backspaces, k blanks, k backspaces.
        assert_eq!(erasure_len(b"\x08\x08\x08   \x08\x08\x08next"), Some(9));
        // Junos and others: carriage return, blanks, carriage return.
        assert_eq!(erasure_len(b"\r            \rnext"), Some(14));
        // ANSI: erase the line, back to column one.
        assert_eq!(erasure_len(b"\x1b[2K\rnext"), Some(5));
        assert_eq!(erasure_len(b"\x1b[16D\x1b[Knext"), Some(8));
        // Indentation of the next line is output.
        assert_eq!(erasure_len(b"\x08\x08  \x08\x08    indented"), Some(6));
        assert_eq!(erasure_len(b"   indented"), Some(0));
        assert_eq!(erasure_len(b"next"), Some(0));
        // Still arriving.
        assert_eq!(erasure_len(b""), None);
        assert_eq!(erasure_len(b"\x08\x08  "), None);
        assert_eq!(erasure_len(b"\x1b[2"), None);
        // A line end right away: the erasure is over.
        assert_eq!(erasure_len(b"\r\nnext"), Some(0));
    }

    #[test]
    fn every_line_break_style_becomes_a_line_feed() {
        let normalized = |raw: &[u8]| {
            let mut out = Vec::new();
            normalize_newlines(raw, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(normalized(b"a\r\nb\r\n"), "a\nb\n");
        assert_eq!(normalized(b"a\n\rb\n\r"), "a\nb\n");
        assert_eq!(normalized(b"a\r\r\nb"), "a\nb");
        assert_eq!(normalized(b"a\r\n\r\nb"), "a\n\nb");
        assert_eq!(normalized(b"a\n\r\n\rb"), "a\n\nb");
        assert_eq!(normalized(b"a\nb"), "a\nb");
        // Carriage returns that are not part of a break stay.
        assert_eq!(normalized(b"50%\r100%\r\n"), "50%\r100%\n");
        assert_eq!(normalized(b"no breaks"), "no breaks");
        assert_eq!(normalized(b"trailing\r"), "trailing\r");
    }
}
