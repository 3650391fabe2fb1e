//! Password logins' throttle and hashing slots.
//!
//! **Throttle.** Each login names a user (by id, or by name in a domain; a user that
//! exists is keyed by its id, so its two spellings share a count, and one that does not
//! by what was named, so an unknown name behaves as a known one). While a user has had
//! fewer than [`FREE_FAILURES`] failures since its last success, its attempts are checked
//! at once, at most that many at a time beyond its failures; every other attempt waits
//! for the user's turn (a fair queue: one attempt of a user is checked at a time), and
//! once there, once the user has failed, waits [`spacing`] of its failures and the
//! attempts still in flight beside (which likely fail too). So guesses sent in
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
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};

/// Failures of one user since its last success before its attempts are spaced out.
pub(crate) const FREE_FAILURES: u32 = 3;

/// The longest spacing between two checked attempts of one user.
pub(crate) const MAX_SPACING: Duration = Duration::from_secs(8);

/// How long a user's failures are remembered after its last attempt.
const KEPT: Duration = Duration::from_secs(15 * 60);

/// Most users whose attempts are remembered. A user with no failures and nothing in
/// flight has no entry (it would say nothing); when full, expired entries go, then a
/// sixteenth of the idle ones, fewest failures and least recently tried first.
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

    /// The spacing of the attempt whose turn it is. Once the user has failed, the
    /// attempts still in flight on the free path count as the failures they likely are
    /// (a burst of guesses gets no more than three unspaced); a user without failures is
    /// not slowed by its own burst of right passwords.
    fn spacing(&self) -> Duration {
        if self.failures == 0 { Duration::ZERO } else { spacing(self.failures.saturating_add(self.free_in_flight)) }
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

/// Why an attempt was refused unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The user's queue is full.
    Queue,
    /// The throttle remembers as many users as it may, none of them idle.
    Full,
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
        self.release(Some(succeeded))
    }

    /// Ends this attempt's hold on its entry, recording `outcome`; drops the entry when it
    /// says nothing any more (no failures, nothing in flight). The turn is released
    /// after (the guard is a field, dropped after this), so an entry with a waiting
    /// attempt is never dropped.
    fn release(&mut self, outcome: Option<bool>) -> u32 {
        let mut map = self.logins.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(a) = map.get_mut(&self.key) else { return 0 };
        if self.free {
            a.free_in_flight = a.free_in_flight.saturating_sub(1);
        }
        match outcome {
            Some(true) => a.failures = 0,
            Some(false) => a.failures = a.failures.saturating_add(1),
            None => {}
        }
        a.last = Instant::now();
        let failures = a.failures;
        // This attempt's own clone of the turn is still held (the guard): one queued.
        let only_this = a.free_in_flight == 0 && a.queued() <= usize::from(!self.free);
        if failures == 0 && only_this {
            map.remove(&self.key);
        }
        failures
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if !self.done {
            self.release(None);
        }
    }
}

/// Makes room for one more user in `map`: expired idle entries first, then a sixteenth
/// of the idle ones (fewest failures, least recently tried first), so that the scan runs
/// once per that many new users; whether there is room.
fn make_room(map: &mut HashMap<String, Attempts>) -> bool {
    if map.len() < MAX_USERS {
        return true;
    }
    map.retain(|_, a| !(a.idle() && a.last.elapsed() >= KEPT));
    if map.len() < MAX_USERS {
        return true;
    }
    let mut idle: Vec<(u32, Instant, String)> =
        map.iter().filter(|(_, a)| a.idle()).map(|(k, a)| (a.failures, a.last, k.clone())).collect();
    let n = (MAX_USERS / 16).min(idle.len());
    if n == 0 {
        return false;
    }
    if n < idle.len() {
        idle.select_nth_unstable_by_key(n, |(f, last, _)| (*f, *last));
    }
    for (_, _, k) in idle.into_iter().take(n) {
        map.remove(&k);
    }
    true
}

impl Logins {
    /// Lets an attempt of `key` through, now or after its turn and spacing (see the
    /// module's text), or refuses it unchecked.
    pub(crate) async fn admit(self: &Arc<Self>, key: &str) -> Result<Pass, Refusal> {
        let turn = {
            let mut map = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if !map.contains_key(key) && !make_room(&mut map) {
                return Err(Refusal::Full);
            }
            let a = map.entry(key.to_owned()).or_insert_with(|| Attempts::new(now));
            if a.idle() && a.last.elapsed() >= KEPT {
                a.failures = 0;
            }
            a.last = now;
            if a.failures.saturating_add(a.free_in_flight) < FREE_FAILURES {
                a.free_in_flight += 1;
                return Ok(Pass { logins: self.clone(), key: key.to_owned(), _turn: None, free: true, done: false });
            }
            let limit = if a.failures >= FREE_FAILURES { SUSPECT_QUEUE } else { MAX_QUEUE };
            if a.queued() >= limit {
                return Err(Refusal::Queue);
            }
            a.turn.clone()
        };
        let guard = turn.lock_owned().await;
        let wait = {
            let map = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
            map.get(key).map_or(Duration::ZERO, Attempts::spacing)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(Pass { logins: self.clone(), key: key.to_owned(), _turn: Some(guard), free: false, done: false })
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
            let started = Instant::now();
            let pass = l.admit("u").await.unwrap();
            assert_eq!(started.elapsed(), Duration::ZERO, "free");
            pass.done(false);
        }
        for want in [250, 500, 1000, 2000, 4000, 8000, 8000] {
            let started = Instant::now();
            let pass = l.admit("u").await.unwrap();
            assert_eq!(started.elapsed(), Duration::from_millis(want));
            pass.done(false);
        }
        let started = Instant::now();
        l.admit("other").await.unwrap().done(true);
        assert_eq!(started.elapsed(), Duration::ZERO, "per user");
        l.admit("u").await.unwrap().done(true);
        let started = Instant::now();
        l.admit("u").await.unwrap().done(false);
        assert_eq!(started.elapsed(), Duration::ZERO, "a success ends the spacing");
        // Failures are forgotten KEPT after the last attempt.
        for _ in 0..3 {
            l.admit("v").await.unwrap().done(false);
        }
        tokio::time::advance(KEPT).await;
        let started = Instant::now();
        l.admit("v").await.unwrap().done(false);
        assert_eq!(started.elapsed(), Duration::ZERO, "forgotten");
        assert_eq!(spacing(100), MAX_SPACING);
    }

    /// Attempts that hold their pass a while (a hash), `n` at once; the most that held
    /// a turn-path pass at the same time, and the outcomes.
    async fn burst(l: &Arc<Logins>, key: &'static str, n: usize, right: bool) -> (usize, Vec<Result<u32, Refusal>>) {
        let turns = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (l, turns, most) = (l.clone(), turns.clone(), most.clone());
                tokio::spawn(async move {
                    let pass = l.admit(key).await?;
                    let on_turn = !pass.free;
                    if on_turn {
                        let now = turns.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if on_turn {
                        turns.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Ok(pass.done(right))
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        (most.load(std::sync::atomic::Ordering::SeqCst), out)
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_at_once_wait_for_each_other_and_right_ones_are_never_refused() {
        let l = Arc::new(Logins::default());
        // Ten right passwords at once: three on the free path, the rest one at a time,
        // none refused, none spaced.
        let started = Instant::now();
        let (most, out) = burst(&l, "svc", 10, true).await;
        assert_eq!(most, 1, "one at a time on the turn");
        assert!(out.iter().all(|r| *r == Ok(0)), "{out:?}");
        assert_eq!(started.elapsed(), Duration::from_millis(20 * 7), "3 free beside 7 in turn, unspaced");
        assert!(l.attempts.lock().unwrap().is_empty(), "a user with no failures leaves no entry");

        // Ten guesses at once: three unspaced, the rest in turn and spaced (the free ones
        // in flight count as failures once there is one).
        let (most, out) = burst(&l, "guess", 6, false).await;
        assert_eq!(most, 1);
        assert_eq!(out.iter().filter(|r| r.is_ok()).count(), 6);

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
        assert_eq!(l.admit("x").await.err(), Some(Refusal::Queue), "beyond the queue");
        for w in waiting {
            assert!(w.await.unwrap().is_ok());
        }
        // Dropped attempts, on either path and while waiting, hold nothing.
        drop(l.admit("y").await.unwrap());
        for _ in 0..3 {
            l.admit("z").await.unwrap().done(false);
        }
        let holder = l.admit("z").await.unwrap();
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { l.admit("z").await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        waiter.abort();
        let _ = waiter.await;
        drop(holder);
        let map = l.attempts.lock().unwrap();
        assert!(!map.contains_key("y"), "a dropped free attempt of a user without failures");
        assert!(map["z"].idle() && map["z"].failures == 3, "a dropped attempt counts as nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_throttle_makes_room_a_sixteenth_at_a_time() {
        let l = Arc::new(Logins::default());
        {
            let mut map = l.attempts.lock().unwrap();
            for i in 0..MAX_USERS {
                let mut a = Attempts::new(Instant::now());
                a.failures = if i < 10 { 5 } else { 1 };
                map.insert(format!("u{i}"), a);
            }
        }
        l.admit("new").await.unwrap().done(false);
        let map = l.attempts.lock().unwrap();
        assert_eq!(map.len(), MAX_USERS - MAX_USERS / 16 + 1);
        assert!((0..10).all(|i| map.contains_key(&format!("u{i}"))), "the most failed stay");
        assert_eq!(map["new"].failures, 1);
    }
}
