//! CPU time, for figures that must hold on a machine shared with other
//! jobs: wall time also counts the slices the scheduler gives to them.

use std::time::Duration;

/// CPU time consumed so far by the calling thread.
pub fn thread() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec for clock_gettime to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// User and system CPU time of every child process waited for so far.
pub fn children() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to fill.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid rusage for getrusage to fill.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_CHILDREN) failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_time_advances_with_work_and_not_with_sleep() {
        let start = thread();
        std::thread::sleep(Duration::from_millis(200));
        let slept = thread() - start;
        let start = thread();
        let mut x = 1u64;
        let wall = std::time::Instant::now();
        while wall.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let worked = thread() - start;
        assert!(slept < Duration::from_millis(50), "sleeping used {slept:?} of CPU");
        assert!(worked > slept, "busy {worked:?} not above sleeping {slept:?}");
    }
}
