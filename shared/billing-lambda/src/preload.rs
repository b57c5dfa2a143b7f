//! What a function loads once per execution environment (secrets, the
//! seller record, compiled schemas), in the init phase, with a failure that
//! is answered and retried instead of killing the environment.
//!
//! Lambda gives an on-demand environment a full vCPU until the runtime's
//! first poll and a share proportional to its memory afterwards (about a
//! seventh of a vCPU at 256 MB), and it initializes a provisioned
//! environment before any request arrives, freezing whatever is still
//! running after the first poll. Work deferred past the first poll, lazily
//! or in the background, therefore runs throttled and lands on the first
//! request: the load belongs before the poll ([`Preload::load_now`]).
//!
//! A failed load is kept only for [`RETRY_AFTER`]. The function still
//! starts; an event that finds nothing loaded gets the recent failure to
//! answer with (a mapped 5xx rather than Lambda's bare runtime error), or
//! loads again once the interval is over ([`Preload::get`]). A record
//! stored after the deploy is picked up without a restart, and a passing
//! fault does not poison the environment.

use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

/// How long a failed load is answered again without loading. Long enough
/// that a flood of requests against a broken deployment cannot become a
/// flood of AWS calls, short enough that a fix is picked up at once.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// State loaded at most once per execution environment by `load`, shared by
/// every event it serves.
#[derive(Debug)]
pub struct Preload<T, E, F> {
    loaded: OnceCell<T>,
    load: F,
    retry_after: Duration,
    last_failure: Mutex<Option<(Instant, Arc<E>)>>,
}

impl<T, E, F, Fut> Preload<T, E, F>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Nothing is loaded until [`Preload::load_now`] or the first
    /// [`Preload::get`]; a failure is answered again for [`RETRY_AFTER`].
    pub fn new(load: F) -> Self {
        Self::with_retry_after(load, RETRY_AFTER)
    }

    /// As [`Preload::new`], answering a failure again for `retry_after`.
    pub fn with_retry_after(load: F, retry_after: Duration) -> Self {
        Self {
            loaded: OnceCell::new(),
            load,
            retry_after,
            last_failure: Mutex::new(None),
        }
    }

    /// The loaded state. Waits for a load in progress. If none succeeded
    /// yet, loads again, unless the last load failed less than the retry
    /// interval ago: then that failure is the answer, also for callers
    /// that were waiting for the failed load.
    pub async fn get(&self) -> Result<&T, Arc<E>> {
        self.loaded
            .get_or_try_init(|| async {
                if let Some(failure) = self.recent_failure() {
                    return Err(failure);
                }
                (self.load)().await.map_err(|error| {
                    let error = Arc::new(error);
                    if let Ok(mut last) = self.last_failure.lock() {
                        *last = Some((Instant::now(), Arc::clone(&error)));
                    }
                    error
                })
            })
            .await
    }

    /// Whether a load has succeeded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.initialized()
    }

    fn recent_failure(&self) -> Option<Arc<E>> {
        let last = self.last_failure.lock().ok()?;
        let (at, error) = last.as_ref()?;
        (at.elapsed() < self.retry_after).then(|| Arc::clone(error))
    }
}

impl<T, E, F, Fut> Preload<T, E, F>
where
    E: Display,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Load now, in the init phase, giving up after `limit` (Lambda ends
    /// an init phase after 10 s with a bare error). A failure or time-out
    /// is logged (the error's `Display` must hold no personal data) and
    /// left to the first event, which loads again.
    pub async fn load_now(&self, limit: Duration) {
        match tokio::time::timeout(limit, self.get()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "cold-start load failed; the first event tries again");
            }
            Err(_) => {
                tracing::error!(
                    limit_ms = limit.as_millis(),
                    "cold-start load timed out; the first event tries again"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::*;

    /// One run of the test load.
    type Loading = std::pin::Pin<Box<dyn Future<Output = Result<usize, String>> + Send>>;

    /// A test load: counts its runs, then waits at a gate the test opens
    /// (one permit per run), and fails its first `failures` runs; a success
    /// returns its run's number.
    struct TestLoad {
        runs: Arc<AtomicUsize>,
        gate: Arc<Semaphore>,
    }

    impl TestLoad {
        fn new(failures: usize) -> (Self, impl Fn() -> Loading + Send + Sync + 'static) {
            let runs = Arc::new(AtomicUsize::new(0));
            let gate = Arc::new(Semaphore::new(0));
            let (counter, gate_of_load) = (Arc::clone(&runs), Arc::clone(&gate));
            let load = move || -> Loading {
                let (counter, gate) = (Arc::clone(&counter), Arc::clone(&gate_of_load));
                Box::pin(async move {
                    let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    gate.acquire().await.map_err(|e| e.to_string())?.forget();
                    if run <= failures {
                        Err(format!("run {run} failed"))
                    } else {
                        Ok(run)
                    }
                })
            };
            (Self { runs, gate }, load)
        }

        fn runs(&self) -> usize {
            self.runs.load(Ordering::SeqCst)
        }

        /// Let `n` runs finish.
        fn open(&self, n: usize) {
            self.gate.add_permits(n);
        }
    }

    /// The init phase's limit in these tests: never reached by a load
    /// whose gate is open.
    const LIMIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn the_load_in_the_init_phase_serves_the_first_event() {
        // GIVEN a load that succeeds
        let (test, load) = TestLoad::new(0);
        let preload = Preload::new(load);
        test.open(1);
        // WHEN it is loaded in the init phase
        preload.load_now(LIMIT).await;
        // THEN it is loaded, and the first event does not load again
        assert!(preload.is_loaded());
        assert_eq!(preload.get().await.ok(), Some(&1));
        assert_eq!(test.runs(), 1);
    }

    #[tokio::test]
    async fn a_failed_init_load_is_retried_by_the_first_event() {
        // GIVEN a load that fails the first time, retried at once
        let (test, load) = TestLoad::new(1);
        let preload = Preload::with_retry_after(load, Duration::ZERO);
        test.open(2);
        // WHEN the init phase's load fails
        preload.load_now(LIMIT).await;
        // THEN nothing is kept, and the first event loads again and succeeds
        assert!(!preload.is_loaded());
        assert_eq!(preload.get().await.ok(), Some(&2));
        assert_eq!(test.runs(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_init_load_over_its_limit_is_abandoned_and_the_first_event_loads_again() {
        // GIVEN a load that hangs (its gate stays shut)
        let (test, load) = TestLoad::new(0);
        let preload = Preload::new(load);
        // WHEN the init phase gives it 8 s
        preload.load_now(Duration::from_secs(8)).await;
        // THEN it was abandoned, unloaded and not remembered as a failure
        assert!(!preload.is_loaded());
        assert_eq!(test.runs(), 1);
        // AND the first event loads again
        test.open(1);
        assert_eq!(preload.get().await.ok(), Some(&2));
    }

    #[tokio::test]
    async fn while_the_load_fails_each_event_after_the_interval_loads_again() {
        // GIVEN a load that fails twice, retried at once
        let (test, load) = TestLoad::new(2);
        let preload = Preload::with_retry_after(load, Duration::ZERO);
        test.open(3);
        // WHEN events ask
        // THEN each gets its own run's failure until a run succeeds
        assert_eq!(
            preload.get().await.map_err(|e| e.to_string()),
            Err("run 1 failed".into())
        );
        assert_eq!(
            preload.get().await.map_err(|e| e.to_string()),
            Err("run 2 failed".into())
        );
        assert!(!preload.is_loaded());
        assert_eq!(preload.get().await.ok(), Some(&3));
        assert_eq!(test.runs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn within_the_interval_a_failure_is_answered_without_loading() {
        // GIVEN a load that failed once, with the default interval
        let (test, load) = TestLoad::new(1);
        let preload = Preload::new(load);
        test.open(2);
        assert!(preload.get().await.is_err());
        // WHEN more events arrive before the interval is over
        // THEN they get the same failure and nothing is loaded
        for _ in 0..5 {
            assert_eq!(
                preload.get().await.map_err(|e| e.to_string()),
                Err("run 1 failed".into())
            );
        }
        assert_eq!(test.runs(), 1);
        // AND once it is over, the next event loads again
        tokio::time::advance(RETRY_AFTER).await;
        assert_eq!(preload.get().await.ok(), Some(&2));
        assert_eq!(test.runs(), 2);
    }

    /// `n` events asking at once, all still waiting after 20 ms because
    /// the load is held at its gate; each yields its answer.
    async fn events_waiting_for_the_load<F>(
        preload: &Arc<Preload<usize, String, F>>,
        n: usize,
    ) -> Vec<tokio::task::JoinHandle<Result<usize, String>>>
    where
        F: Fn() -> Loading + Send + Sync + 'static,
    {
        let events: Vec<_> = (0..n)
            .map(|_| {
                let preload = Arc::clone(preload);
                tokio::spawn(async move { preload.get().await.copied().map_err(|e| e.to_string()) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            events.iter().all(|e| !e.is_finished()),
            "the events wait for the load"
        );
        events
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_events_share_one_load() {
        // GIVEN a load nobody has run yet, held at its gate, and three waiting events
        let (test, load) = TestLoad::new(0);
        let preload = Arc::new(Preload::new(load));
        let events = events_waiting_for_the_load(&preload, 3).await;
        // WHEN the load finishes
        test.open(3);
        // THEN the load ran once and all three got its result
        for event in events {
            assert_eq!(event.await.unwrap(), Ok(1));
        }
        assert_eq!(test.runs(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_waiting_for_a_failing_load_get_its_failure_without_loading_again() {
        // GIVEN a load that will fail, held at its gate, and three waiting events
        let (test, load) = TestLoad::new(1);
        let preload = Arc::new(Preload::new(load));
        let events = events_waiting_for_the_load(&preload, 3).await;
        // WHEN the load fails
        test.open(3);
        // THEN all three get that failure, and it ran once
        for event in events {
            assert_eq!(event.await.unwrap(), Err("run 1 failed".into()));
        }
        assert_eq!(test.runs(), 1);
    }
}
