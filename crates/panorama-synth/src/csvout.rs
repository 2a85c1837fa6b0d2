//! Fast CSV row formatting into byte buffers (no per-field allocation).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// A CSV row being appended to a buffer.
pub struct Row<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Row<'a> {
    /// Starts a row at the end of `buf`.
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        Row { buf, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
    }

    /// A text field, quoted when it holds a comma, quote or line break.
    pub fn s(&mut self, v: &str) -> &mut Self {
        self.sep();
        if v.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            self.buf.push(b'"');
            for b in v.bytes() {
                if b == b'"' {
                    self.buf.push(b'"');
                }
                self.buf.push(b);
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(v.as_bytes());
        }
        self
    }

    /// An optional text field (empty when `None`).
    pub fn opt(&mut self, v: Option<&str>) -> &mut Self {
        self.s(v.unwrap_or(""))
    }

    /// An integer.
    pub fn i(&mut self, v: i64) -> &mut Self {
        self.sep();
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self
    }

    /// Minor units written as major units with two decimals (`1234.50`).
    pub fn yuan(&mut self, minor: i64) -> &mut Self {
        self.sep();
        if minor < 0 {
            self.buf.push(b'-');
        }
        let abs = minor.unsigned_abs();
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(abs / 100).as_bytes());
        self.buf.push(b'.');
        let cents = (abs % 100) as u8;
        self.buf.push(b'0' + cents / 10);
        self.buf.push(b'0' + cents % 10);
        self
    }

    /// A date as `YYYY<sep>MM<sep>DD` (`sep` may be empty).
    pub fn date(&mut self, d: NaiveDate, sep: &str) -> &mut Self {
        self.sep();
        push_date(self.buf, d, sep);
        self
    }

    /// An optional date.
    pub fn opt_date(&mut self, d: Option<NaiveDate>, sep: &str) -> &mut Self {
        match d {
            Some(d) => self.date(d, sep),
            None => self.s(""),
        }
    }

    /// A month as `YYYY<sep>MM`.
    pub fn month(&mut self, d: NaiveDate, sep: &str) -> &mut Self {
        self.sep();
        push_num(self.buf, d.year() as u32, 4);
        self.buf.extend_from_slice(sep.as_bytes());
        push_num(self.buf, d.month(), 2);
        self
    }

    /// A timestamp as `YYYY-MM-DD HH:MM:SS` (`compact`: `YYYYMMDDHHMMSS`).
    pub fn datetime(&mut self, t: NaiveDateTime, compact: bool) -> &mut Self {
        self.sep();
        push_date(self.buf, t.date(), if compact { "" } else { "-" });
        if !compact {
            self.buf.push(b' ');
        }
        let tsep: &[u8] = if compact { b"" } else { b":" };
        push_num(self.buf, t.hour(), 2);
        self.buf.extend_from_slice(tsep);
        push_num(self.buf, t.minute(), 2);
        self.buf.extend_from_slice(tsep);
        push_num(self.buf, t.second(), 2);
        self
    }

    /// Ends the row.
    pub fn end(&mut self) {
        self.buf.push(b'\n');
    }
}

fn push_num(buf: &mut Vec<u8>, v: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut n = v;
    for i in (0..width).rev() {
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    buf.extend_from_slice(&digits[..width]);
}

fn push_date(buf: &mut Vec<u8>, d: NaiveDate, sep: &str) {
    push_num(buf, d.year() as u32, 4);
    buf.extend_from_slice(sep.as_bytes());
    push_num(buf, d.month(), 2);
    buf.extend_from_slice(sep.as_bytes());
    push_num(buf, d.day(), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_fields() {
        let mut buf = Vec::new();
        let d = NaiveDate::from_ymd_opt(2024, 3, 9).unwrap();
        Row::new(&mut buf)
            .s("a,b")
            .i(-7)
            .yuan(-123_405)
            .yuan(5)
            .date(d, "-")
            .date(d, "")
            .month(d, "")
            .datetime(d.and_hms_opt(8, 5, 0).unwrap(), false)
            .end();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "\"a,b\",-7,-1234.05,0.05,2024-03-09,20240309,202403,2024-03-09 08:05:00\n"
        );
    }
}
