//! Text handling shared by ingest, identity resolution and the contact channels.

/// Whether a reply to a message asks to stop messages on its channel: T,
/// TD, N, 退订, 取消, STOP, UNSUBSCRIBE (case, surrounding space and a final
/// full stop or exclamation mark ignored) — the 回T退订 every marketing SMS
/// in China ends with.
pub fn is_opt_out_reply(text: &str) -> bool {
    let t = text.trim().trim_end_matches(['。', '.', '!', '！']).trim();
    let upper = t.to_ascii_uppercase();
    matches!(upper.as_str(), "T" | "TD" | "N" | "STOP" | "UNSUBSCRIBE")
        || ["退订", "取消", "退定", "取消订阅"].contains(&t)
}

/// Converts full-width ASCII variants (U+FF01..U+FF5E) and the ideographic
/// space to their half-width forms, trims, and collapses runs of white space
/// into one ASCII space.
///
/// ```
/// assert_eq!(panorama_domain::normalize_text("　ＡＢＣ１２３　 x "), "ABC123 x");
/// ```
pub fn normalize_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for ch in input.chars() {
        let ch = half_width(ch);
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(ch);
    }
    out
}

/// Maps one full-width character to its half-width form; other characters
/// are returned unchanged.
pub fn half_width(ch: char) -> char {
    match ch {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
        _ => ch,
    }
}

/// Keeps only ASCII digits (after full-width folding), and the letter X/x
/// when `keep_x` is set; used to read ids and phone numbers typed with
/// spaces, dashes or full-width digits.
pub fn digits_only(input: &str, keep_x: bool) -> String {
    input
        .chars()
        .map(half_width)
        .filter(|c| c.is_ascii_digit() || (keep_x && matches!(c, 'x' | 'X')))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_and_spaces() {
        assert_eq!(normalize_text("张　三"), "张 三");
        assert_eq!(normalize_text("  Ｌｉ  Ｌｅｉ\t"), "Li Lei");
        assert_eq!(normalize_text(""), "");
        assert_eq!(normalize_text("   "), "");
    }

    #[test]
    fn digits_only_keeps_x_on_request() {
        assert_eq!(digits_only("１１０-105 1949x", true), "1101051949X");
        assert_eq!(digits_only("138-1234-5678", false), "13812345678");
    }
}
