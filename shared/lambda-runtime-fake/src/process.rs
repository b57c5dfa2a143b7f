//! What a started function binary cost: the CPU time the kernel accounted
//! to it (all its threads, user and system), read when it is reaped.
//!
//! A runtime that has polled for its next event sleeps until one arrives,
//! so killing it right after its first poll and reading its resource usage
//! (`wait4`) gives the CPU time of its init phase: what Lambda bills and
//! throttles, and what the wall time alone hides on a busy machine.

use std::io;
use std::process::Child;
use std::time::Duration;

/// CPU time of a reaped process.
#[derive(Clone, Copy, Debug)]
pub struct CpuTime {
    /// Time spent in the process's own code.
    pub user: Duration,
    /// Time the kernel spent on its behalf (page faults, mapping, reads).
    pub system: Duration,
}

impl CpuTime {
    /// User plus system time.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }
}

/// Kill `child` (SIGKILL) and reap it, returning the CPU time it used.
///
/// # Errors
/// If the process cannot be reaped (it was already waited for).
pub fn kill_and_reap(mut child: Child) -> io::Result<CpuTime> {
    // It may have exited by itself already; reaping works either way.
    let _ = child.kill();
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; zeroed is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to a status word and an rusage struct that
        // live across the call; `pid` is our own unreaped child.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok(CpuTime {
        user: duration(usage.ru_utime),
        system: duration(usage.ru_stime),
    })
}

fn duration(time: libc::timeval) -> Duration {
    let seconds = u64::try_from(time.tv_sec).unwrap_or(0);
    let micros = u32::try_from(time.tv_usec).unwrap_or(0);
    Duration::from_secs(seconds) + Duration::from_micros(u64::from(micros))
}
