//! `k6/crypto`: hashes, HMAC and random bytes.

use std::cell::RefCell;
use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use rquickjs::function::{Opt, This};
use rquickjs::{Ctx, Exception, Object, Result, Value};
use sha2::digest::DynDigest;

use super::set_fn;
use crate::bytes::{array_buffer, to_bytes};
use crate::state::VuState;

/// A hash algorithm by its k6 name, with its block size (for HMAC).
fn hasher(name: &str) -> Option<(Box<dyn DynDigest>, usize)> {
    Some(match name {
        "md4" => (Box::new(md4::Md4::default()), 64),
        "md5" => (Box::new(md5::Md5::default()), 64),
        "sha1" => (Box::new(sha1::Sha1::default()), 64),
        "sha256" => (Box::new(sha2::Sha256::default()), 64),
        "sha384" => (Box::new(sha2::Sha384::default()), 128),
        "sha512" => (Box::new(sha2::Sha512::default()), 128),
        "sha512_224" => (Box::new(sha2::Sha512_224::default()), 128),
        "sha512_256" => (Box::new(sha2::Sha512_256::default()), 128),
        "ripemd160" => (Box::new(ripemd::Ripemd160::default()), 64),
        _ => return None,
    })
}

fn unknown_algorithm(ctx: &Ctx<'_>, name: &str) -> rquickjs::Error {
    Exception::throw_type(ctx, &format!("invalid algorithm: {name}"))
}

/// Incremental hash or HMAC state.
enum State {
    Hash(Box<dyn DynDigest>),
    Hmac {
        inner: Box<dyn DynDigest>,
        outer: Box<dyn DynDigest>,
    },
}

impl State {
    fn new_hmac(mut inner: Box<dyn DynDigest>, block: usize, key: &[u8]) -> Self {
        let mut k = if key.len() > block {
            let mut h = inner.box_clone();
            h.update(key);
            h.finalize_reset().into_vec()
        } else {
            key.to_vec()
        };
        k.resize(block, 0);
        let mut outer = inner.box_clone();
        inner.reset();
        outer.reset();
        inner.update(&k.iter().map(|b| b ^ 0x36).collect::<Vec<_>>());
        outer.update(&k.iter().map(|b| b ^ 0x5c).collect::<Vec<_>>());
        State::Hmac { inner, outer }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            State::Hash(h) => h.update(data),
            State::Hmac { inner, .. } => inner.update(data),
        }
    }

    /// The digest of everything written so far. Like Go's `hash.Hash.Sum`
    /// (hence k6), it does not reset: a second call returns the same digest
    /// and later updates continue the same input.
    fn finish(&self) -> Vec<u8> {
        match self {
            State::Hash(h) => h.box_clone().finalize().into_vec(),
            State::Hmac { inner, outer } => {
                let i = inner.box_clone().finalize();
                let mut o = outer.box_clone();
                o.update(&i);
                o.finalize().into_vec()
            }
        }
    }
}

/// Renders a digest in one of k6's output encodings.
fn encode<'js>(ctx: &Ctx<'js>, digest: Vec<u8>, enc: Option<&str>) -> Result<Value<'js>> {
    let text = match enc.unwrap_or("hex") {
        "hex" => hex(&digest),
        "base64" => STANDARD.encode(&digest),
        "base64url" => URL_SAFE.encode(&digest),
        "base64rawurl" => URL_SAFE_NO_PAD.encode(&digest),
        "binary" => return array_buffer(ctx, digest),
        other => {
            return Err(Exception::throw_type(
                ctx,
                &format!("invalid output encoding: {other}"),
            ))
        }
    };
    Ok(rquickjs::String::from_str(ctx.clone(), &text)?.into_value())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A `Hasher` object as returned by `createHash` and `createHMAC`.
fn hasher_object<'js>(ctx: &Ctx<'js>, state: State) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let st = Rc::new(RefCell::new(state));
    let s = st.clone();
    // Returns `this` rather than capturing the object: a Rust closure holding
    // its own object would be a cycle QuickJS's collector cannot see.
    set_fn(
        &obj,
        "update",
        move |ctx: Ctx<'js>, this: This<Value<'js>>, input: Value<'js>| -> Result<Value<'js>> {
            s.borrow_mut().update(&to_bytes(&ctx, &input)?);
            Ok(this.0)
        },
    )?;
    set_fn(
        &obj,
        "digest",
        move |ctx: Ctx<'js>, enc: Opt<Option<String>>| -> Result<Value<'js>> {
            let d = st.borrow().finish();
            encode(&ctx, d, enc.0.flatten().as_deref())
        },
    )?;
    Ok(obj)
}

/// Builds `k6/crypto`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, _state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    for name in [
        "md4",
        "md5",
        "sha1",
        "sha256",
        "sha384",
        "sha512",
        "sha512_224",
        "sha512_256",
        "ripemd160",
    ] {
        set_fn(
            &obj,
            name,
            move |ctx: Ctx<'js>,
                  input: Value<'js>,
                  enc: Opt<Option<String>>|
                  -> Result<Value<'js>> {
                let (h, _) = hasher(name).expect("listed algorithms exist");
                let mut st = State::Hash(h);
                st.update(&to_bytes(&ctx, &input)?);
                encode(&ctx, st.finish(), enc.0.flatten().as_deref())
            },
        )?;
    }
    set_fn(
        &obj,
        "hmac",
        |ctx: Ctx<'js>,
         alg: String,
         secret: Value<'js>,
         data: Value<'js>,
         enc: Opt<Option<String>>|
         -> Result<Value<'js>> {
            let (h, block) = hasher(&alg).ok_or_else(|| unknown_algorithm(&ctx, &alg))?;
            let mut st = State::new_hmac(h, block, &to_bytes(&ctx, &secret)?);
            st.update(&to_bytes(&ctx, &data)?);
            encode(&ctx, st.finish(), enc.0.flatten().as_deref())
        },
    )?;
    set_fn(
        &obj,
        "createHash",
        |ctx: Ctx<'js>, alg: String| -> Result<Object<'js>> {
            let (h, _) = hasher(&alg).ok_or_else(|| unknown_algorithm(&ctx, &alg))?;
            hasher_object(&ctx, State::Hash(h))
        },
    )?;
    set_fn(
        &obj,
        "createHMAC",
        |ctx: Ctx<'js>, alg: String, secret: Value<'js>| -> Result<Object<'js>> {
            let (h, block) = hasher(&alg).ok_or_else(|| unknown_algorithm(&ctx, &alg))?;
            hasher_object(&ctx, State::new_hmac(h, block, &to_bytes(&ctx, &secret)?))
        },
    )?;
    set_fn(
        &obj,
        "randomBytes",
        |ctx: Ctx<'js>, n: usize| -> Result<Value<'js>> {
            let mut buf = vec![0u8; n];
            rand::Rng::fill(&mut rand::rng(), &mut buf[..]);
            array_buffer(&ctx, buf)
        },
    )?;
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let (h, block) = hasher("sha256").unwrap();
        let mut st = State::new_hmac(h, block, b"Jefe");
        st.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&st.finish()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn digest_does_not_reset_as_go_sum() {
        let (h, _) = hasher("sha256").unwrap();
        let mut st = State::Hash(h);
        st.update(b"hel");
        assert_eq!(st.finish(), st.finish());
        st.update(b"lo");
        assert_eq!(
            hex(&st.finish()),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn hmac_hashes_long_keys() {
        let (h, block) = hasher("sha1").unwrap();
        let mut st = State::new_hmac(h, block, &[0xaa; 80]);
        st.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex(&st.finish()),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }
}
