//! Web Crypto: the global `crypto` (`getRandomValues`, `randomUUID`,
//! `subtle`) as k6 v1.1.0 has it, also importable as
//! `k6/experimental/webcrypto`.
//!
//! `js/webcrypto.js` holds the API surface (algorithm normalization, usage
//! checks, `CryptoKey`, k6's error names and texts); this native part does
//! the cryptography on bytes and opaque key handles ([`KeyHandle`]). Native
//! failures are thrown as `{name, message}` objects that the JavaScript side
//! turns into errors named like DOMExceptions (`OperationError`, ...).

use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::object::{Accessor, Property};
use rquickjs::{Array, Class, Ctx, JsLifetime, Object, Result, Value};

use super::set_fn;
use crate::bytes::{array_buffer, to_bytes};
use crate::state::VuState;

mod aes;
mod ec;
mod hash;
mod rsa;

pub(crate) use hash::random_uuid;

/// The module name, also used to load the JavaScript part for the global.
const MODULE: &str = "k6/experimental/webcrypto";

/// A failed operation: a DOMException name and k6's message.
#[derive(Debug, PartialEq)]
pub(crate) struct Fail {
    name: &'static str,
    message: String,
}

impl Fail {
    fn new(name: &'static str, message: impl Into<String>) -> Self {
        Fail {
            name,
            message: message.into(),
        }
    }

    fn operation(message: impl Into<String>) -> Self {
        Self::new("OperationError", message)
    }

    fn data(message: impl Into<String>) -> Self {
        Self::new("DataError", message)
    }

    fn not_supported(message: impl Into<String>) -> Self {
        Self::new("NotSupportedError", message)
    }

    fn invalid_access(message: impl Into<String>) -> Self {
        Self::new("InvalidAccessError", message)
    }

    /// Throws `{name, message}` for the JavaScript side to wrap.
    fn throw(self, ctx: &Ctx<'_>) -> rquickjs::Error {
        match Object::new(ctx.clone()).and_then(|o| {
            o.set("name", self.name)?;
            o.set("message", self.message)?;
            Ok(o)
        }) {
            Ok(o) => ctx.throw(o.into_value()),
            Err(e) => e,
        }
    }
}

type Outcome<T> = std::result::Result<T, Fail>;

/// Key material behind a `CryptoKey`.
pub(crate) enum Material {
    /// AES and HMAC keys.
    Secret(Vec<u8>),
    /// ECDSA and ECDH keys.
    Ec(ec::EcKey),
    /// RSASSA-PKCS1-v1_5, RSA-PSS and RSA-OAEP keys.
    Rsa(rsa::RsaKey),
}

impl Material {
    fn kind(&self) -> &'static str {
        match self {
            Material::Secret(_) => "secret",
            Material::Ec(k) if k.is_private() => "private",
            Material::Rsa(k) if k.is_private() => "private",
            _ => "public",
        }
    }
}

/// The native handle a `CryptoKey` keeps in a private field: the key
/// material never reaches JavaScript unless exported.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "CryptoKeyHandle")]
pub(crate) struct KeyHandle {
    #[qjs(skip_trace)]
    material: Rc<Material>,
}

fn handle<'js>(ctx: &Ctx<'js>, material: Material) -> Result<Value<'js>> {
    Ok(Class::instance(
        ctx.clone(),
        KeyHandle {
            material: Rc::new(material),
        },
    )?
    .into_value())
}

fn material(h: &Class<'_, KeyHandle>) -> Rc<Material> {
    h.borrow().material.clone()
}

fn pair<'js>(ctx: &Ctx<'js>, private: Material, public: Material) -> Result<Value<'js>> {
    let arr = Array::new(ctx.clone())?;
    arr.set(0, handle(ctx, private)?)?;
    arr.set(1, handle(ctx, public)?)?;
    Ok(arr.into_value())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a JWK member (base64url, with or without padding).
fn from_b64(field: &str, text: &str) -> Outcome<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| Fail::data(format!("invalid JWK member {field:?}: {e}")))
}

/// A required string member of a JWK object.
fn jwk_member(jwk: &Object<'_>, field: &str) -> Result<Option<String>> {
    jwk.get::<_, Option<String>>(field)
}

fn required(jwk: &Object<'_>, field: &str) -> Result<Outcome<Vec<u8>>> {
    Ok(match jwk_member(jwk, field)? {
        Some(text) => from_b64(field, &text),
        None => Err(Fail::data(format!("JWK member {field:?} is missing"))),
    })
}

/// Runs `f`, throwing its [`Fail`] as a JavaScript value.
fn run<'js, T>(ctx: &Ctx<'js>, f: impl FnOnce() -> Outcome<T>) -> Result<T> {
    f().map_err(|fail| fail.throw(ctx))
}

/// What the JavaScript side needs to describe a key: `{type, curve,
/// modulusLength, publicExponent, length}`.
fn describe<'js>(ctx: &Ctx<'js>, m: &Material) -> Result<Object<'js>> {
    let o = Object::new(ctx.clone())?;
    o.set("type", m.kind())?;
    match m {
        Material::Secret(bytes) => o.set("length", bytes.len() * 8)?,
        Material::Ec(k) => o.set("curve", k.curve().name())?,
        Material::Rsa(k) => {
            o.set("modulusLength", k.modulus_bits())?;
            o.set("publicExponent", array_buffer(ctx, k.public_exponent())?)?;
        }
    }
    Ok(o)
}

/// Builds the native part of `k6/experimental/webcrypto`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, _state: &Rc<VuState>) -> Result<Object<'js>> {
    let n = Object::new(ctx.clone())?;
    set_fn(&n, "random", |ctx: Ctx<'js>, len: usize| {
        array_buffer(&ctx, hash::random_bytes(len))
    })?;
    set_fn(&n, "uuid", hash::random_uuid)?;
    set_fn(
        &n,
        "digest",
        |ctx: Ctx<'js>, alg: String, data: Value<'js>| -> Result<Value<'js>> {
            let data = to_bytes(&ctx, &data)?;
            let out = run(&ctx, || hash::digest(&alg, &data))?;
            array_buffer(&ctx, out)
        },
    )?;
    set_fn(&n, "describe", |ctx: Ctx<'js>, h: Class<'js, KeyHandle>| {
        describe(&ctx, &material(&h))
    })?;
    set_fn(&n, "generateSecret", |ctx: Ctx<'js>, len: usize| {
        handle(&ctx, Material::Secret(hash::random_bytes(len)))
    })?;
    set_fn(&n, "generateEc", |ctx: Ctx<'js>, curve: String| {
        let (private, public) = run(&ctx, || ec::generate(&curve))?;
        pair(&ctx, Material::Ec(private), Material::Ec(public))
    })?;
    set_fn(
        &n,
        "generateRsa",
        |ctx: Ctx<'js>, bits: usize, exponent: Value<'js>| -> Result<Value<'js>> {
            let exponent = to_bytes(&ctx, &exponent)?;
            let (private, public) = run(&ctx, || rsa::generate(bits, &exponent))?;
            pair(&ctx, Material::Rsa(private), Material::Rsa(public))
        },
    )?;
    set_fn(
        &n,
        "importKey",
        |ctx: Ctx<'js>,
         kind: String,
         format: String,
         data: Value<'js>,
         curve: Opt<String>|
         -> Result<Value<'js>> {
            let material = import(&ctx, &kind, &format, &data, curve.0.as_deref())?;
            handle(&ctx, material)
        },
    )?;
    set_fn(
        &n,
        "exportKey",
        |ctx: Ctx<'js>, format: String, h: Class<'js, KeyHandle>| -> Result<Value<'js>> {
            export(&ctx, &format, &material(&h))
        },
    )?;
    set_fn(
        &n,
        "sign",
        |ctx: Ctx<'js>,
         alg: String,
         h: Class<'js, KeyHandle>,
         hash: String,
         salt: usize,
         data: Value<'js>|
         -> Result<Value<'js>> {
            let data = to_bytes(&ctx, &data)?;
            let m = material(&h);
            let sig = run(&ctx, || match (alg.as_str(), &*m) {
                ("HMAC", Material::Secret(key)) => hash::hmac_sign(&hash, key, &data),
                ("ECDSA", Material::Ec(k)) => k.sign(&hash, &data),
                ("RSASSA-PKCS1-v1_5", Material::Rsa(k)) => k.sign_pkcs1(&hash, &data),
                ("RSA-PSS", Material::Rsa(k)) => k.sign_pss(&hash, salt, &data),
                _ => Err(Fail::invalid_access(format!("a {alg} key cannot sign"))),
            })?;
            array_buffer(&ctx, sig)
        },
    )?;
    set_fn(
        &n,
        "verify",
        |ctx: Ctx<'js>,
         alg: String,
         h: Class<'js, KeyHandle>,
         hash: String,
         salt: usize,
         sig: Value<'js>,
         data: Value<'js>|
         -> Result<bool> {
            let sig = to_bytes(&ctx, &sig)?;
            let data = to_bytes(&ctx, &data)?;
            let m = material(&h);
            run(&ctx, || match (alg.as_str(), &*m) {
                ("HMAC", Material::Secret(key)) => hash::hmac_verify(&hash, key, &sig, &data),
                ("ECDSA", Material::Ec(k)) => k.verify(&hash, &sig, &data),
                ("RSASSA-PKCS1-v1_5", Material::Rsa(k)) => k.verify_pkcs1(&hash, &sig, &data),
                ("RSA-PSS", Material::Rsa(k)) => k.verify_pss(&hash, salt, &sig, &data),
                _ => Err(Fail::invalid_access(format!("a {alg} key cannot verify"))),
            })
        },
    )?;
    for (name, encrypt) in [("encrypt", true), ("decrypt", false)] {
        set_fn(
            &n,
            name,
            move |ctx: Ctx<'js>,
                  alg: String,
                  h: Class<'js, KeyHandle>,
                  params: Object<'js>,
                  data: Value<'js>|
                  -> Result<Value<'js>> {
                let data = to_bytes(&ctx, &data)?;
                let m = material(&h);
                let out = match (alg.as_str(), &*m) {
                    ("RSA-OAEP", Material::Rsa(k)) => {
                        let hash: String = params.get("hash")?;
                        let label = match params.get::<_, Option<Value>>("label")? {
                            Some(v) if !v.is_undefined() && !v.is_null() => {
                                Some(to_bytes(&ctx, &v)?)
                            }
                            _ => None,
                        };
                        run(&ctx, || k.oaep(encrypt, &hash, label.as_deref(), &data))?
                    }
                    (_, Material::Secret(key)) => {
                        let params = aes::Params::read(&ctx, &params)?;
                        run(&ctx, || aes::crypt(&alg, encrypt, key, &params, &data))?
                    }
                    _ => return Err(Fail::invalid_access("wrong key type").throw(&ctx)),
                };
                array_buffer(&ctx, out)
            },
        )?;
    }
    set_fn(
        &n,
        "ecdh",
        |ctx: Ctx<'js>,
         private: Class<'js, KeyHandle>,
         public: Class<'js, KeyHandle>|
         -> Result<Value<'js>> {
            let (private, public) = (material(&private), material(&public));
            let bits = run(&ctx, || match (&*private, &*public) {
                (Material::Ec(a), Material::Ec(b)) => a.ecdh(b),
                _ => Err(Fail::invalid_access("ECDH needs elliptic curve keys")),
            })?;
            array_buffer(&ctx, bits)
        },
    )?;
    Ok(n)
}

/// `importKey` for the key kinds `secret`, `ec` and `rsa`.
fn import<'js>(
    ctx: &Ctx<'js>,
    kind: &str,
    format: &str,
    data: &Value<'js>,
    curve: Option<&str>,
) -> Result<Material> {
    if format == "jwk" {
        let Some(jwk) = data.as_object() else {
            return Err(Fail::data("JWK key data must be an object").throw(ctx));
        };
        let kty = jwk_member(jwk, "kty")?.unwrap_or_default();
        let material = match kind {
            "secret" => {
                if kty != "oct" {
                    return Err(Fail::data(format!(
                        "invalid symmetric JWK: invalid key type: {kty}"
                    ))
                    .throw(ctx));
                }
                let k = required(jwk, "k")?;
                run(ctx, || k.map(Material::Secret))?
            }
            "ec" => {
                let members = ec::JwkMembers::read(jwk)?;
                run(ctx, || {
                    if kty != "EC" {
                        return Err(Fail::data(format!(
                            "invalid EC JWK: invalid key type: {kty}"
                        )));
                    }
                    ec::import_jwk(curve.unwrap_or_default(), members?).map(Material::Ec)
                })?
            }
            _ => {
                let members = rsa::JwkMembers::read(jwk)?;
                run(ctx, || {
                    if kty != "RSA" {
                        return Err(Fail::data(format!(
                            "invalid RSA JWK: invalid key type: {kty}"
                        )));
                    }
                    rsa::import_jwk(members?).map(Material::Rsa)
                })?
            }
        };
        return Ok(material);
    }
    let bytes = to_bytes(ctx, data)?;
    run(ctx, || match kind {
        "secret" => Ok(Material::Secret(bytes)),
        "ec" => ec::import(curve.unwrap_or_default(), format, &bytes).map(Material::Ec),
        _ => rsa::import(format, &bytes).map(Material::Rsa),
    })
}

/// `exportKey`: an `ArrayBuffer`, or the key's own JWK members (the
/// JavaScript side adds `alg`, `ext` and `key_ops` where k6 does).
fn export<'js>(ctx: &Ctx<'js>, format: &str, m: &Material) -> Result<Value<'js>> {
    if format == "jwk" {
        let members: Vec<(&str, String)> = match m {
            Material::Secret(bytes) => vec![("kty", "oct".into()), ("k", b64(bytes))],
            Material::Ec(k) => k.jwk(),
            Material::Rsa(k) => k.jwk(),
        };
        let o = Object::new(ctx.clone())?;
        for (k, v) in members {
            o.set(k, v)?;
        }
        return Ok(o.into_value());
    }
    let bytes = run(ctx, || match m {
        Material::Secret(bytes) if format == "raw" => Ok(bytes.clone()),
        Material::Secret(_) => Err(Fail::not_supported(format!(
            "unsupported key format {format}"
        ))),
        Material::Ec(k) => k.export(format),
        Material::Rsa(k) => k.export(format),
    })?;
    array_buffer(ctx, bytes)
}

/// Defines the global `crypto` as an accessor that loads the module on
/// first use, so VUs whose script never touches it pay nothing for it.
pub(crate) fn install_global<'js>(ctx: &Ctx<'js>, _state: &Rc<VuState>) -> Result<()> {
    let get = |ctx: Ctx<'js>| -> Result<Value<'js>> {
        let crypto = instance(&ctx)?;
        define_global(&ctx, crypto.clone())?;
        Ok(crypto)
    };
    let set = |ctx: Ctx<'js>, v: Value<'js>| define_global(&ctx, v);
    ctx.globals()
        .prop("crypto", Accessor::new(get, set).configurable())
}

/// Replaces the accessor with a plain, writable property.
fn define_global<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> Result<()> {
    ctx.globals()
        .prop("crypto", Property::from(v).writable().configurable())
}

/// The VU's `crypto` object: the one the module built already (when the
/// script imported it), else the module is loaded and evaluated now.
fn instance<'js>(ctx: &Ctx<'js>) -> Result<Value<'js>> {
    crate::loader::builtin_export(ctx, MODULE, "crypto")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwk_members_decode_with_or_without_padding() {
        assert_eq!(from_b64("k", "c2VjcmV0").unwrap(), b"secret");
        assert_eq!(from_b64("k", "AQAB").unwrap(), [1, 0, 1]);
        assert_eq!(from_b64("k", "AQ==").unwrap(), [1]);
        assert_eq!(from_b64("k", "!").unwrap_err().name, "DataError");
    }
}
