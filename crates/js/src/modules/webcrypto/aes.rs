//! AES-CBC (PKCS#7 padding), AES-CTR and AES-GCM with 128, 192 and 256-bit
//! keys. Parameter checks and their texts are k6's.

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, StreamCipher};
use rquickjs::{Ctx, Object, Result, Value};

use super::{Fail, Outcome};
use crate::bytes::to_bytes;

/// The algorithm parameters of `encrypt`/`decrypt`, read by the
/// JavaScript side's checks first.
#[derive(Debug, Default)]
pub(super) struct Params {
    iv: Vec<u8>,
    counter: Vec<u8>,
    length: i64,
    additional_data: Vec<u8>,
    tag_length: i64,
}

impl Params {
    pub(super) fn read<'js>(ctx: &Ctx<'js>, o: &Object<'js>) -> Result<Self> {
        let bytes = |name: &str| -> Result<Vec<u8>> {
            match o.get::<_, Option<Value>>(name)? {
                Some(v) if !v.is_undefined() && !v.is_null() => to_bytes(ctx, &v),
                _ => Ok(Vec::new()),
            }
        };
        let int = |name: &str| -> Result<i64> {
            Ok(o.get::<_, Option<f64>>(name)?.unwrap_or(0.0) as i64)
        };
        Ok(Params {
            iv: bytes("iv")?,
            counter: bytes("counter")?,
            length: int("length")?,
            additional_data: bytes("additionalData")?,
            tag_length: int("tagLength")?,
        })
    }
}

/// Runs `$body` with `$c` bound to the AES variant for a key of `$len` bytes.
macro_rules! with_aes {
    ($len:expr, $c:ident => $body:expr) => {
        match $len {
            16 => {
                type $c = Aes128;
                $body
            }
            24 => {
                type $c = Aes192;
                $body
            }
            32 => {
                type $c = Aes256;
                $body
            }
            n => Err(Fail::data(format!("invalid key length {n} bytes"))),
        }
    };
}

/// Encrypts or decrypts `data` with `alg` (`AES-CBC`, `AES-CTR`, `AES-GCM`).
pub(super) fn crypt(
    alg: &str,
    encrypt: bool,
    key: &[u8],
    p: &Params,
    data: &[u8],
) -> Outcome<Vec<u8>> {
    match alg {
        "AES-CBC" => cbc(encrypt, key, p, data),
        "AES-CTR" => ctr(encrypt, key, p, data),
        "AES-GCM" => gcm(encrypt, key, p, data),
        other => Err(Fail::not_supported(format!(
            "unsupported algorithm {other}"
        ))),
    }
}

fn cbc(encrypt: bool, key: &[u8], p: &Params, data: &[u8]) -> Outcome<Vec<u8>> {
    if p.iv.len() != 16 {
        return Err(Fail::operation(if encrypt {
            "iv length is not 16 bytes"
        } else {
            "iv length is invalid, should be 16 bytes"
        }));
    }
    with_aes!(key.len(), C => {
        if encrypt {
            let c = cbc::Encryptor::<C>::new_from_slices(key, &p.iv)
                .map_err(|_| Fail::operation("could not create cipher"))?;
            Ok(c.encrypt_padded_vec_mut::<Pkcs7>(data))
        } else {
            if data.is_empty() || !data.len().is_multiple_of(16) {
                return Err(Fail::operation("ciphertext is not a whole number of blocks"));
            }
            let c = cbc::Decryptor::<C>::new_from_slices(key, &p.iv)
                .map_err(|_| Fail::operation("could not create AES cipher"))?;
            c.decrypt_padded_vec_mut::<Pkcs7>(data)
                .map_err(|_| Fail::operation("invalid padding"))
        }
    })
}

/// AES-CTR with the whole 128-bit block as a big-endian counter, as Go's
/// `cipher.NewCTR` (k6) does; `length` is only checked.
fn ctr(encrypt: bool, key: &[u8], p: &Params, data: &[u8]) -> Outcome<Vec<u8>> {
    if p.counter.len() != 16 {
        return Err(Fail::operation(if encrypt {
            "counter length is not 16 bytes"
        } else {
            "counter length is invalid, should be 16 bytes"
        }));
    }
    if p.length <= 0 || p.length > 128 {
        return Err(Fail::operation(if encrypt {
            "invalid counter length, out of the 0 < x < 128 bounds"
        } else {
            "invalid length, should be within 1 <= length <= 128 bounds"
        }));
    }
    with_aes!(key.len(), C => {
        let mut c = ctr::Ctr128BE::<C>::new_from_slices(key, &p.counter)
            .map_err(|_| Fail::operation("could not create cipher"))?;
        let mut out = data.to_vec();
        c.apply_keystream(&mut out);
        Ok(out)
    })
}

fn gcm(encrypt: bool, key: &[u8], p: &Params, data: &[u8]) -> Outcome<Vec<u8>> {
    if p.iv.len() != 12 {
        return Err(Fail::not_supported("only 12 bytes long iv are supported"));
    }
    let tag_bits = if p.tag_length == 0 { 128 } else { p.tag_length };
    let payload = Payload {
        msg: data,
        aad: &p.additional_data,
    };
    macro_rules! run {
        ($tag:ty) => {
            with_aes!(key.len(), C => {
                let c = AesGcm::<C, U12, $tag>::new_from_slice(key)
                    .map_err(|_| Fail::operation("could not create cipher"))?;
                let nonce = aes_gcm::Nonce::<U12>::from_slice(&p.iv);
                if encrypt {
                    c.encrypt(nonce, payload)
                        .map_err(|_| Fail::operation("could not encrypt plaintext"))
                } else {
                    if data.len() < tag_bits as usize / 8 {
                        return Err(Fail::operation("ciphertext is too short"));
                    }
                    c.decrypt(nonce, payload)
                        .map_err(|_| Fail::operation("could not decrypt ciphertext"))
                }
            })
        };
    }
    match tag_bits {
        96 => run!(U12),
        104 => run!(U13),
        112 => run!(U14),
        120 => run!(U15),
        128 => run!(U16),
        _ => Err(Fail::operation(
            "invalid tag length, should be one of 96, 104, 112, 120, 128",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn key() -> Vec<u8> {
        (0u8..16).collect()
    }

    fn iv(n: usize) -> Vec<u8> {
        (100u8..100 + n as u8).collect()
    }

    // Expected values from k6 v1.1.0 with the same key, iv and "hello".
    #[test]
    fn cbc_matches_k6() {
        let p = Params {
            iv: iv(16),
            ..Default::default()
        };
        let ct = crypt("AES-CBC", true, &key(), &p, b"hello").unwrap();
        assert_eq!(hex(&ct), "4183c760d2f753bf6ef1d2581f6ce98b");
        assert_eq!(crypt("AES-CBC", false, &key(), &p, &ct).unwrap(), b"hello");
        let bad = crypt("AES-CBC", false, &key(), &p, &[0; 16]).unwrap_err();
        assert_eq!(bad.message, "invalid padding");
        let partial = crypt("AES-CBC", false, &key(), &p, &[0; 15]).unwrap_err();
        assert_eq!(partial.name, "OperationError");
    }

    #[test]
    fn ctr_matches_k6() {
        let p = Params {
            counter: iv(16),
            length: 64,
            ..Default::default()
        };
        let ct = crypt("AES-CTR", true, &key(), &p, b"hello").unwrap();
        assert_eq!(hex(&ct), "f6da02f0d2");
        assert_eq!(crypt("AES-CTR", false, &key(), &p, &ct).unwrap(), b"hello");
    }

    #[test]
    fn gcm_matches_k6() {
        let mut p = Params {
            iv: iv(12),
            ..Default::default()
        };
        let ct = crypt("AES-GCM", true, &key(), &p, b"hello").unwrap();
        assert_eq!(hex(&ct), "720722c9b4662bc3362474f313c904d1e1d23f47b3");
        p.tag_length = 96;
        let short = crypt("AES-GCM", true, &key(), &p, b"hello").unwrap();
        assert_eq!(hex(&short), "720722c9b4662bc3362474f313c904d1e1");
        assert_eq!(
            crypt("AES-GCM", false, &key(), &p, &short).unwrap(),
            b"hello"
        );
        p.tag_length = 128;
        p.additional_data = b"aad".to_vec();
        let aad = crypt("AES-GCM", true, &key(), &p, b"hello").unwrap();
        assert_eq!(hex(&aad), "720722c9b47879d005a9ab6fecb95a0b7c73996e41");
        let err = crypt("AES-GCM", false, &key(), &p, &ct).unwrap_err();
        assert_eq!(err.message, "could not decrypt ciphertext");
        p.iv = iv(16);
        let err = crypt("AES-GCM", true, &key(), &p, b"x").unwrap_err();
        assert_eq!(err.name, "NotSupportedError");
    }
}
