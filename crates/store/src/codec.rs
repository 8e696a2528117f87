//! The compact stored form of a metric snapshot (issue 14: an hour of
//! 1 s intervals of a 20-endpoint run in at most 50 MB).
//!
//! A stored row used to be zstd over the snapshot's wire JSON. Measured on
//! `examples/size.rs` at 1,000 requests/s, a row of 14.3 kB was about 4 kB
//! of floats written as decimal text, 6 kB of histograms and 1 kB of
//! everything else (tags, names, counts). This form keeps the same content
//! — the wire JSON's value tree, so every field of [`WireSnapshot`], known
//! today or added later, survives — but splits it into three streams,
//! each zstd-compressed on its own:
//!
//! - the *structure*: the tree in a small binary grammar (type byte,
//!   LEB128 integers, strings interned on first use, so the tag sets that
//!   repeat in every entry cost a few bytes);
//! - the *floats*: every non-integer number as its 8 IEEE bytes, in order
//!   (exact by construction, about 5 bytes each after zstd instead of 8);
//! - the *histograms*: each trend's HDR histogram as plain V2 bytes (the
//!   wire's per-histogram deflate hides the redundancy zstd finds).
//!
//! Decoding rebuilds the same value tree (histograms as base64 plain V2,
//! which the wire decoder reads like V2+deflate: same counts in every
//! bucket) and parses it into the snapshot. The decoder trusts nothing:
//! lengths are checked against what is left, nesting and output sizes are
//! bounded, and any inconsistency is an error, never a panic.

use std::collections::HashMap;
use std::io::Read as _;

use base64::Engine as _;
use serde_json::{Map, Number, Value};
use stampede_metrics::WireSnapshot;

use crate::error::{Result, StoreError};

/// The first bytes of a row in this form (a zstd frame, the older form,
/// starts with `28 b5 2f fd`).
pub const MAGIC: [u8; 4] = *b"SPM\x01";

/// zstd level of each stream: fast, and within a few percent of the
/// higher levels on this data.
const ZSTD_LEVEL: i32 = 3;

/// Largest decompressed stream accepted (far above a 1000-endpoint interval).
pub const MAX_DECODED_BYTES: u64 = 512 << 20;

/// Deepest nesting accepted (a snapshot nests 5 levels).
const MAX_DEPTH: u32 = 32;

// The structure's type bytes.
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_UINT: u8 = 3;
const T_NEG: u8 = 4;
const T_FLOAT: u8 = 5;
const T_STR: u8 = 6;
const T_ARRAY: u8 = 7;
const T_OBJECT: u8 = 8;
const T_HIST: u8 = 9;

/// HDR's "V2+deflate" cookie (`V2_COMPRESSED_COOKIE` of the hdrhistogram
/// crate); the payload after cookie and length is a zlib stream of the
/// plain V2 serialization, which starts with [`V2_PLAIN_COOKIE`].
const V2_DEFLATE_COOKIE: [u8; 4] = 0x1c84_9314_u32.to_be_bytes();

/// HDR's plain V2 cookie (`V2_COOKIE`).
pub const V2_PLAIN_COOKIE: [u8; 4] = 0x1c84_9313_u32.to_be_bytes();

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The plain V2 bytes of a base64 histogram, if it is V2+deflate or
/// plain V2 (else `None`: it is stored as the string it is).
pub fn plain_histogram(b64s: &str) -> Option<Vec<u8>> {
    let bytes = b64().decode(b64s).ok()?;
    if bytes.starts_with(&V2_PLAIN_COOKIE) {
        return Some(bytes);
    }
    if bytes.len() < 8 || bytes[..4] != V2_DEFLATE_COOKIE {
        return None;
    }
    let len = u32::from_be_bytes(bytes[4..8].try_into().ok()?) as usize;
    let body = bytes.get(8..8usize.checked_add(len)?)?;
    let mut plain = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_DECODED_BYTES)
        .read_to_end(&mut plain)
        .ok()?;
    plain.starts_with(&V2_PLAIN_COOKIE).then_some(plain)
}

/// Where a value sits in a snapshot's tree: only the `hist`/`neg` strings
/// of a trend aggregate (`entries[i].agg`) are histograms.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Top,
    Entries,
    Entry,
    Agg,
    Other,
}

#[derive(Default)]
struct Encoder {
    structure: Vec<u8>,
    floats: Vec<u8>,
    hists: Vec<u8>,
    strings: HashMap<String, u64>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Encoder {
    fn string(&mut self, s: &str) {
        if let Some(&id) = self.strings.get(s) {
            put_varint(&mut self.structure, id + 1);
            return;
        }
        put_varint(&mut self.structure, 0);
        put_varint(&mut self.structure, s.len() as u64);
        self.structure.extend_from_slice(s.as_bytes());
        let id = self.strings.len() as u64;
        self.strings.insert(s.to_owned(), id);
    }

    fn value(&mut self, v: &Value, role: Role) {
        match v {
            Value::Null => self.structure.push(T_NULL),
            Value::Bool(false) => self.structure.push(T_FALSE),
            Value::Bool(true) => self.structure.push(T_TRUE),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.structure.push(T_UINT);
                    put_varint(&mut self.structure, u);
                } else if let Some(i) = n.as_i64() {
                    // Negative: !i is its magnitude minus one.
                    self.structure.push(T_NEG);
                    put_varint(&mut self.structure, !i as u64);
                } else {
                    let f = n.as_f64().expect("a JSON number is u64, i64 or f64");
                    self.structure.push(T_FLOAT);
                    self.floats.extend_from_slice(&f.to_le_bytes());
                }
            }
            Value::String(s) => {
                self.structure.push(T_STR);
                self.string(s);
            }
            Value::Array(items) => {
                self.structure.push(T_ARRAY);
                put_varint(&mut self.structure, items.len() as u64);
                let inner = if role == Role::Entries {
                    Role::Entry
                } else {
                    Role::Other
                };
                for item in items {
                    self.value(item, inner);
                }
            }
            Value::Object(map) => {
                self.structure.push(T_OBJECT);
                put_varint(&mut self.structure, map.len() as u64);
                let trend = role == Role::Agg && map.get("type") == Some(&Value::from("trend"));
                for (k, item) in map {
                    self.string(k);
                    let inner = match (role, k.as_str()) {
                        (Role::Top, "entries") => Role::Entries,
                        (Role::Entry, "agg") => Role::Agg,
                        _ => Role::Other,
                    };
                    if trend && (k == "hist" || k == "neg") {
                        if let Some(plain) = item.as_str().and_then(plain_histogram) {
                            self.structure.push(T_HIST);
                            put_varint(&mut self.hists, plain.len() as u64);
                            self.hists.extend_from_slice(&plain);
                            continue;
                        }
                    }
                    self.value(item, inner);
                }
            }
        }
    }
}

fn compress(out: &mut Vec<u8>, stream: &[u8]) {
    let frame = zstd::bulk::compress(stream, ZSTD_LEVEL).expect("zstd compresses any input");
    put_varint(out, frame.len() as u64);
    out.extend_from_slice(&frame);
}

/// The stored bytes of a snapshot (see the module docs).
pub fn encode(s: &WireSnapshot) -> Vec<u8> {
    let tree = serde_json::to_value(s).expect("a wire snapshot always serializes");
    let mut enc = Encoder::default();
    enc.value(&tree, Role::Top);
    let mut out = MAGIC.to_vec();
    for stream in [&enc.structure, &enc.floats, &enc.hists] {
        compress(&mut out, stream);
    }
    out
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::corrupt("a stored snapshot is malformed", what)
}

/// A cursor over one stream.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.left() {
            return Err(corrupt("truncated"));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("a varint is too long"))
    }

    /// A length that cannot exceed what is left (each item takes a byte).
    fn len(&mut self) -> Result<usize> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.left())
            .ok_or_else(|| corrupt("a length exceeds the data"))
    }
}

fn decompress(c: &mut Cursor<'_>) -> Result<Vec<u8>> {
    let n = c.len()?;
    let frame = c.take(n)?;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(frame)
        .and_then(|d| d.take(MAX_DECODED_BYTES + 1).read_to_end(&mut out))
        .map_err(|e| StoreError::corrupt("a stored snapshot is not valid zstd", e))?;
    if out.len() as u64 > MAX_DECODED_BYTES {
        return Err(corrupt("a stream is too large"));
    }
    Ok(out)
}

struct Decoder<'a> {
    structure: Cursor<'a>,
    floats: Cursor<'a>,
    hists: Cursor<'a>,
    strings: Vec<String>,
}

impl Decoder<'_> {
    fn string(&mut self) -> Result<String> {
        match self.structure.varint()? {
            0 => {
                let n = self.structure.len()?;
                let s = std::str::from_utf8(self.structure.take(n)?)
                    .map_err(|_| corrupt("a string is not UTF-8"))?
                    .to_owned();
                self.strings.push(s.clone());
                Ok(s)
            }
            id => usize::try_from(id - 1)
                .ok()
                .and_then(|i| self.strings.get(i))
                .cloned()
                .ok_or_else(|| corrupt("a string refers to none before it")),
        }
    }

    fn value(&mut self, depth: u32) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(corrupt("nested too deep"));
        }
        Ok(match self.structure.byte()? {
            T_NULL => Value::Null,
            T_FALSE => Value::Bool(false),
            T_TRUE => Value::Bool(true),
            T_UINT => Value::from(self.structure.varint()?),
            T_NEG => Value::from(!(self.structure.varint()? as i64)),
            T_FLOAT => {
                let bytes = self.floats.take(8)?;
                let f = f64::from_le_bytes(bytes.try_into().expect("8 bytes"));
                Value::Number(Number::from_f64(f).ok_or_else(|| corrupt("a float is not finite"))?)
            }
            T_STR => Value::String(self.string()?),
            T_HIST => {
                let n = self.hists.len()?;
                Value::String(b64().encode(self.hists.take(n)?))
            }
            T_ARRAY => {
                let n = self.structure.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            T_OBJECT => {
                let n = self.structure.len()?;
                let mut map = Map::new();
                for _ in 0..n {
                    let k = self.string()?;
                    let v = self.value(depth + 1)?;
                    map.insert(k, v);
                }
                Value::Object(map)
            }
            _ => return Err(corrupt("unknown type byte")),
        })
    }
}

/// The snapshot back from [`encode`]'s bytes (`bytes` starts with [`MAGIC`]).
pub fn decode(bytes: &[u8]) -> Result<WireSnapshot> {
    let mut c = Cursor::new(
        bytes
            .strip_prefix(&MAGIC)
            .ok_or_else(|| corrupt("no magic"))?,
    );
    let structure = decompress(&mut c)?;
    let floats = decompress(&mut c)?;
    let hists = decompress(&mut c)?;
    if c.left() != 0 {
        return Err(corrupt("trailing bytes"));
    }
    let mut d = Decoder {
        structure: Cursor::new(&structure),
        floats: Cursor::new(&floats),
        hists: Cursor::new(&hists),
        strings: Vec::new(),
    };
    let tree = d.value(0)?;
    if d.structure.left() + d.floats.left() + d.hists.left() != 0 {
        return Err(corrupt("streams longer than the tree"));
    }
    serde_json::from_value(tree)
        .map_err(|e| StoreError::corrupt("a stored snapshot is malformed", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{Builtin, Registry, Sink, TagSet};

    fn sample() -> WireSnapshot {
        let reg = Registry::new();
        let mut sink = Sink::new();
        let tags = TagSet::from_pairs([
            ("name", "a"),
            ("hist", "HISTFAAAACR42pNpmSzMwMDAxQABzFCaEUzOmQRhAwA2DAMz"),
        ]);
        for (i, v) in [0.5, 12.25, 980.0, -3.0, 1e9, 0.1 + 0.2]
            .into_iter()
            .enumerate()
        {
            sink.add(Builtin::HttpReqDuration.metric(), &tags, v, i as u64);
            sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, i as u64);
            sink.add(Builtin::Vus.metric(), &TagSet::empty(), -v, i as u64);
        }
        sink.take(0, 1_000_000_000).to_wire(&reg)
    }

    #[test]
    fn round_trips_exactly_with_histograms_plain() {
        let snap = sample();
        let bytes = encode(&snap);
        assert!(bytes.starts_with(&MAGIC));
        let back = decode(&bytes).unwrap();
        assert_eq!(back, snap);
        // The histograms went to their stream as plain V2; a tag named
        // like a histogram field stayed a tag.
        let mut enc = Encoder::default();
        enc.value(&serde_json::to_value(&snap).unwrap(), Role::Top);
        let mut hists = Cursor::new(&enc.hists);
        let mut n = 0;
        while hists.left() > 0 {
            let len = hists.len().unwrap();
            assert_eq!(hists.take(len).unwrap()[..4], V2_PLAIN_COOKIE);
            n += 1;
        }
        assert_eq!(n, 2, "hist and neg of the one trend");
    }

    #[test]
    fn bad_bytes_are_errors_never_panics() {
        let good = encode(&sample());
        assert!(decode(b"SPM\x01").is_err());
        assert!(decode(b"nope").is_err());
        // Every truncation and many single-byte corruptions.
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err(), "truncated at {n}");
        }
        for i in 4..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xff;
            let _ = decode(&bad);
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
    }

    #[test]
    fn corrupt_structures_are_refused() {
        let frame = |s: &[u8]| {
            let mut out = MAGIC.to_vec();
            for stream in [s, &[][..], &[][..]] {
                compress(&mut out, stream);
            }
            out
        };
        // An array claiming more items than bytes, a dangling string
        // reference, an unknown type, a float with no float, deep nesting.
        for s in [
            &[T_ARRAY, 0xff, 0xff, 0x03][..],
            &[T_STR, 5][..],
            &[42][..],
            &[T_FLOAT][..],
            &[T_ARRAY, 1].repeat(40)[..],
        ] {
            assert!(decode(&frame(s)).is_err(), "{s:?}");
        }
    }

    #[test]
    fn histograms_in_other_forms_stay_strings() {
        assert_eq!(plain_histogram("not base64!"), None);
        assert_eq!(plain_histogram("AAAA"), None);
    }
}
