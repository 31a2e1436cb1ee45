//! A counting global allocator: bytes currently allocated and the peak since the last reset,
//! so a section can report how much memory a walk added at its worst; and, for an untimed
//! census, how many allocations a run made.
//!
//! Nothing is counted unless a [`Tracking`] guard is alive. While it is, each thread adds its
//! allocations and frees to a thread-local balance and publishes it to the shared level only
//! once it reaches [`FLUSH_BYTES`] either way: a shared atomic updated by every thread on every
//! allocation would slow the walk being timed, and slow most the side that allocates most. The
//! level and its peak are therefore exact to within `FLUSH_BYTES` per thread. The counters are
//! signed because memory allocated while tracking was off may be freed while it is on; growth
//! within a tracked window is still exact (to that bound).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

/// The system allocator, counting live bytes and their peak while tracking is on.
#[derive(Debug)]
pub struct Counting;

/// How far a thread's unpublished balance may drift before it is added to the shared level.
pub const FLUSH_BYTES: isize = 16 * 1024;

static TRACKING: AtomicBool = AtomicBool::new(false);
static COUNTING: AtomicBool = AtomicBool::new(false);
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's balance not yet added to `CURRENT` (no destructor: safe in an allocator).
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    if !TRACKING.load(Ordering::Relaxed) {
        return;
    }
    let publish = PENDING
        .try_with(|p| {
            let balance = p.get().saturating_add(delta);
            if balance.abs() >= FLUSH_BYTES {
                p.set(0);
                Some(balance)
            } else {
                p.set(balance);
                None
            }
        })
        // The thread is exiting: publish at once.
        .unwrap_or(Some(delta));
    if let Some(by) = publish {
        let now = CURRENT.fetch_add(by, Ordering::Relaxed).saturating_add(by);
        if now > PEAK.load(Ordering::Relaxed) {
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }
}

fn grow(by: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
    account(isize::try_from(by).unwrap_or(isize::MAX));
}

fn shrink(by: usize) {
    account(isize::try_from(by).map_or(isize::MIN, |b| -b));
}

/// Counts every allocation, in a shared counter, while alive: for untimed runs only.
#[derive(Debug)]
pub struct Census(());

impl Census {
    /// Turns the allocation count on.
    pub fn start() -> Self {
        COUNTING.store(true, Ordering::SeqCst);
        Census(())
    }
}

impl Drop for Census {
    fn drop(&mut self) {
        COUNTING.store(false, Ordering::SeqCst);
    }
}

/// Tracks the allocated level while alive (one at a time: the bench runs its sections in turn).
#[derive(Debug)]
pub struct Tracking(());

impl Tracking {
    /// Turns tracking on.
    pub fn start() -> Self {
        TRACKING.store(true, Ordering::SeqCst);
        Tracking(())
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        TRACKING.store(false, Ordering::SeqCst);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are plain atomics and
// never allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, and the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// Allocations (and growing reallocations) counted so far, in every thread, while a
/// [`Census`] was alive.
pub fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// The counted level now (bytes allocated minus bytes freed while tracking).
pub fn current() -> isize {
    CURRENT.load(Ordering::Relaxed)
}

/// Starts a new peak window at the current level and returns that level.
pub fn reset_peak() -> isize {
    let now = current();
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// The highest level since the last [`reset_peak`].
pub fn peak() -> isize {
    PEAK.load(Ordering::Relaxed)
}

/// Bytes from `base` up to `level`, 0 if below.
pub fn above(level: isize, base: isize) -> usize {
    usize::try_from(level.saturating_sub(base)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Other tests may allocate meanwhile: the figures are large enough to dwarf them.
    #[test]
    fn counts_only_while_tracking() {
        const BIG: usize = 64 << 20;
        let on = Tracking::start();
        let census = Census::start();
        let base = reset_peak();
        let counted = allocations();
        let v = vec![0_u8; BIG];
        assert!(allocations() > counted);
        assert!(above(peak(), base) >= BIG - (8 << 20));
        drop(v);
        assert!(above(current(), base) < 8 << 20);
        drop(census);
        drop(on);
        let (before, counted) = (current(), allocations());
        let w = vec![0_u8; BIG];
        assert_eq!(current(), before, "not tracked once tracking is off");
        assert_eq!(
            allocations(),
            counted,
            "not counted once the census is over"
        );
        drop(w);
    }
}
