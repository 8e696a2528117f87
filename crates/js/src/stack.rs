//! Coroutine stacks carved from shared slabs.
//!
//! A stack of its own mapping with a guard page below costs two kernel memory
//! mappings, and Linux caps a process at `vm.max_map_count` (65,530 by
//! default): about 32,000 VUs. Here one mapping (a *slab*) holds
//! [`SLAB_STACKS`] stacks side by side above a single guard page, so adjacent
//! stacks are one mapping and 50,000 VUs take fewer than 2,000.
//!
//! Only the lowest stack of a slab sits on a guard page; the others sit on
//! their neighbour. What keeps a VU inside its own stack is QuickJS's stack
//! limit (`shared::JS_STACK_LIMIT`, checked on every JavaScript call, every
//! native call and in the parser and regex engine), well below the stack's
//! size: a native function starts with at least `size - JS_STACK_LIMIT`
//! bytes of room, more than its Rust frames need (recursion in native code is
//! bounded: serde's and the protobuf decoder's depth limits).
//!
//! A freed stack's pages are handed back to the kernel and its slot is kept
//! for the next stack of the same size.

use std::io;
use std::ptr;
use std::sync::Mutex;

use corosensei::stack::StackPointer;

/// Stacks per slab: one mapping (plus its guard page) for this many VUs.
pub const SLAB_STACKS: usize = 64;

/// Free slots, by stack size (few sizes are ever used).
static FREE: Mutex<Vec<(usize, Vec<usize>)>> = Mutex::new(Vec::new());

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// One coroutine stack: `size` bytes below `top`, in a slab.
#[derive(Debug)]
pub struct SlabStack {
    top: usize,
    size: usize,
}

impl SlabStack {
    /// A stack of at least `size` bytes (rounded up to whole pages).
    pub fn new(size: usize) -> io::Result<Self> {
        let page = page_size();
        let size = size
            .max(corosensei::stack::MIN_STACK_SIZE)
            .checked_next_multiple_of(page)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size too large"))?;
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        let slots = match free.iter().position(|(s, _)| *s == size) {
            Some(i) => &mut free[i].1,
            None => {
                free.push((size, Vec::new()));
                &mut free.last_mut().expect("just pushed").1
            }
        };
        if slots.is_empty() {
            // Reverse order, so that slots are handed out from the bottom.
            slots.extend(map_slab(size, page)?.into_iter().rev());
        }
        let bottom = slots.pop().expect("a slab has slots");
        Ok(Self {
            top: bottom + size,
            size,
        })
    }

    /// The lowest address of the stack.
    fn bottom(&self) -> usize {
        self.top - self.size
    }
}

/// Maps a slab for [`SLAB_STACKS`] stacks of `size` bytes; returns the bottom
/// address of each.
fn map_slab(size: usize, page: usize) -> io::Result<Vec<usize>> {
    let len = size
        .checked_mul(SLAB_STACKS)
        .and_then(|l| l.checked_add(page))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size too large"))?;
    // SAFETY: a fresh anonymous mapping; nothing else refers to it.
    unsafe {
        let base = libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        );
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // A transparent huge page would make a few KB of stack cost 2 MB.
        libc::madvise(base, len, libc::MADV_NOHUGEPAGE);
        if libc::mprotect(base, page, libc::PROT_NONE) != 0 {
            let err = io::Error::last_os_error();
            libc::munmap(base, len);
            return Err(err);
        }
        let first = base as usize + page;
        Ok((0..SLAB_STACKS).map(|i| first + i * size).collect())
    }
}

impl Drop for SlabStack {
    fn drop(&mut self) {
        let bottom = self.bottom();
        // SAFETY: the stack is ours and no coroutine runs on it any more;
        // its contents are discarded (the pages read back as zeros).
        unsafe { libc::madvise(bottom as *mut libc::c_void, self.size, libc::MADV_DONTNEED) };
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, slots)) = free.iter_mut().find(|(s, _)| *s == self.size) {
            slots.push(bottom);
        }
    }
}

// SAFETY: base and limit bound memory this value owns until it is dropped.
// The guard page below the stack is shared by the slab (see the module
// documentation for what keeps a coroutine within its stack).
unsafe impl corosensei::stack::Stack for SlabStack {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.top).expect("stack top is not null")
    }

    fn limit(&self) -> StackPointer {
        StackPointer::new(self.bottom()).expect("stack bottom is not null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of this process's mappings hold at least one of `stacks`.
    fn mappings_holding(stacks: &[SlabStack]) -> usize {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .filter(|line| {
                let range = line.split(' ').next().unwrap();
                let (lo, hi) = range.split_once('-').unwrap();
                let lo = usize::from_str_radix(lo, 16).unwrap();
                let hi = usize::from_str_radix(hi, 16).unwrap();
                stacks.iter().any(|s| lo <= s.bottom() && s.bottom() < hi)
            })
            .count()
    }

    #[test]
    fn stacks_share_mappings_and_reuse_freed_slots() {
        // A size no other test uses, so the pool is this test's alone.
        let size = 100 * 1024;
        let stacks: Vec<_> = (0..SLAB_STACKS * 4)
            .map(|_| SlabStack::new(size).unwrap())
            .collect();
        let held = mappings_holding(&stacks);
        assert!(
            (1..=4).contains(&held),
            "{} stacks in {held} mappings",
            stacks.len()
        );

        let page = page_size();
        for s in &stacks {
            assert_eq!(s.size, size.next_multiple_of(page));
            assert_eq!(s.top % 16, 0);
            // Writable from bottom to top.
            // SAFETY: the stack is ours and unused.
            unsafe {
                ptr::write_volatile(s.bottom() as *mut u8, 1);
                ptr::write_volatile((s.top - 1) as *mut u8, 1);
            }
        }
        let mut bottoms: Vec<_> = stacks.iter().map(|s| s.bottom()).collect();
        bottoms.sort_unstable();
        bottoms.dedup();
        assert_eq!(bottoms.len(), stacks.len(), "stacks overlap");
        assert!(bottoms.windows(2).all(|w| w[1] - w[0] >= size));

        drop(stacks);
        let again = SlabStack::new(size).unwrap();
        assert!(bottoms.contains(&again.bottom()), "a freed slot is reused");
        // Freed pages come back zeroed.
        // SAFETY: the stack is ours and unused.
        assert_eq!(
            unsafe { ptr::read_volatile(again.bottom() as *const u8) },
            0
        );
    }
}
