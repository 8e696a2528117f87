//! Request body compression (k6 `compression`) and response body decoding
//! (`Content-Encoding`), both for gzip, deflate (zlib), br and zstd.

use std::io::{Read, Write};

use bytes::Bytes;

use crate::error::{code, HttpError};
use crate::request::Encoding;

/// Compresses `body` with each encoding in turn; returns the body and the
/// `Content-Encoding` value (`gzip, br`).
pub(crate) fn compress(body: &[u8], encodings: &[Encoding]) -> std::io::Result<(Bytes, String)> {
    let mut data = body.to_vec();
    let mut header = String::new();
    for e in encodings {
        data = match e {
            Encoding::Gzip => {
                let mut w =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                w.write_all(&data)?;
                w.finish()?
            }
            Encoding::Deflate => {
                let mut w =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                w.write_all(&data)?;
                w.finish()?
            }
            Encoding::Br => {
                let mut out = Vec::new();
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    w.write_all(&data)?;
                }
                out
            }
            Encoding::Zstd => zstd::encode_all(&data[..], 3)?,
        };
        if !header.is_empty() {
            header.push_str(", ");
        }
        header.push_str(e.as_str());
    }
    Ok((Bytes::from(data), header))
}

/// Decodes a body per its `Content-Encoding` (last applied first). Unknown
/// codings leave the body as it is.
pub(crate) fn decompress(body: Bytes, content_encoding: &str) -> Result<Bytes, HttpError> {
    let mut data = body;
    for token in content_encoding.rsplit(',') {
        let token = token.trim();
        if token.is_empty() || token.eq_ignore_ascii_case("identity") {
            continue;
        }
        let Some(enc) = Encoding::parse(token) else {
            continue;
        };
        let mut out = Vec::with_capacity(data.len() * 4);
        let res = match enc {
            Encoding::Gzip => flate2::read::MultiGzDecoder::new(&data[..]).read_to_end(&mut out),
            Encoding::Deflate => flate2::read::ZlibDecoder::new(&data[..]).read_to_end(&mut out),
            Encoding::Br => brotli::Decompressor::new(&data[..], 4096).read_to_end(&mut out),
            Encoding::Zstd => zstd::stream::read::Decoder::new(&data[..])
                .and_then(|mut d| d.read_to_end(&mut out)),
        };
        if let Err(e) = res {
            return Err(HttpError::plain(
                code::RESPONSE_DECOMPRESSION,
                format!("error decompressing response body ({}: {e})", enc.as_str()),
            ));
        }
        data = Bytes::from(out);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_encoding() {
        let body = b"hello hello hello hello".repeat(10);
        for enc in [
            Encoding::Gzip,
            Encoding::Deflate,
            Encoding::Br,
            Encoding::Zstd,
        ] {
            let (c, h) = compress(&body, &[enc]).unwrap();
            assert_eq!(h, enc.as_str());
            assert_eq!(&decompress(c, &h).unwrap()[..], &body[..]);
        }
        let (c, h) = compress(&body, &[Encoding::Gzip, Encoding::Br]).unwrap();
        assert_eq!(h, "gzip, br");
        assert_eq!(&decompress(c, &h).unwrap()[..], &body[..]);
    }

    #[test]
    fn garbage_is_error_1701() {
        let e = decompress(Bytes::from_static(b"not gzip"), "gzip").unwrap_err();
        assert_eq!(e.code, 1701);
    }
}
