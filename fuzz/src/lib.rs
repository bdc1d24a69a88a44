//! What every fuzz target links (`use wasm_coredump_fuzz as _;`): an allocator that refuses any
//! single allocation over 1 GiB, so such an allocation is a crash with an artifact.
//!
//! libFuzzer's own `-malloc_limit_mb` needs a sanitizer's malloc hooks, which
//! `--sanitizer none` builds do not have; `-rss_limit_mb` only sees memory once it is touched.

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest allocation allowed, in bytes.
const MAX_ALLOCATION: usize = 1 << 30;

/// The system allocator, failing (null: std aborts with "memory allocation of N bytes failed")
/// over [`MAX_ALLOCATION`].
struct Bounded;

// SAFETY: every call goes to `System` unchanged, or returns null, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Bounded = Bounded;
