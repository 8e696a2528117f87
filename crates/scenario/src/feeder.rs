//! Feeders: rows of test data read once at load time from a CSV file (with a
//! header line) or a JSON array of objects, shared by every VU, handed out
//! one row per iteration in sequential, random or unique order.
//!
//! The CSV reader is RFC 4180's (quoted fields, `""` escapes, CRLF or LF,
//! embedded newlines): small enough that a dependency would cost more than
//! it saves. Rows are checked for their column count, so a malformed file
//! is an error with its line before any load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::Rng;
use serde_json::{Map, Value};

use crate::format::Order;

/// A feeder's rows and cursor.
#[derive(Debug)]
pub struct FeederData {
    /// Column names (CSV header, or the keys of the first JSON object).
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Arc<Map<String, Value>>>,
    /// Order of hand-out.
    pub order: Order,
    next: AtomicU64,
}

impl FeederData {
    /// A feeder over `rows`.
    pub fn new(columns: Vec<String>, rows: Vec<Map<String, Value>>, order: Order) -> Self {
        Self {
            columns,
            rows: rows.into_iter().map(Arc::new).collect(),
            order,
            next: AtomicU64::new(0),
        }
    }

    /// Parses CSV text; errors name the line.
    pub fn from_csv(text: &str, order: Order) -> Result<Self, String> {
        let records = parse_csv(text)?;
        let mut it = records.into_iter();
        let Some((_, header)) = it.next() else {
            return Err("the file is empty (a header line is needed)".into());
        };
        if header.iter().any(|h| h.is_empty()) {
            return Err("line 1: a column name is empty".into());
        }
        let mut rows = Vec::new();
        for (line, rec) in it {
            if rec.len() == 1 && rec[0].is_empty() {
                continue;
            }
            if rec.len() != header.len() {
                return Err(format!(
                    "line {line}: {} fields where the header has {}",
                    rec.len(),
                    header.len()
                ));
            }
            let row: Map<String, Value> = header
                .iter()
                .cloned()
                .zip(rec.into_iter().map(Value::String))
                .collect();
            rows.push(row);
        }
        if rows.is_empty() {
            return Err("the file has a header but no rows".into());
        }
        Ok(Self::new(header, rows, order))
    }

    /// Parses a JSON array of objects.
    pub fn from_json(text: &str, order: Order) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let Value::Array(items) = v else {
            return Err("the file must hold a JSON array of objects".into());
        };
        let mut rows = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::Object(m) => rows.push(m),
                _ => return Err(format!("element {i} is not an object")),
            }
        }
        let Some(first) = rows.first() else {
            return Err("the array is empty".into());
        };
        let columns = first.keys().cloned().collect();
        Ok(Self::new(columns, rows, order))
    }

    /// The row for the next iteration; `None` once a unique feeder ran out.
    pub fn draw(&self) -> Option<Arc<Map<String, Value>>> {
        let n = self.rows.len() as u64;
        let i = match self.order {
            Order::Sequential => self.next.fetch_add(1, Ordering::Relaxed) % n,
            Order::Random => rand::rng().random_range(0..n),
            Order::Unique => {
                let i = self.next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return None;
                }
                i
            }
        };
        Some(self.rows[i as usize].clone())
    }
}

/// RFC 4180 records, each with the line it starts on.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut rec = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start = 1;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            ',' => rec.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                rec.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut rec)));
                line += 1;
                start = line;
                any = false;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted field is not closed"));
    }
    if any {
        rec.push(field);
        out.push((start, rec));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_crlf() {
        let f = FeederData::from_csv(
            "email,password\r\na@x,\"p,1\"\r\n\"b\"\"q\",\"multi\nline\"\r\n",
            Order::Sequential,
        )
        .unwrap();
        assert_eq!(f.columns, ["email", "password"]);
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[0]["password"], "p,1");
        assert_eq!(f.rows[1]["email"], "b\"q");
        assert_eq!(f.rows[1]["password"], "multi\nline");
    }

    #[test]
    fn malformed_csv_names_the_line() {
        let e = FeederData::from_csv("a,b\n1,2\n3\n", Order::Random).unwrap_err();
        assert_eq!(e, "line 3: 1 fields where the header has 2");
        let e = FeederData::from_csv("a\n\"open\n", Order::Random).unwrap_err();
        assert!(e.contains("not closed"), "{e}");
        assert!(FeederData::from_csv("", Order::Random).is_err());
        assert!(FeederData::from_csv("a,b\n", Order::Random).is_err());
    }

    #[test]
    fn orders() {
        let f = FeederData::from_json(r#"[{"n":1},{"n":2}]"#, Order::Sequential).unwrap();
        let seq: Vec<Value> = (0..3).map(|_| f.draw().unwrap()["n"].clone()).collect();
        assert_eq!(seq, [1, 2, 1]);
        let u = FeederData::from_json(r#"[{"n":1},{"n":2}]"#, Order::Unique).unwrap();
        assert!(u.draw().is_some() && u.draw().is_some());
        assert!(u.draw().is_none());
        assert!(FeederData::from_json(r#"[1]"#, Order::Unique).is_err());
        assert!(FeederData::from_json(r#"{}"#, Order::Unique).is_err());
    }
}
