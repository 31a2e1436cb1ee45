//! Plain-text tables: a header row and aligned columns (numbers to the right).

/// A table under construction.
#[derive(Debug, Clone, Default)]
pub struct Table {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with a title and column headers.
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Self {
            title: title.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are blank, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, title first.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
        let widths: Vec<usize> = (0..n)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| cell(r, i).chars().count())
                    .chain(std::iter::once(self.headers[i].chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[String]| {
            let cells: Vec<String> = (0..n)
                .map(|i| {
                    let c = cell(row, i);
                    if i > 0 && is_numeric(&c) {
                        format!("{c:>w$}", w = widths[i])
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect();
            format!("| {} |", cells.join(" | "))
        };
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = format!("{}\n\n", self.title);
        out.push_str(&line(&self.headers));
        out.push('\n');
        out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }
}

/// Whether a cell reads as a number (digits with separators, a ratio, a percentage).
fn is_numeric(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix('-').unwrap_or(s);
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || ",.%x ()/".contains(c))
}

/// A count with thousands separators: `100,000`.
pub fn int(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate, rounded to a whole number, with separators.
pub fn rate(x: f64) -> String {
    if x.is_finite() && x >= 0.0 {
        int(x.round() as usize)
    } else {
        "-".to_owned()
    }
}

/// A value with `digits` decimals.
pub fn fixed(x: f64, digits: usize) -> String {
    format!("{x:.digits$}")
}

/// Bytes as KiB with separators.
pub fn kib(bytes: f64) -> String {
    if bytes < 0.0 {
        format!("-{}", int((-bytes / 1024.0).round() as usize))
    } else {
        int((bytes / 1024.0).round() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_alignment() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(100_000), "100,000");
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(kib(2048.0), "2");
        let mut t = Table::new("T", &["name", "value"]);
        t.row(vec!["a".into(), "1,000".into()]);
        t.row(vec!["bb".into(), "7".into()]);
        let text = t.render();
        assert!(text.contains("| a    | 1,000 |"), "{text}");
        assert!(text.contains("| bb   |     7 |"), "{text}");
        assert!(is_numeric("-0.5") && !is_numeric("-"));
    }
}
