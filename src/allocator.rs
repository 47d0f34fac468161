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

/// How often the trimmer looks at the allocator's free memory.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Free bytes inside the arenas above which the trimmer gives them back to the kernel.
const TRIM_ABOVE_FREE_BYTES: usize = 16 << 20;

/// Starts a thread that, every few seconds, returns the allocator's free pages to the kernel
/// when more than 16 MiB lie free inside its arenas (`malloc_trim`). glibc only gives back
/// free memory at the top of an arena on its own: after a wide query, the memory its
/// selection used stays resident between live allocations, and the next wide query's peak
/// starts from there. Does nothing on other C libraries.
pub fn start_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let spawned = std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(|| loop {
                std::thread::sleep(TRIM_EVERY);
                trim_if_free_above(TRIM_ABOVE_FREE_BYTES);
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the allocator trimming thread; free heap memory is then kept");
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim_if_free_above(bytes: usize) {
    // SAFETY: `mallinfo2` and `malloc_trim` only read and release the allocator's own free
    // memory; both are thread-safe in glibc.
    unsafe {
        if libc::mallinfo2().fordblks > bytes {
            libc::malloc_trim(0);
        }
    }
}

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
