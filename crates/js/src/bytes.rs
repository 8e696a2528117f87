//! Binary data crossing the JavaScript boundary.

use rquickjs::{ArrayBuffer, Ctx, Exception, Object, Result, Value};

/// Reads bytes from a string (UTF-8), an `ArrayBuffer`, a typed array or
/// `DataView`, or an array of numbers.
pub(crate) fn to_bytes<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<Vec<u8>> {
    if let Some(s) = v.as_string() {
        return Ok(s.to_string()?.into_bytes());
    }
    if let Some(obj) = v.as_object() {
        if let Some(ab) = as_array_buffer(obj.clone()) {
            return Ok(buffer_bytes(&ab, 0, None));
        }
        if let Some(buf) = obj.get::<_, Option<Object>>("buffer")? {
            if let Some(ab) = as_array_buffer(buf) {
                let offset: usize = obj.get::<_, Option<usize>>("byteOffset")?.unwrap_or(0);
                let len: Option<usize> = obj.get("byteLength")?;
                return Ok(buffer_bytes(&ab, offset, len));
            }
        }
        if obj.is_array() {
            let arr = obj.as_array().expect("checked is_array");
            return arr
                .iter::<f64>()
                .map(|n| n.map(|n| n as u8))
                .collect::<Result<Vec<u8>>>();
        }
    }
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    Err(Exception::throw_type(
        ctx,
        "expected a string, an ArrayBuffer or a typed array",
    ))
}

/// Whether `v` is an `ArrayBuffer` or a view on one (typed array, `DataView`).
pub(crate) fn is_binary(v: &Value<'_>) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    as_array_buffer(obj.clone()).is_some()
        || obj
            .get::<_, Option<Object>>("buffer")
            .ok()
            .flatten()
            .and_then(as_array_buffer)
            .is_some()
}

/// `obj` as an `ArrayBuffer`. QuickJS throws a TypeError when it is none;
/// that exception is cleared here, or it would stay pending and surface
/// later from unrelated code (a module loading, for one).
fn as_array_buffer(obj: Object<'_>) -> Option<ArrayBuffer<'_>> {
    let ctx = obj.ctx().clone();
    let ab = ArrayBuffer::from_object(obj);
    if ab.is_none() {
        let _ = ctx.catch();
    }
    ab
}

fn buffer_bytes(ab: &ArrayBuffer<'_>, offset: usize, len: Option<usize>) -> Vec<u8> {
    // SAFETY: no JavaScript runs while the slice is alive; it is copied at once.
    let all = unsafe { ab.as_bytes() }.unwrap_or(&[]);
    let start = offset.min(all.len());
    let end = len.map_or(all.len(), |l| (start + l).min(all.len()));
    all[start..end].to_vec()
}

/// A new `ArrayBuffer` holding `bytes` (adding typed arrays to the VU's
/// context first when its code never named them).
pub(crate) fn array_buffer<'js>(ctx: &Ctx<'js>, bytes: impl Into<Vec<u8>>) -> Result<Value<'js>> {
    crate::intrinsics::ensure(ctx, crate::intrinsics::TYPED_ARRAYS);
    Ok(ArrayBuffer::new(ctx.clone(), bytes.into())?.into_value())
}
