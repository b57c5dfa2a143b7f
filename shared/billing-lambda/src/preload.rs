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
//! A failed load is not kept. The function still starts; each event that
//! finds nothing loaded tries again ([`Preload::get`]) and, while the load
//! keeps failing, gets the failure to answer with (a mapped 5xx rather than
//! Lambda's bare runtime error). A record stored after the deploy is picked
//! up without a restart, and a passing fault does not poison the
//! environment.

use std::fmt::Display;
use std::future::Future;

use tokio::sync::OnceCell;

/// State loaded at most once per execution environment by `load`, shared by
/// every event it serves.
#[derive(Debug)]
pub struct Preload<T, F> {
    loaded: OnceCell<T>,
    load: F,
}

impl<T, E, F, Fut> Preload<T, F>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Nothing is loaded until [`Preload::load_now`] or the first
    /// [`Preload::get`].
    pub fn new(load: F) -> Self {
        Self {
            loaded: OnceCell::new(),
            load,
        }
    }

    /// The loaded state. Waits for a load in progress; runs the load again
    /// if none succeeded yet. Concurrent callers share one load.
    pub async fn get(&self) -> Result<&T, E> {
        self.loaded.get_or_try_init(&self.load).await
    }

    /// Whether a load has succeeded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.initialized()
    }
}

impl<T, E, F, Fut> Preload<T, F>
where
    E: Display,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Load now, in the init phase. A failure is logged (its `Display` must
    /// hold no personal data) and left to the next [`Preload::get`].
    pub async fn load_now(&self) {
        if let Err(error) = self.get().await {
            tracing::error!(%error, "cold-start load failed; the next event tries again");
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

    #[tokio::test]
    async fn the_load_in_the_init_phase_serves_the_first_event() {
        // GIVEN a load that succeeds
        let (test, load) = TestLoad::new(0);
        let preload = Preload::new(load);
        test.open(1);
        // WHEN it is loaded in the init phase
        preload.load_now().await;
        // THEN it is loaded, and the first event does not load again
        assert!(preload.is_loaded());
        assert_eq!(preload.get().await, Ok(&1));
        assert_eq!(test.runs(), 1);
    }

    #[tokio::test]
    async fn a_failed_init_load_is_retried_by_the_first_event() {
        // GIVEN a load that fails the first time
        let (test, load) = TestLoad::new(1);
        let preload = Preload::new(load);
        test.open(2);
        // WHEN the init phase's load fails
        preload.load_now().await;
        // THEN nothing is kept, and the first event loads again and succeeds
        assert!(!preload.is_loaded());
        assert_eq!(preload.get().await, Ok(&2));
        assert_eq!(test.runs(), 2);
    }

    #[tokio::test]
    async fn while_the_load_fails_each_event_gets_the_failure() {
        // GIVEN a load that fails twice
        let (test, load) = TestLoad::new(2);
        let preload = Preload::new(load);
        test.open(3);
        // WHEN events ask
        // THEN each gets its own run's failure until a run succeeds
        assert_eq!(preload.get().await, Err("run 1 failed".to_owned()));
        assert_eq!(preload.get().await, Err("run 2 failed".to_owned()));
        assert!(!preload.is_loaded());
        assert_eq!(preload.get().await, Ok(&3));
        assert_eq!(test.runs(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_events_share_one_load() {
        // GIVEN a load nobody has run yet, held at its gate
        let (test, load) = TestLoad::new(0);
        let preload = Arc::new(Preload::new(load));
        // WHEN three events ask at once and the load then finishes
        let events: Vec<_> = (0..3)
            .map(|_| {
                let preload = Arc::clone(&preload);
                tokio::spawn(async move { preload.get().await.copied() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            events.iter().all(|e| !e.is_finished()),
            "the events wait for the load"
        );
        test.open(3);
        // THEN the load ran once and all three got its result
        for event in events {
            assert_eq!(event.await.unwrap(), Ok(1));
        }
        assert_eq!(test.runs(), 1);
    }
}
