//! The JavaScript built-ins a VU pays for only when its code uses them.
//!
//! A full QuickJS context costs every VU its typed arrays (17 KB), `Map`/
//! `Set` (5 KB), `WeakRef` and `performance`. A VU starts without them; each
//! is added before evaluating a module whose source names it (a word match,
//! so a mention in a comment only costs the memory), and typed arrays before
//! native code creates an `ArrayBuffer`. Code that builds code at run time
//! (`eval`, `Function(...)`) gets all of them.

use rquickjs::context::intrinsic::{MapSet, Performance, TypedArrays, WeakRef};
use rquickjs::context::Intrinsic;
use rquickjs::Ctx;

/// A set of optional built-ins.
pub(crate) type Needs = u8;

/// `Map`, `Set`, `WeakMap`, `WeakSet`.
pub(crate) const MAP_SET: Needs = 1;
/// `ArrayBuffer`, typed arrays, `DataView`, `Atomics`.
pub(crate) const TYPED_ARRAYS: Needs = 2;
/// `WeakRef`, `FinalizationRegistry`.
pub(crate) const WEAK_REF: Needs = 4;
/// `performance`.
pub(crate) const PERFORMANCE: Needs = 8;
/// Everything optional.
pub(crate) const ALL: Needs = MAP_SET | TYPED_ARRAYS | WEAK_REF | PERFORMANCE;

const WORDS: &[(&str, Needs)] = &[
    ("Map", MAP_SET),
    ("Set", MAP_SET),
    ("WeakMap", MAP_SET),
    ("WeakSet", MAP_SET),
    ("ArrayBuffer", TYPED_ARRAYS),
    ("SharedArrayBuffer", TYPED_ARRAYS),
    ("DataView", TYPED_ARRAYS),
    ("Atomics", TYPED_ARRAYS),
    ("Int8Array", TYPED_ARRAYS),
    ("Uint8Array", TYPED_ARRAYS),
    ("Uint8ClampedArray", TYPED_ARRAYS),
    ("Int16Array", TYPED_ARRAYS),
    ("Uint16Array", TYPED_ARRAYS),
    ("Int32Array", TYPED_ARRAYS),
    ("Uint32Array", TYPED_ARRAYS),
    ("Float16Array", TYPED_ARRAYS),
    ("Float32Array", TYPED_ARRAYS),
    ("Float64Array", TYPED_ARRAYS),
    ("BigInt64Array", TYPED_ARRAYS),
    ("BigUint64Array", TYPED_ARRAYS),
    ("TextEncoder", TYPED_ARRAYS),
    ("TextDecoder", TYPED_ARRAYS),
    ("WeakRef", WEAK_REF),
    ("FinalizationRegistry", WEAK_REF),
    ("performance", PERFORMANCE),
    ("eval", ALL),
    ("Function", ALL),
];

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// The optional built-ins `source` names.
pub(crate) fn needs_of(source: &str) -> Needs {
    let bytes = source.as_bytes();
    let mut needs = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_ident(bytes[i]) || (i > 0 && is_ident(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let word = &source[start..i];
        if let Some((_, n)) = WORDS.iter().find(|(w, _)| *w == word) {
            needs |= n;
            if needs == ALL {
                break;
            }
        }
    }
    needs
}

/// Adds to the VU owning `ctx` the built-ins in `needs` it lacks.
pub(crate) fn ensure(ctx: &Ctx<'_>, needs: Needs) {
    let state = crate::state::vu_state(ctx);
    let missing = needs & !state.intrinsics.get();
    if missing == 0 {
        return;
    }
    let raw = ctx.as_raw();
    // SAFETY: adding an intrinsic to a live context defines its globals and
    // prototypes; each is added at most once (tracked in the VU's state).
    unsafe {
        if missing & MAP_SET != 0 {
            MapSet::add_intrinsic(raw);
        }
        if missing & TYPED_ARRAYS != 0 {
            TypedArrays::add_intrinsic(raw);
        }
        if missing & WEAK_REF != 0 {
            WeakRef::add_intrinsic(raw);
        }
        if missing & PERFORMANCE != 0 {
            Performance::add_intrinsic(raw);
        }
    }
    state.intrinsics.set(state.intrinsics.get() | missing);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_words_only() {
        assert_eq!(needs_of("const m = new Map();"), MAP_SET);
        assert_eq!(
            needs_of("new Uint8Array(4); new Set()"),
            MAP_SET | TYPED_ARRAYS
        );
        assert_eq!(needs_of("const Mapping = 1; mySet(); x.Map2"), 0);
        assert_eq!(needs_of("performance.now()"), PERFORMANCE);
        assert_eq!(needs_of("eval('1')"), ALL);
        assert_eq!(needs_of("http.get(url)"), 0);
    }
}
