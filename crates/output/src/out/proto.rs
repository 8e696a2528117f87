//! Just enough Protocol Buffers encoding for Prometheus remote write and
//! OTLP: varints, zigzag, fixed 64-bit, doubles, strings, packed repeated
//! fields and nested messages. Fields are written in the order the caller
//! writes them; proto3 defaults (zero) are skipped unless asked.

/// A message being encoded.
#[derive(Default)]
pub(crate) struct Enc {
    pub buf: Vec<u8>,
}

const VARINT: u32 = 0;
const I64: u32 = 1;
const LEN: u32 = 2;

impl Enc {
    pub(crate) fn new() -> Self {
        Enc::default()
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from((field << 3) | wire));
    }

    /// `uint64`/`int64`/`uint32`/`bool`/enum; skipped when 0.
    pub(crate) fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.uint_always(field, v);
        }
    }

    /// A varint even when 0 (a `oneof` member must be present).
    pub(crate) fn uint_always(&mut self, field: u32, v: u64) {
        self.key(field, VARINT);
        self.varint(v);
    }

    /// `int64` (two's complement varint); skipped when 0.
    pub(crate) fn int64(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }

    /// `sint32`/`sint64` (zigzag); skipped when 0.
    pub(crate) fn sint(&mut self, field: u32, v: i64) {
        self.uint(field, zigzag(v));
    }

    /// `double`; skipped when 0 (and not negative zero).
    pub(crate) fn double(&mut self, field: u32, v: f64) {
        if v.to_bits() != 0 {
            self.double_always(field, v);
        }
    }

    /// A `double` even when 0.
    pub(crate) fn double_always(&mut self, field: u32, v: f64) {
        self.key(field, I64);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `fixed64`/`sfixed64`; skipped when 0.
    pub(crate) fn fixed64(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.key(field, I64);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A `fixed64`/`sfixed64` even when 0 (a `oneof` member).
    pub(crate) fn fixed64_always(&mut self, field: u32, v: u64) {
        self.key(field, I64);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `string`/`bytes`; skipped when empty.
    pub(crate) fn bytes(&mut self, field: u32, v: &[u8]) {
        if !v.is_empty() {
            self.key(field, LEN);
            self.varint(v.len() as u64);
            self.buf.extend_from_slice(v);
        }
    }

    /// `string`; skipped when empty.
    pub(crate) fn string(&mut self, field: u32, v: &str) {
        self.bytes(field, v.as_bytes());
    }

    /// A nested message (written even when empty).
    pub(crate) fn message(&mut self, field: u32, f: impl FnOnce(&mut Enc)) {
        let mut inner = Enc::new();
        f(&mut inner);
        self.key(field, LEN);
        self.varint(inner.buf.len() as u64);
        self.buf.extend_from_slice(&inner.buf);
    }

    /// `repeated fixed64` or `repeated double` bits, packed.
    pub(crate) fn packed_fixed64(&mut self, field: u32, vs: impl ExactSizeIterator<Item = u64>) {
        if vs.len() == 0 {
            return;
        }
        self.key(field, LEN);
        self.varint(vs.len() as u64 * 8);
        for v in vs {
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// `repeated sint64`, packed.
    pub(crate) fn packed_sint(&mut self, field: u32, vs: &[i64]) {
        if vs.is_empty() {
            return;
        }
        let mut inner = Enc::new();
        for &v in vs {
            inner.varint(zigzag(v));
        }
        self.key(field, LEN);
        self.varint(inner.buf.len() as u64);
        self.buf.extend_from_slice(&inner.buf);
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format() {
        let mut e = Enc::new();
        e.uint(1, 150);
        assert_eq!(e.buf, [0x08, 0x96, 0x01]);
        let mut e = Enc::new();
        e.string(2, "testing");
        assert_eq!(e.buf, b"\x12\x07testing");
        let mut e = Enc::new();
        e.sint(4, -104);
        assert_eq!(e.buf, [0x20, 0xcf, 0x01]);
        let mut e = Enc::new();
        e.double(1, 0.0);
        e.uint(2, 0);
        e.string(3, "");
        assert!(e.buf.is_empty());
        e.uint_always(6, 0);
        assert_eq!(e.buf, [0x30, 0x00]);
        let mut e = Enc::new();
        e.message(1, |m| m.double(1, 1.5));
        assert_eq!(e.buf, [0x0a, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]);
        let mut e = Enc::new();
        e.packed_sint(12, &[1, 0, -1]);
        assert_eq!(e.buf, [0x62, 0x03, 0x02, 0x00, 0x01]);
        let mut e = Enc::new();
        e.packed_fixed64(6, [3u64].into_iter());
        assert_eq!(e.buf, [0x32, 0x08, 3, 0, 0, 0, 0, 0, 0, 0]);
    }
}
