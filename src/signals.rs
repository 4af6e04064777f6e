//! Holding the signals that stop csppatch (Ctrl-C, SIGTERM, SIGHUP) while files are being
//! replaced: stopped between two renames, or between writing files for a validation and
//! restoring them, csppatch would leave a configuration half-patched. A signal that arrives
//! meanwhile is delivered when the guard drops.
//!
//! The standard library and rustix have no safe signal-mask call, so this module keeps the
//! few `unsafe` blocks csppatch needs for it, each with its reason.

use std::marker::PhantomData;
use std::process::Command;

/// SIGINT, SIGTERM, SIGHUP: what a user or a supervisor sends to stop csppatch.
fn stop_signals() -> libc::sigset_t {
    // SAFETY: a zeroed sigset_t is valid storage for sigemptyset to initialise; sigemptyset
    // and sigaddset only write into it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        set
    }
}

/// The stop signals held until this drops; then the thread's mask is what it was before, so
/// guards nest (a write inside a write-validate-restore span).
#[must_use = "the signals are held only while the guard lives"]
pub struct Deferred {
    previous: libc::sigset_t,
    /// The mask is the calling thread's: the guard must drop on the thread that made it.
    _not_send: PhantomData<*const ()>,
}

/// Hold Ctrl-C, SIGTERM and SIGHUP until the returned guard drops.
pub fn defer() -> Deferred {
    let set = stop_signals();
    // SAFETY: a zeroed sigset_t is valid storage; pthread_sigmask fills it with the old mask.
    let mut previous: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: blocking signals for the calling thread, with valid set pointers.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous);
    }
    Deferred {
        previous,
        _not_send: PhantomData,
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        // SAFETY: restoring this thread's own earlier mask; pending signals arrive now.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
        }
    }
}

/// Is a stop signal waiting to be delivered (held by a [`Deferred`])? A long wait under a
/// guard (a validator run) polls this to stop early, clean up, and let the signal end the run.
pub fn pending() -> bool {
    let stop = stop_signals();
    // SAFETY: a zeroed sigset_t is valid storage; sigpending fills it, sigismember reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        if libc::sigpending(&mut set) != 0 {
            return false;
        }
        [libc::SIGINT, libc::SIGTERM, libc::SIGHUP]
            .iter()
            .any(|&sig| libc::sigismember(&set, sig) == 1 && libc::sigismember(&stop, sig) == 1)
    }
}

/// Let `cmd`'s process receive the stop signals even when csppatch holds them: a child
/// inherits the signal mask, and a validator that cannot be stopped would outlive csppatch.
pub fn unblocked_in_child(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let set = stop_signals();
    // SAFETY: the closure runs between fork and exec, where only async-signal-safe calls are
    // allowed: sigprocmask is one, and `set` was built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
}
