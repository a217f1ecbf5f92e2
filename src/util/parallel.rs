//! Independent jobs on a few threads: each thread takes the next job as it
//! finishes one, and the results come back in the jobs' order, whatever
//! order they finished in.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The threads to use when the user has not said: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `work(i)` for every `i` in `0..count`, on up to `jobs` threads (at
/// least one); the results in index order. With one job, or one item, it
/// runs on the calling thread.
pub fn map_indices<R: Send>(count: usize, jobs: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = jobs.clamp(1, count.max(1));
    if threads == 1 {
        return (0..count).map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(count));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= count {
                        break;
                    }
                    let result = work(i);
                    done.lock().expect("no job panicked while holding the results").push((i, result));
                }
            });
        }
    });
    let mut done = done.into_inner().expect("no job panicked while holding the results");
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_come_back_in_index_order_whatever_order_they_finish_in() {
        // Early indices sleep longest, so they finish last.
        let out = map_indices(6, 3, |i| {
            std::thread::sleep(Duration::from_millis(10 * (6 - i as u64)));
            (i * i, std::thread::current().id())
        });
        assert_eq!(out.iter().map(|(sq, _)| *sq).collect::<Vec<_>>(), vec![0, 1, 4, 9, 16, 25]);
        let mut threads: Vec<_> = out.iter().map(|(_, t)| *t).collect();
        threads.sort_by_key(|t| format!("{t:?}"));
        threads.dedup();
        assert!(threads.len() > 1, "six jobs on three threads all ran on one thread");
    }

    #[test]
    fn one_job_runs_on_the_calling_thread_and_no_items_give_nothing() {
        let me = std::thread::current().id();
        assert!(map_indices(4, 1, |_| std::thread::current().id()).iter().all(|&t| t == me));
        assert!(map_indices(0, 4, |i| i).is_empty());
    }
}
