//! Tuning of the C allocator (glibc malloc) at start-up.
//!
//! glibc gives each thread that contends for the heap its own arena, up to eight per core.
//! Sextant's threads (the HTTP runtime, rayon's query pool, compaction, scrape workers) each
//! free memory into their own arena, and memory freed in one arena is not reused by another:
//! after a burst of ingest and a set of wide queries, the process kept about twice the
//! memory it was using. The compare benchmark (100 targets, 57,700 series) measured a peak
//! RSS of 427 MiB with glibc's default and 238 MiB with one arena per core. So Sextant caps
//! the arenas at the number of cores, unless `MALLOC_ARENA_MAX` is set in the environment
//! (then glibc's own reading of it applies).

/// Caps glibc's arenas at the number of cores (at least 2). Does nothing when the
/// environment sets `MALLOC_ARENA_MAX`, or on other C libraries.
pub fn tune() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    set_arena_max(cores.max(2));
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_arena_max(n: usize) {
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    // SAFETY: `mallopt` only changes an allocator parameter; it is called once at start-up,
    // before any other thread exists, with a valid parameter number and value.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, n);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_n: usize) {}
