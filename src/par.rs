//! The run's threads: how many it may use, and a parallel map that gives one thread's results
//! (README, "How a run spends its cores"). A leaf: it uses nothing else of the crate.

/// The threads a run may use: `CSPPATCH_JOBS` if set (1: one thread, nothing beside the main
/// one), else the machine's cores, at most 8. Each stage takes no more than its work
/// justifies (README, "Speed"). Read once per process: the core count reads the cgroup's
/// files, and the scan asks once per chunk of walked files.
pub fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("CSPPATCH_JOBS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
                    .min(8)
            })
    })
}

/// Items a thread takes at a time in [`par_map`] (small: items differ in size, so threads
/// finish together).
const BLOCK: usize = 16;

/// `items.iter().map(f).collect()`, on up to `jobs` threads (this one among them), taking
/// blocks of [`BLOCK`] items in turn: the same results in the same order as one thread gives.
pub fn par_map<T: Sync, R: Send>(jobs: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if jobs <= 1 {
        return items.iter().map(f).collect();
    }
    let blocks = items.len().div_ceil(BLOCK);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if b >= blocks {
                break done;
            }
            let block = &items[b * BLOCK..((b + 1) * BLOCK).min(items.len())];
            done.push((b, block.iter().map(&f).collect::<Vec<_>>()));
        }
    };
    let mut parts = std::thread::scope(|s| {
        let handles: Vec<_> = (1..jobs).map(|_| s.spawn(work)).collect();
        let mut parts = work();
        for h in handles {
            parts.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        parts
    });
    parts.sort_unstable_by_key(|&(b, _)| b);
    parts.into_iter().flat_map(|(_, l)| l).collect()
}

/// Items from which a second thread pays for itself (below, [`par_map`] gets one thread).
const ITEMS_PER_THREAD: usize = 64;

/// Threads for `items` items of work: the run's [`threads`], no more than the work justifies.
pub fn jobs_for(items: usize) -> usize {
    threads().min(items / ITEMS_PER_THREAD).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Several threads give what one does, in order, however the blocks fall.
    #[test]
    fn par_map_keeps_the_order_of_one_thread() {
        let items: Vec<usize> = (0..1000).collect();
        let one = par_map(1, &items, |&i| i * 3);
        for jobs in [2, 3, 8] {
            assert_eq!(par_map(jobs, &items, |&i| i * 3), one);
        }
        assert_eq!(one[999], 2997);
        assert!(par_map(4, &[] as &[usize], |&i| i).is_empty());
    }
}
