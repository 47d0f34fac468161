//! Software prefetch: a hint that starts loading a cache line before it is needed.
//!
//! The write path touches a few cold cache lines per sample (a cache slot, the series, its
//! label set, its open chunk), one series after another. Each miss costs a trip to memory;
//! asking for the lines of a series a few positions ahead lets those trips overlap with the
//! work on the current one.

/// Asks the CPU to bring the cache line holding `p` into its caches. Never faults and changes
/// nothing observable, whatever `p` is (dangling, null or stale pointers are fine); a no-op
/// on targets without a stable prefetch instruction.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: PREFETCHT0 is a hint. It does not dereference the address in the language's
    // sense, cannot fault on any address, and has no architecturally visible effect, so it is
    // sound for every pointer value.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] of an address held as an integer (`0` is skipped).
#[inline(always)]
pub fn prefetch_addr(addr: usize) {
    if addr != 0 {
        prefetch(addr as *const u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_address_is_fine() {
        let v = [1u64; 16];
        prefetch(v.as_ptr());
        prefetch_addr(0);
        prefetch_addr(8);
        prefetch(std::ptr::null::<u8>());
        prefetch(usize::MAX as *const u8);
        assert_eq!(v[3], 1);
    }
}
