//! Tables on the terminal: columns aligned by display width (a Chinese
//! character takes two cells, which `format!`'s widths do not know), numbers
//! to the right, text to the left.

use comfy_table::{CellAlignment, ContentArrangement, Table, presets::NOTHING};

/// Prints `rows` under `header` (indented by `indent` spaces). A column is
/// right-aligned when every value in it reads as a number (`12`, `-3.5`,
/// `+1.20pp`, `45.0%`, `¥1,200.00`), is `-` or is empty.
pub fn print(indent: usize, header: &[&str], rows: Vec<Vec<String>>) {
    say!("{}", render(indent, header, rows));
}

/// The table as text, one line per row.
pub fn render(indent: usize, header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    let numeric: Vec<bool> = (0..header.len())
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .all(|v| looks_numeric(v))
        })
        .collect();
    for row in rows {
        table.add_row(row);
    }
    for (c, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        if numeric.get(c).copied().unwrap_or(false) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let pad = " ".repeat(indent);
    table
        .lines()
        .map(|l| format!("{pad}{}", l.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn looks_numeric(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v == "-"
        || v.trim_start_matches(['+', '-', '¥'])
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
            && v.chars()
                .all(|c| c.is_ascii_digit() || "+-.,%¥p ".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_align_by_display_width_and_numbers_to_the_right() {
        let t = render(
            2,
            &["name", "records"],
            vec![
                vec!["张伟".into(), "12".into()],
                vec!["li".into(), "3".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[1].starts_with("  张伟  "), "{t}");
        // The numbers end in one column: 张伟 is four cells wide, li two.
        let width = |s: &str| {
            s.chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<usize>()
        };
        assert_eq!(width(lines[1]), width(lines[2]), "{t}");
        assert!(lines[2].ends_with(" 3"), "{t}");
        assert!(looks_numeric("+1.20pp") && looks_numeric("45.0%") && looks_numeric("-"));
        assert!(!looks_numeric("core") && !looks_numeric("2026-10-31 x"));
    }
}
