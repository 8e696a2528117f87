//! A trend's HDR histogram as it arrives on the wire, expanded only when read.
//!
//! A decoded HDR histogram is a dense array of counters (about 80 kB for a
//! trend of half-second latencies at 3 significant digits), while a worker's
//! one-second interval holds a few dozen distinct values. The server merges
//! every segment's snapshot of every interval (issue 15's controller goal:
//! 100 workers × 500 series per second), so it keeps what it parsed sparse —
//! the non-zero (index, count) pairs of the HDR V2 encoding — and adds those
//! pairs into the accumulating histogram directly. Reading a sparse histogram
//! (percentiles, re-encoding) expands it once, exactly as the hdrhistogram
//! deserializer would have. For the same reason the inflater that decodes
//! and the deflater that encodes (the same bytes as hdrhistogram's
//! `V2DeflateSerializer`) are kept per thread rather than made per
//! histogram: setting one up costs more than a small histogram's data.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

use super::trend::SIGFIG;

/// HDR's plain V2 cookie (`V2_COOKIE` of the hdrhistogram crate).
const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
/// HDR's V2 + deflate cookie (`V2_COMPRESSED_COOKIE`).
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9304 | 0x10;
/// The fixed part of a plain V2 encoding: cookie, payload length,
/// normalizing offset, significant digits, lowest, highest, ratio.
const V2_HEADER: usize = 40;
/// log2 of half the sub-bucket count for [`SIGFIG`] digits: 2·10³ values
/// with unit resolution need 2¹¹ sub-buckets.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 10;

/// The non-zero counters of a histogram of [`SIGFIG`] digits whose lowest
/// discernible value is 1 (every trend histogram's configuration).
#[derive(Debug)]
pub(crate) struct Sparse {
    /// (counter index, count), indices increasing.
    counts: Vec<(u32, u64)>,
    /// The sum of the counts.
    total: u64,
}

/// The value a counter index stands for, as `Histogram::value_for` computes
/// it for [`SIGFIG`] digits and a lowest discernible value of 1.
fn value_for(index: u32) -> u64 {
    let half = 1u64 << SUB_BUCKET_HALF_MAGNITUDE;
    let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let sub = u64::from(index) & (half - 1);
    if bucket < 0 {
        sub
    } else {
        (sub + half) << bucket
    }
}

impl Sparse {
    /// Adds these counts to `h` (same result as adding the expanded
    /// histogram: each count lands in the counter of its index).
    fn add_to(&self, h: &mut Histogram<u64>) {
        for &(i, c) in &self.counts {
            // `h` auto-resizes and values are below 2^63: cannot fail.
            h.record_n(value_for(i), c)
                .expect("an auto-resizing histogram takes any value below 2^63");
        }
    }

    /// The dense histogram.
    fn expand(&self) -> Histogram<u64> {
        let mut h =
            Histogram::new(SIGFIG).expect("3 significant digits is a valid histogram config");
        self.add_to(&mut h);
        h
    }
}

/// A histogram kept sparse until it is read or changed.
#[derive(Clone, Debug)]
pub(crate) struct LazyHist {
    /// Boxed: keeps `Aggregate`'s variants of similar size.
    dense: OnceLock<Box<Histogram<u64>>>,
    sparse: Option<Arc<Sparse>>,
}

impl LazyHist {
    /// An already dense histogram.
    pub(crate) fn dense(h: Histogram<u64>) -> LazyHist {
        LazyHist {
            dense: OnceLock::from(Box::new(h)),
            sparse: None,
        }
    }

    /// The histogram, expanded on first use.
    pub(crate) fn get(&self) -> &Histogram<u64> {
        self.dense.get_or_init(|| {
            self.sparse
                .as_ref()
                .expect("a lazy histogram is dense or sparse")
                .expand()
                .into()
        })
    }

    /// The histogram, to change: expanded, and no longer sparse.
    pub(crate) fn get_mut(&mut self) -> &mut Histogram<u64> {
        // A recording VU's histogram is dense already: nothing to do.
        if self.sparse.is_some() || self.dense.get().is_none() {
            self.get();
            self.sparse = None;
        }
        self.dense.get_mut().expect("expanded just above")
    }

    /// The number of recorded values.
    pub(crate) fn len(&self) -> u64 {
        match (self.dense.get(), &self.sparse) {
            (None, Some(s)) => s.total,
            _ => self.get().len(),
        }
    }

    /// Adds `other`'s values, without expanding `other` when it is sparse.
    pub(crate) fn add(&mut self, other: &LazyHist) {
        match (other.dense.get(), &other.sparse) {
            (None, Some(s)) => s.add_to(self.get_mut()),
            _ => self
                .get_mut()
                .add(other.get())
                .expect("auto-resizing histograms add"),
        }
    }

    /// Decodes an HDR V2 (plain or deflate) encoding: sparse when it has the
    /// trend configuration, else through hdrhistogram's own deserializer.
    pub(crate) fn decode(bytes: &[u8]) -> Result<LazyHist, String> {
        if let Some(sparse) = sparse_v2(bytes)? {
            return Ok(LazyHist {
                dense: OnceLock::new(),
                sparse: Some(Arc::new(sparse)),
            });
        }
        let mut h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| format!("histogram is not HDR V2: {e:?}"))?;
        h.auto(true);
        Ok(LazyHist::dense(h))
    }
}

/// Buffers and a deflate compressor kept between encodings: a fresh
/// compressor (what `V2DeflateSerializer` makes for each histogram) costs
/// more to allocate and set up than compressing a one-second trend does.
struct Encoder {
    plain: V2Serializer,
    buf: Vec<u8>,
    out: Vec<u8>,
    z: flate2::Compress,
}

thread_local! {
    static ENCODER: RefCell<Encoder> = RefCell::new(Encoder {
        plain: V2Serializer::new(),
        buf: Vec::new(),
        out: Vec::new(),
        // What `V2DeflateSerializer` uses: zlib framing, the default level.
        z: flate2::Compress::new(flate2::Compression::default(), true),
    });
}

/// `h`'s HDR V2 deflate encoding (the same bytes `V2DeflateSerializer`
/// writes), handed to `then`.
pub(crate) fn encode_deflate<R>(h: &Histogram<u64>, then: impl FnOnce(&[u8]) -> R) -> R {
    ENCODER.with(|e| {
        let e = &mut *e.borrow_mut();
        e.buf.clear();
        e.plain
            .serialize(h, &mut e.buf)
            .expect("serializing into a Vec cannot fail");
        e.out.clear();
        e.out.extend_from_slice(&V2_DEFLATE_COOKIE.to_be_bytes());
        e.out.extend_from_slice(&[0; 4]); // the length, below
        e.z.reset();
        loop {
            e.out.reserve(e.buf.len() / 2 + 64);
            let input = &e.buf[e.z.total_in() as usize..];
            match e
                .z
                .compress_vec(input, &mut e.out, flate2::FlushCompress::Finish)
            {
                Ok(flate2::Status::StreamEnd) => break,
                Ok(_) => {}
                Err(err) => unreachable!("deflating into a growing Vec cannot fail: {err}"),
            }
        }
        let len =
            u32::try_from(e.out.len() - 8).expect("a histogram encodes in far less than 4 GiB");
        e.out[4..8].copy_from_slice(&len.to_be_bytes());
        then(&e.out)
    })
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

thread_local! {
    /// An inflater and its output buffer kept between decodings: a fresh
    /// one (about 40 kB of state to allocate and clear) costs more than
    /// inflating a worker's one-second trend does.
    static DECODER: RefCell<(flate2::Decompress, Vec<u8>)> =
        RefCell::new((flate2::Decompress::new(true), Vec::new()));
}

/// The sparse form of a V2 (plain or deflate) encoding, or `None` when it
/// is not one this reads (another configuration or cookie: the caller falls
/// back to hdrhistogram's deserializer, which has the precise error).
fn sparse_v2(bytes: &[u8]) -> Result<Option<Sparse>, String> {
    match be_u32(bytes, 0) {
        Some(V2_COOKIE) => Ok(sparse_plain(bytes)),
        Some(V2_DEFLATE_COOKIE) => {
            let Some(len) = be_u32(bytes, 4) else {
                return Ok(None);
            };
            let Some(zlib) = bytes.get(8..8 + len as usize) else {
                return Ok(None);
            };
            DECODER.with(|d| {
                let (z, plain) = &mut *d.borrow_mut();
                z.reset(true);
                plain.clear();
                plain.reserve(V2_HEADER + 4 * zlib.len());
                loop {
                    let before = z.total_in();
                    match z.decompress_vec(
                        &zlib[z.total_in() as usize..],
                        plain,
                        flate2::FlushDecompress::Finish,
                    ) {
                        Ok(flate2::Status::StreamEnd) => break,
                        Ok(_) if plain.len() == plain.capacity() => {
                            plain.reserve(plain.len().max(256))
                        }
                        Ok(_) if z.total_in() > before => {}
                        // Truncated or corrupt: let the full deserializer say so.
                        Ok(_) | Err(_) => return Ok(None),
                    }
                }
                Ok(sparse_plain(plain))
            })
        }
        _ => Ok(None),
    }
}

/// The counts of a plain V2 encoding of the trend configuration.
fn sparse_plain(b: &[u8]) -> Option<Sparse> {
    if be_u32(b, 0)? != V2_COOKIE {
        return None;
    }
    let payload = be_u32(b, 4)? as usize;
    let (offset, digits, lowest) = (be_u32(b, 8)?, be_u32(b, 12)?, be_u64(b, 16)?);
    let ratio = f64::from_bits(be_u64(b, 32)?);
    if offset != 0 || digits != u32::from(SIGFIG) || lowest != 1 || ratio != 1.0 {
        return None;
    }
    let mut rest = b.get(V2_HEADER..V2_HEADER + payload)?;
    let (mut counts, mut total, mut index) = (Vec::new(), 0u64, 0u64);
    while !rest.is_empty() {
        let (zz, used) = varint(rest)?;
        rest = &rest[used..];
        let n = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
        if n < 0 {
            index = index.checked_add(n.unsigned_abs())?;
        } else {
            if n > 0 {
                // Past 2^63 (bucket 53 and up) is no trend's: not ours.
                if index >> SUB_BUCKET_HALF_MAGNITUDE > 53 {
                    return None;
                }
                counts.push((u32::try_from(index).ok()?, n as u64));
                total = total.checked_add(n as u64)?;
            }
            index += 1;
        }
    }
    Some(Sparse { counts, total })
}

/// An unsigned LEB128 varint of at most 9 bytes (the 9th holds 8 bits), as
/// HDR V2 writes them: (value, bytes used).
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().take(9).enumerate() {
        if i == 8 {
            return Some((v | u64::from(byte) << 56, 9));
        }
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer, V2Serializer};
    use proptest::prelude::*;

    fn counts(h: &Histogram<u64>) -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    proptest! {
        /// Both encodings decode sparse to exactly what hdrhistogram's own
        /// deserializer gives: counters, total, min, max and quantiles.
        #[test]
        fn sparse_equals_the_deserializer(values in prop::collection::vec((0u64..1u64 << 53, 1u64..1000), 0..60)) {
            let mut h = Histogram::<u64>::new(SIGFIG).unwrap();
            for &(v, n) in &values {
                h.record_n(v, n).unwrap();
            }
            for deflate in [false, true] {
                let mut buf = Vec::new();
                if deflate {
                    V2DeflateSerializer::new().serialize(&h, &mut buf).unwrap();
                } else {
                    V2Serializer::new().serialize(&h, &mut buf).unwrap();
                }
                let lazy = LazyHist::decode(&buf).unwrap();
                prop_assert!(lazy.sparse.is_some(), "the trend configuration decodes sparse");
                prop_assert_eq!(lazy.len(), h.len());
                let want: Histogram<u64> = Deserializer::new().deserialize(&mut &buf[..]).unwrap();
                let got = lazy.get();
                prop_assert_eq!(counts(got), counts(&want));
                prop_assert_eq!((got.min(), got.max(), got.len()), (want.min(), want.max(), want.len()));
                for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
                    prop_assert_eq!(got.value_at_quantile(q), want.value_at_quantile(q));
                }
                // Adding sparse equals adding the dense histogram.
                let mut a = LazyHist::dense(Histogram::new(SIGFIG).unwrap());
                a.get_mut().record(7).unwrap();
                let mut b = a.clone();
                a.add(&lazy);
                b.get_mut().add(&want).unwrap();
                prop_assert_eq!(counts(a.get()), counts(b.get()));
                prop_assert_eq!(a.get().len(), b.get().len());
            }
        }
    }

    #[test]
    fn encodes_the_bytes_the_deflate_serializer_writes() {
        let mut h = Histogram::<u64>::new(SIGFIG).unwrap();
        // Empty, then one value, then many: the kept compressor starts over
        // for each histogram.
        for round in 0..4u64 {
            for v in 0..round * 5000 {
                h.record_n(v * 37 % 900_000 + round, v % 7 + 1).unwrap();
            }
            let mut want = Vec::new();
            V2DeflateSerializer::new().serialize(&h, &mut want).unwrap();
            let got = encode_deflate(&h, <[u8]>::to_vec);
            assert_eq!(got, want, "round {round}");
            let back = LazyHist::decode(&got).unwrap();
            assert_eq!(counts(back.get()), counts(&h));
        }
    }

    #[test]
    fn other_configurations_fall_back_to_the_deserializer() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 1 << 40, 2).unwrap();
        h.record(12_345).unwrap();
        let mut buf = Vec::new();
        V2DeflateSerializer::new().serialize(&h, &mut buf).unwrap();
        let lazy = LazyHist::decode(&buf).unwrap();
        assert!(lazy.sparse.is_none());
        assert_eq!(counts(lazy.get()), counts(&h));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"\x1c\x84\x93\x14\0\0\0\x09abc",
            b"\x1c\x84\x93\x13\0\0\0\x40",
            b"nonsense",
        ] {
            assert!(LazyHist::decode(bad).is_err(), "{bad:?}");
        }
    }
}
