//! The global allocator of Stampede's binaries: mimalloc, whose
//! thread-local free lists make the many short-lived allocations of a
//! request (header lists, futures, responses) cheaper than glibc's bins.
//!
//! A crate of its own so that every program that should measure what ships
//! — the `stampede` binary, and the benches that stand in for parts of it
//! (`crates/server/examples/controller_load.rs`) — links the same allocator
//! with the same options by naming it: `use stampede_alloc as _;`.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Alignment every mimalloc block has: word-sized blocks and up.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc through its plain entry points when the alignment asked is at
/// most a word (almost every Rust allocation), its aligned ones otherwise.
struct Mimalloc;

#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

// SAFETY: mimalloc returns blocks of at least the size asked, aligned to a
// word or to the alignment given to its `_aligned` functions, or null.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI calls; the caller handles a null result.
        let p = unsafe {
            if layout.align() <= WORD {
                mi::mi_malloc(layout.size())
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align())
            }
        };
        p.cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe {
            if layout.align() <= WORD {
                mi::mi_zalloc(layout.size())
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align())
            }
        };
        p.cast()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract).
        unsafe { mi::mi_free(ptr.cast::<c_void>()) };
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; mimalloc
        // keeps the alignment of a block it reallocates.
        let p = unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr.cast(), new_size)
            } else {
                mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align())
            }
        };
        p.cast()
    }
}

/// `mi_option_arena_eager_commit` in `mimalloc.h` (libmimalloc-sys does not
/// export it). Left on, arenas are committed up front and a 1-VU run keeps
/// twice the resident memory.
const MI_OPTION_ARENA_EAGER_COMMIT: mi::mi_option_t = 4;

/// Sets mimalloc's options before its first allocation: a constructor with
/// a priority runs before mimalloc's own and before Rust's runtime starts.
#[used]
#[link_section = ".init_array.00100"]
static CONFIGURE: extern "C" fn() = {
    extern "C" fn configure() {
        // SAFETY: setting an option has no precondition.
        unsafe { mi::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    }
    configure
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_are_set_before_the_first_allocation() {
        // SAFETY: reading an option has no precondition.
        let eager = unsafe { mi::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(eager, 0);
    }

    #[test]
    fn blocks_are_mimallocs_and_aligned_as_asked() {
        for align in [1, 8, 16, 64, 4096] {
            let layout = Layout::from_size_align(100, align).unwrap();
            // SAFETY: a non-zero size; the block is freed below.
            let p = unsafe { std::alloc::alloc_zeroed(layout) };
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0, "align {align}");
            // SAFETY: `p` is a live block of this heap.
            assert!(
                unsafe { mi::mi_is_in_heap_region(p.cast()) },
                "align {align}"
            );
            // SAFETY: `p` came from `alloc_zeroed` with `layout`.
            let p = unsafe { std::alloc::realloc(p, layout, 5000) };
            assert_eq!(p as usize % align, 0, "realloc keeps align {align}");
            // SAFETY: as above, with the new size.
            unsafe { std::alloc::dealloc(p, Layout::from_size_align(5000, align).unwrap()) };
        }
    }
}
