//! Native part of `k6/experimental/csv`: a CSV reader with Go's
//! `encoding/csv` semantics (what k6 uses: quoted fields, `""` escapes,
//! CRLF folded to LF, blank lines skipped, every record as wide as the
//! first, Go's error messages) and k6's line options.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use rquickjs::{Array, Ctx, Exception, Object, Result, Value};

use super::set_fn;
use crate::program::FileData;
use crate::state::VuState;

/// Reads records one at a time from a file's bytes, as Go's `csv.Reader`
/// with `FieldsPerRecord = 0`, `LazyQuotes = false`.
pub(crate) struct CsvReader {
    data: FileData,
    pos: usize,
    /// The physical line the next byte is on (1-based).
    line: usize,
    comma: u8,
    /// Fields every record must have, set by the first record.
    fields: Option<usize>,
}

/// A parse error, shown as Go's `csv.ParseError`.
#[derive(Debug, PartialEq)]
pub(crate) struct CsvError {
    start_line: usize,
    line: usize,
    column: usize,
    kind: CsvErrorKind,
}

#[derive(Debug, PartialEq)]
enum CsvErrorKind {
    BareQuote,
    Quote,
    FieldCount,
}

impl std::fmt::Display for CsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            CsvErrorKind::FieldCount => {
                return write!(f, "record on line {}: wrong number of fields", self.line)
            }
            CsvErrorKind::BareQuote => "bare \" in non-quoted-field",
            CsvErrorKind::Quote => "extraneous or missing \" in quoted-field",
        };
        if self.start_line != self.line {
            write!(
                f,
                "record on line {}; parse error on line {}, column {}: {what}",
                self.start_line, self.line, self.column
            )
        } else {
            write!(
                f,
                "parse error on line {}, column {}: {what}",
                self.line, self.column
            )
        }
    }
}

impl CsvReader {
    /// A reader over `data` from byte `offset`, fields separated by `comma`.
    pub(crate) fn new(data: FileData, offset: usize, comma: u8) -> Self {
        Self {
            pos: offset.min(data.len()),
            data,
            line: 1,
            comma,
            fields: None,
        }
    }

    /// The next physical line (with its `\n`), CRLF folded to LF.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        if self.pos >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let mut line = rest[..end].to_vec();
        self.pos += end;
        self.line += 1;
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
            line.push(b'\n');
        } else if self.pos >= self.data.len() && line.ends_with(b"\r") {
            // Go drops a lone trailing `\r` at the end of the input.
            line.pop();
        }
        Some(line)
    }

    /// The next record, `None` at the end of the input.
    pub(crate) fn read(&mut self) -> std::result::Result<Option<Vec<String>>, CsvError> {
        // Skip blank lines.
        let (mut line, start_line) = loop {
            let start = self.line;
            match self.next_line() {
                None => return Ok(None),
                Some(l) if l == b"\n" => continue,
                Some(l) => break (l, start),
            }
        };
        let mut line_no = start_line;
        let mut fields: Vec<String> = Vec::new();
        let mut i = 0; // position in `line`
        let err = |kind, line: usize, column: usize| CsvError {
            start_line,
            line,
            column,
            kind,
        };
        loop {
            if line.get(i) != Some(&b'"') {
                // A plain field: up to the delimiter or the end of the line.
                let rest = &line[i..];
                let end = rest
                    .iter()
                    .position(|&b| b == self.comma)
                    .unwrap_or_else(|| rest.len() - usize::from(rest.ends_with(b"\n")));
                let field = &rest[..end];
                if let Some(q) = field.iter().position(|&b| b == b'"') {
                    return Err(err(CsvErrorKind::BareQuote, line_no, i + q + 1));
                }
                fields.push(String::from_utf8_lossy(field).into_owned());
                if rest.get(end) == Some(&self.comma) {
                    i += end + 1;
                    continue;
                }
                break;
            }
            // A quoted field, possibly over several lines.
            let mut field = Vec::new();
            i += 1;
            loop {
                match line[i..].iter().position(|&b| b == b'"') {
                    Some(q) => {
                        field.extend_from_slice(&line[i..i + q]);
                        i += q + 1;
                        match line.get(i) {
                            Some(b'"') => {
                                field.push(b'"');
                                i += 1;
                            }
                            Some(&c) if c == self.comma => {
                                i += 1;
                                fields.push(String::from_utf8_lossy(&field).into_owned());
                                break;
                            }
                            None | Some(b'\n') => {
                                fields.push(String::from_utf8_lossy(&field).into_owned());
                                i = line.len();
                                break;
                            }
                            Some(_) => {
                                return Err(err(CsvErrorKind::Quote, line_no, i));
                            }
                        }
                    }
                    None => {
                        field.extend_from_slice(&line[i..]);
                        match self.next_line() {
                            Some(next) => {
                                line_no += 1;
                                line = next;
                                i = 0;
                            }
                            None => {
                                return Err(err(CsvErrorKind::Quote, line_no, line.len() + 1));
                            }
                        }
                    }
                }
            }
            if i >= line.len() {
                break;
            }
        }
        match self.fields {
            None => self.fields = Some(fields.len()),
            Some(n) if n != fields.len() => {
                return Err(CsvError {
                    start_line,
                    line: start_line,
                    column: 1,
                    kind: CsvErrorKind::FieldCount,
                })
            }
            Some(_) => {}
        }
        Ok(Some(fields))
    }
}

/// k6's options of `csv.parse` and `csv.Parser`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CsvOptions {
    pub delimiter: u8,
    pub skip_first_line: bool,
    pub from_line: Option<i64>,
    pub to_line: Option<i64>,
    pub as_objects: bool,
}

/// A record: its fields, or an object keyed by the header's names.
pub(crate) enum Record {
    Fields(Vec<String>),
    Object(Vec<(String, String)>),
}

/// k6's reader: the CSV reader plus the header, skipped lines and `toLine`.
pub(crate) struct LineReader {
    csv: CsvReader,
    /// Records read so far (k6 counts records, not physical lines).
    current: i64,
    options: CsvOptions,
    header: Option<Vec<String>>,
}

impl LineReader {
    /// Validates the options and consumes the header and skipped lines.
    pub(crate) fn new(
        data: FileData,
        offset: usize,
        options: CsvOptions,
    ) -> std::result::Result<Self, String> {
        validate(&options)?;
        let mut r = Self {
            csv: CsvReader::new(data, offset, options.delimiter),
            current: 0,
            options,
            header: None,
        };
        let eof = || "EOF".to_string();
        if r.options.as_objects {
            let header = r
                .csv
                .read()
                .map_err(|e| format!("failed to read the first line; reason: {e}"))?
                .ok_or_else(|| "failed to read the first line; reason: EOF".to_string())?;
            r.header = Some(header);
            r.current += 1;
        }
        let from = r.options.from_line.unwrap_or(0);
        if r.options.skip_first_line && from == 0 {
            r.csv
                .read()
                .map_err(|e| e.to_string())
                .and_then(|rec| rec.ok_or_else(eof))
                .map_err(|e| format!("failed to skip the first line; reason: {e}"))?;
            r.current += 1;
        }
        while r.current < from {
            r.csv
                .read()
                .map_err(|e| e.to_string())
                .and_then(|rec| rec.ok_or_else(eof))
                .map_err(|e| format!("failed to skip lines until line {from}; reason: {e}"))?;
            r.current += 1;
        }
        Ok(r)
    }

    /// The next record, `None` past `toLine` or at the end of the input.
    pub(crate) fn next_record(&mut self) -> std::result::Result<Option<Record>, String> {
        if let Some(to) = self.options.to_line {
            if to > 0 && self.current > to {
                return Ok(None);
            }
        }
        let Some(fields) = self.csv.read().map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        self.current += 1;
        match &self.header {
            None => Ok(Some(Record::Fields(fields))),
            Some(h) if h.len() != fields.len() => Err(format!(
                "record length ({}) doesn't match header length ({})",
                fields.len(),
                h.len()
            )),
            Some(h) => Ok(Some(Record::Object(
                h.iter().cloned().zip(fields).collect(),
            ))),
        }
    }
}

fn validate(o: &CsvOptions) -> std::result::Result<(), String> {
    let from = o.from_line;
    if o.as_objects && o.skip_first_line {
        return Err("the 'header' option cannot be enabled when 'skipFirstLine' is true".into());
    }
    if o.as_objects && from.is_some_and(|f| f > 0) {
        return Err(
            "the 'header' option cannot be enabled when 'fromLine' is set to a value greater than 0"
                .into(),
        );
    }
    if let Some(f) = from.filter(|f| *f < 0) {
        return Err(format!(
            "the 'fromLine' option must be greater than or equal to 0; got {f}"
        ));
    }
    if let Some(t) = o.to_line.filter(|t| *t < 0) {
        return Err(format!(
            "the 'toLine' option must be greater than or equal to 0; got {t}"
        ));
    }
    Ok(())
}

fn record_value<'js>(ctx: &Ctx<'js>, rec: Record) -> Result<Value<'js>> {
    match rec {
        Record::Fields(f) => {
            let a = Array::new(ctx.clone())?;
            for (i, s) in f.into_iter().enumerate() {
                a.set(i, s)?;
            }
            Ok(a.into_value())
        }
        Record::Object(pairs) => {
            let o = Object::new(ctx.clone())?;
            for (k, v) in pairs {
                o.set(k, v)?;
            }
            Ok(o.into_value())
        }
    }
}

/// Reads the options object the JavaScript part normalized.
fn options_from(o: &Object<'_>) -> Result<CsvOptions> {
    let delimiter: String = o.get("delimiter")?;
    Ok(CsvOptions {
        delimiter: delimiter.bytes().next().unwrap_or(b','),
        skip_first_line: o.get("skipFirstLine")?,
        from_line: o.get::<_, Option<f64>>("fromLine")?.map(|v| v as i64),
        to_line: o.get::<_, Option<f64>>("toLine")?.map(|v| v as i64),
        as_objects: o.get("asObjects")?,
    })
}

fn read_file(ctx: &Ctx<'_>, state: &VuState, path: &str) -> Result<FileData> {
    state
        .test
        .program
        .read(Path::new(path))
        .map_err(|m| Exception::throw_message(ctx, &m))
}

/// Builds the native part of `k6/experimental/csv`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let parsers: Rc<RefCell<Vec<LineReader>>> = Rc::default();

    let s = state.clone();
    set_fn(&obj, "inInit", move || s.in_init())?;

    let s = state.clone();
    set_fn(
        &obj,
        "parse",
        move |ctx: Ctx<'js>,
              path: String,
              offset: usize,
              opts: Object<'js>|
              -> Result<Array<'js>> {
            let data = read_file(&ctx, &s, &path)?;
            let mut r = LineReader::new(data, offset, options_from(&opts)?).map_err(|m| {
                Exception::throw_message(
                    &ctx,
                    &format!("failed to create a new parser; reason: {m}"),
                )
            })?;
            let out = Array::new(ctx.clone())?;
            while let Some(rec) = r.next_record().map_err(|m| {
                Exception::throw_message(&ctx, &format!("failed to read record; reason: {m}"))
            })? {
                out.set(out.len(), record_value(&ctx, rec)?)?;
            }
            Ok(out)
        },
    )?;

    let s = state.clone();
    let p = parsers.clone();
    set_fn(
        &obj,
        "parser",
        move |ctx: Ctx<'js>, path: String, offset: usize, opts: Object<'js>| -> Result<usize> {
            let data = read_file(&ctx, &s, &path)?;
            let r = LineReader::new(data, offset, options_from(&opts)?).map_err(|m| {
                Exception::throw_message(
                    &ctx,
                    &format!("failed to create a new parser; reason: {m}"),
                )
            })?;
            let mut all = p.borrow_mut();
            all.push(r);
            Ok(all.len() - 1)
        },
    )?;

    // `[done, value]`; errors throw (the promise rejects).
    set_fn(
        &obj,
        "next",
        move |ctx: Ctx<'js>, handle: usize| -> Result<Option<Value<'js>>> {
            let rec = {
                let mut all = parsers.borrow_mut();
                let r = all
                    .get_mut(handle)
                    .ok_or_else(|| Exception::throw_type(&ctx, "not a csv parser"))?;
                r.next_record()
                    .map_err(|m| Exception::throw_message(&ctx, &m))?
            };
            rec.map(|r| record_value(&ctx, r)).transpose()
        },
    )?;
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, comma: u8) -> std::result::Result<Vec<Vec<String>>, String> {
        let mut r = CsvReader::new(FileData::from(text.as_bytes()), 0, comma);
        let mut out = Vec::new();
        while let Some(rec) = r.read().map_err(|e| e.to_string())? {
            out.push(rec);
        }
        Ok(out)
    }

    #[test]
    fn reads_quotes_crlf_and_blank_lines_as_go() {
        let got = records(
            "name,age,city\r\nalice,30,\"New York, NY\"\r\n\r\n\"car\"\"l\",40,\"multi\r\nline\"\n",
            b',',
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                vec!["name", "age", "city"],
                vec!["alice", "30", "New York, NY"],
                vec!["car\"l", "40", "multi\nline"],
            ]
        );
        assert_eq!(
            records("a;b\n1;\n", b';').unwrap(),
            vec![vec!["a", "b"], vec!["1", ""]]
        );
        assert_eq!(records("", b',').unwrap(), Vec::<Vec<String>>::new());
        assert_eq!(records("x", b',').unwrap(), vec![vec!["x"]]);
    }

    #[test]
    fn errors_read_as_go_parse_errors() {
        assert_eq!(
            records("a,b\n1,2\n3\n", b',').unwrap_err(),
            "record on line 3: wrong number of fields"
        );
        assert_eq!(
            records("a,b\n1,x\"y\n", b',').unwrap_err(),
            "parse error on line 2, column 4: bare \" in non-quoted-field"
        );
        assert_eq!(
            records("a,b\n1,\"x\"y\n", b',').unwrap_err(),
            "parse error on line 2, column 5: extraneous or missing \" in quoted-field"
        );
        assert!(records("a,\"b\n\nc", b',')
            .unwrap_err()
            .starts_with("record on line 1; parse error on line 3"));
    }

    #[test]
    fn a_wrong_record_is_skipped_and_reading_goes_on() {
        let mut r = CsvReader::new(FileData::from(&b"a,b\n1\n2,3\n"[..]), 0, b',');
        assert!(r.read().unwrap().is_some());
        assert!(r.read().is_err());
        assert_eq!(r.read().unwrap().unwrap(), vec!["2", "3"]);
    }

    fn lines(text: &str, o: CsvOptions) -> std::result::Result<Vec<Vec<String>>, String> {
        let mut r = LineReader::new(FileData::from(text.as_bytes()), 0, o)?;
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            match rec {
                Record::Fields(f) => out.push(f),
                Record::Object(p) => out.push(p.into_iter().map(|(k, v)| k + "=" + &v).collect()),
            }
        }
        Ok(out)
    }

    #[test]
    fn line_options_follow_k6() {
        let text = "h1,h2\na,b\nc,d\ne,f\n";
        let o = |f: fn(&mut CsvOptions)| {
            let mut o = CsvOptions {
                delimiter: b',',
                ..Default::default()
            };
            f(&mut o);
            o
        };
        assert_eq!(
            lines(text, o(|o| o.skip_first_line = true)).unwrap().len(),
            3
        );
        let r = lines(
            text,
            o(|o| {
                o.from_line = Some(1);
                o.to_line = Some(2);
            }),
        )
        .unwrap();
        assert_eq!(r, vec![vec!["a", "b"], vec!["c", "d"]]);
        assert_eq!(
            lines(text, o(|o| o.as_objects = true)).unwrap()[0],
            vec!["h1=a", "h2=b"]
        );
        assert!(lines(
            text,
            o(|o| {
                o.as_objects = true;
                o.skip_first_line = true;
            })
        )
        .unwrap_err()
        .contains("'header' option cannot be enabled"));
        assert_eq!(
            lines(text, o(|o| o.from_line = Some(10))).unwrap_err(),
            "failed to skip lines until line 10; reason: EOF"
        );
    }
}
