//! Password logins' throttle and hashing slots.
//!
//! **Throttle.** Each login names a user (by id, or by name in a domain; a user that
//! exists is keyed by its id, so its two spellings share a count, and one that does not
//! by what was named, so an unknown name behaves as a known one). While a user has had
//! fewer than [`FREE_FAILURES`] failures since its last success, its attempts are checked
//! at once, at most that many at a time beyond its failures; every other attempt waits
//! for the user's turn (a fair queue: one attempt of a user is checked at a time), and
//! once there, past the free failures, waits [`spacing`] more. So guesses sent in
//! parallel wait for each other, and a burst of right passwords (many workers of one
//! service account starting together) is checked one after the other, never refused.
//! Only a user that has failed [`FREE_FAILURES`] times keeps a short queue
//! ([`SUSPECT_QUEUE`]): an attempt beyond it is refused unchecked, as an account lockout
//! would, for as long as someone keeps the queue full.
//!
//! **Hashing.** argon2id runs on the blocking pool, at most one hash per core at a time;
//! the slot travels with the blocking task, so a request dropped mid-hash does not free
//! it before the hash ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Failures of one user since its last success before its attempts are spaced out.
pub(crate) const FREE_FAILURES: u32 = 3;

/// The longest spacing between two checked attempts of one user.
pub(crate) const MAX_SPACING: Duration = Duration::from_secs(8);

/// How long a user's failures are remembered after its last attempt.
const KEPT: Duration = Duration::from_secs(15 * 60);

/// Most users whose attempts are remembered (when full, expired entries go, then the
/// least recently tried idle one).
const MAX_USERS: usize = 65_536;

/// Attempts that may wait for one user's turn at once; beyond, an attempt is refused
/// unchecked (a burst that large of one user is not a login pattern).
const MAX_QUEUE: usize = 64;

/// The queue of a user with [`FREE_FAILURES`] failures or more.
pub(crate) const SUSPECT_QUEUE: usize = 4;

/// The spacing of a checked attempt after `failures` failures: none for the first
/// [`FREE_FAILURES`], then 250 ms doubling with each, at most [`MAX_SPACING`].
pub(crate) fn spacing(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let shift = (failures - FREE_FAILURES).min(6);
    (Duration::from_millis(250) * (1u32 << shift)).min(MAX_SPACING)
}

/// One user's recent attempts.
struct Attempts {
    failures: u32,
    /// Attempts checked on the free path right now.
    free_in_flight: u32,
    /// When the last attempt was admitted or ended.
    last: Instant,
    /// The user's turn; each waiting attempt holds a clone (so the clones count them).
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl Attempts {
    fn new(now: Instant) -> Self {
        Self { failures: 0, free_in_flight: 0, last: now, turn: Arc::default() }
    }

    /// Attempts waiting for the turn or holding it.
    fn queued(&self) -> usize {
        Arc::strong_count(&self.turn) - 1
    }

    fn idle(&self) -> bool {
        self.free_in_flight == 0 && self.queued() == 0
    }
}

pub(crate) struct Logins {
    attempts: Mutex<HashMap<String, Attempts>>,
    hashing: Arc<tokio::sync::Semaphore>,
}

impl Default for Logins {
    fn default() -> Self {
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self { attempts: Mutex::default(), hashing: Arc::new(tokio::sync::Semaphore::new(slots)) }
    }
}

/// A login attempt let through: check it, then say how it went with [`Pass::done`]. An
/// attempt dropped before that (its request went away) counts as nothing.
pub(crate) struct Pass {
    logins: Arc<Logins>,
    key: String,
    /// Held while the attempt is checked (`None`: the free path).
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    free: bool,
    done: bool,
}

impl Pass {
    /// Records the attempt's outcome; returns the user's failures since its last success.
    pub(crate) fn done(mut self, succeeded: bool) -> u32 {
        self.done = true;
        let mut map = self.logins.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(a) = map.get_mut(&self.key) else { return 0 };
        if self.free {
            a.free_in_flight = a.free_in_flight.saturating_sub(1);
        }
        a.last = Instant::now();
        a.failures = if succeeded { 0 } else { a.failures.saturating_add(1) };
        a.failures
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if self.free && !self.done {
            let mut map = self.logins.attempts.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(a) = map.get_mut(&self.key) {
                a.free_in_flight = a.free_in_flight.saturating_sub(1);
            }
        }
    }
}

/// Makes room for one more user in `map` (expired idle entries first, then the least
/// recently tried idle one); whether there is room.
fn make_room(map: &mut HashMap<String, Attempts>) -> bool {
    if map.len() < MAX_USERS {
        return true;
    }
    map.retain(|_, a| !(a.idle() && a.last.elapsed() >= KEPT));
    if map.len() < MAX_USERS {
        return true;
    }
    let oldest = map.iter().filter(|(_, a)| a.idle()).min_by_key(|(_, a)| a.last).map(|(k, _)| k.clone());
    match oldest {
        Some(k) => {
            map.remove(&k);
            true
        }
        None => false,
    }
}

impl Logins {
    /// Lets an attempt of `key` through, now or after its turn and spacing (see the
    /// module's text); `None`: refused unchecked.
    pub(crate) async fn admit(self: &Arc<Self>, key: &str) -> Option<Pass> {
        let turn = {
            let mut map = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if !map.contains_key(key) && !make_room(&mut map) {
                return None;
            }
            let a = map.entry(key.to_owned()).or_insert_with(|| Attempts::new(now));
            if a.idle() && a.last.elapsed() >= KEPT {
                a.failures = 0;
            }
            a.last = now;
            if a.failures.saturating_add(a.free_in_flight) < FREE_FAILURES {
                a.free_in_flight += 1;
                return Some(Pass { logins: self.clone(), key: key.to_owned(), _turn: None, free: true, done: false });
            }
            let limit = if a.failures >= FREE_FAILURES { SUSPECT_QUEUE } else { MAX_QUEUE };
            if a.queued() >= limit {
                return None;
            }
            a.turn.clone()
        };
        let guard = turn.lock_owned().await;
        let wait = {
            let map = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
            spacing(map.get(key).map_or(0, |a| a.failures))
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Some(Pass { logins: self.clone(), key: key.to_owned(), _turn: Some(guard), free: false, done: false })
    }

    /// Runs `work` (a hash or a verification) on the blocking pool, in one of the slots;
    /// the slot goes with the work, so a request dropped while it hashes does not free
    /// its slot before the hash ends.
    pub(crate) async fn hash<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let slot =
            self.hashing.clone().acquire_owned().await.map_err(|e| Error::Internal(format!("hashing closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(slot);
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("a password hash failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn failures_space_the_attempts_and_a_success_ends_it() {
        let l = Arc::new(Logins::default());
        for _ in 0..3 {
            let started = tokio::time::Instant::now();
            let pass = l.admit("u").await.unwrap();
            assert_eq!(started.elapsed(), Duration::ZERO, "free");
            pass.done(false);
        }
        for want in [250, 500, 1000, 2000, 4000, 8000, 8000] {
            let started = tokio::time::Instant::now();
            let pass = l.admit("u").await.unwrap();
            assert_eq!(started.elapsed(), Duration::from_millis(want));
            pass.done(false);
        }
        let started = tokio::time::Instant::now();
        l.admit("other").await.unwrap().done(true);
        assert_eq!(started.elapsed(), Duration::ZERO, "per user");
        l.admit("u").await.unwrap().done(true);
        let started = tokio::time::Instant::now();
        l.admit("u").await.unwrap().done(false);
        assert_eq!(started.elapsed(), Duration::ZERO, "a success ends the spacing");
        assert_eq!(spacing(100), MAX_SPACING);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_at_once_wait_for_each_other_and_right_ones_are_never_refused() {
        let l = Arc::new(Logins::default());
        // Ten right passwords at once: three checked at once, the rest one at a time,
        // none refused, none spaced (no failures).
        let passes: Vec<_> = (0..3).map(|_| l.admit("svc")).collect();
        let mut free = Vec::new();
        for p in passes {
            free.push(p.await.unwrap());
        }
        let queued: Vec<_> = (0..7)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.admit("svc").await.map(|p| p.done(true)) })
            })
            .collect();
        tokio::task::yield_now().await;
        for p in free {
            p.done(true);
        }
        for q in queued {
            assert_eq!(q.await.unwrap(), Some(0), "a queued right password is checked");
        }

        // Once a user has failed three times, a short queue: the rest is refused unchecked.
        for _ in 0..3 {
            l.admit("x").await.unwrap().done(false);
        }
        let waiting: Vec<_> = (0..SUSPECT_QUEUE)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.admit("x").await.map(|p| p.done(false)) })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(l.admit("x").await.is_none(), "beyond the queue");
        for w in waiting {
            assert!(w.await.unwrap().is_some());
        }
        // A dropped attempt holds nothing.
        let pass = l.admit("y").await.unwrap();
        drop(pass);
        let map = l.attempts.lock().unwrap();
        assert!(map["y"].idle() && map["y"].failures == 0);
    }
}
