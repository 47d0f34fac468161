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
//!
//! Allocations of 1 MiB and more get their own mapping, returned to the kernel when freed
//! (`M_MMAP_THRESHOLD`), unless `MALLOC_MMAP_THRESHOLD_` is set. glibc's default starts at
//! 128 KiB and raises the threshold to the size of every mapped block freed, up to 32 MiB;
//! after the first wide query, the multi-MiB vectors of every later one (a selection's list
//! of series, a batch of results) came from the arenas and stayed there. With the fixed
//! threshold the standard compare run's peak RSS went from 163-187 MiB (median 181, five
//! runs) to 153-167 MiB (four runs). Not lower: at 256 KiB the agent's send buffers (a few
//! hundred KiB each) were mapped and unmapped on every request, 10 % more CPU per forwarded
//! sample.

//!
//! Transparent huge pages: where the kernel gives them only on request (`madvise` in
//! `/sys/kernel/mm/transparent_hugepage/enabled`, Debian's default), Sextant re-executes
//! itself once at start-up with glibc's `glibc.malloc.hugetlb=1` tunable, which makes malloc
//! ask for them ([`reexec_with_huge_pages`]). Appends and forwarding look up one series after
//! another in tables of hundreds of MiB; with 4 KiB pages nearly every lookup also missed the
//! TLB. Agent at 560 k series: 1.21 -> 1.09 µs of CPU per forwarded sample (two pairs), peak RSS
//! unchanged (485 -> 490 MiB). A `GLIBC_TUNABLES` that already names `glibc.malloc.hugetlb`
//! (`=0` to turn it off) is left alone.

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

/// The glibc (2.35 and later) tunable that makes malloc ask for transparent huge pages.
const HUGE_PAGES_TUNABLE: &str = "glibc.malloc.hugetlb=1";

/// Where the kernel says when it gives transparent huge pages.
const THP_MODE_FILE: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// Re-executes the process with [`HUGE_PAGES_TUNABLE`] added to `GLIBC_TUNABLES` when the
/// kernel gives transparent huge pages only to memory that asks (see the module's
/// documentation). Must run first in `main`, before any thread exists. Returns when nothing
/// is to be done (another C library, huge pages always or never given, the tunable already
/// set) or when the re-execution failed (then the process goes on with small pages, and
/// says so on stderr).
pub fn reexec_with_huge_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if current.contains("glibc.malloc.hugetlb") {
            return;
        }
        let madvise_only = std::fs::read_to_string(THP_MODE_FILE).is_ok_and(|m| m.contains("[madvise]"));
        if !madvise_only {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let tunables = if current.is_empty() {
            HUGE_PAGES_TUNABLE.to_string()
        } else {
            format!("{current}:{HUGE_PAGES_TUNABLE}")
        };
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(&exe);
        if let Some(arg0) = args.next() {
            cmd.arg0(arg0);
        }
        let err = cmd.args(args).env("GLIBC_TUNABLES", tunables).exec();
        eprintln!(
            "sextant: re-executing {} with {HUGE_PAGES_TUNABLE} failed ({err}); going on without transparent huge pages",
            exe.display()
        );
    }
}

/// Allocations from this size on are mapped on their own (see the module's documentation).
const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;

/// Caps glibc's arenas at the number of cores (at least 2) and fixes the size from which
/// allocations are mapped on their own. Each is left to glibc when the environment sets
/// `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_`; nothing is done on other C libraries.
pub fn tune() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let cores = i32::try_from(cores.max(2)).unwrap_or(i32::MAX);
        set(Param::ArenaMax, cores);
    }
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        set(Param::MmapThreshold, MMAP_THRESHOLD_BYTES);
    }
}

/// The `mallopt` parameters Sextant sets.
#[derive(Clone, Copy)]
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
enum Param {
    ArenaMax,
    MmapThreshold,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set(param: Param, value: i32) {
    let param = match param {
        Param::ArenaMax => libc::M_ARENA_MAX,
        Param::MmapThreshold => libc::M_MMAP_THRESHOLD,
    };
    // SAFETY: `mallopt` only changes an allocator parameter; it is called at start-up,
    // before any other thread exists, with a valid parameter number and value.
    unsafe {
        libc::mallopt(param, value);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set(_param: Param, _value: i32) {}
