//! What a function loads once per execution environment (secrets, the
//! seller record, compiled schemas), started at cold start beside the
//! runtime's first poll instead of before it.
//!
//! Lambda's init phase ends when the runtime first asks for an event. Loading
//! before that poll puts every round trip of the load on the init phase, one
//! after the other. Started in the background, the load overlaps the poll,
//! its independent parts overlap each other, and the first event waits only
//! for what is still missing. A failed load is not kept: the next event tries
//! again, so a record stored after the deploy is picked up without a restart,
//! and a passing fault (throttling, a timeout) does not poison the
//! environment until Lambda recycles it.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

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
    /// Nothing is loaded until [`Preload::start`] or the first
    /// [`Preload::get`].
    pub fn new(load: F) -> Self {
        Self {
            loaded: OnceCell::new(),
            load,
        }
    }

    /// The loaded state. Waits for a load in progress (the one `start`
    /// began, or another event's); runs the load again if none succeeded
    /// yet. Concurrent callers share one load.
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
    T: Send + Sync + 'static,
    E: Display + Send + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    /// Begin loading now on the Tokio runtime and return at once. A failure
    /// is logged (its `Display` must hold no personal data) and left to the
    /// next [`Preload::get`] to retry.
    pub fn start(self: &Arc<Self>) {
        let preload = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(error) = preload.get().await {
                tracing::error!(%error, "cold-start load failed; the next event tries again");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// One run of the test load.
    type Loading = std::pin::Pin<Box<dyn Future<Output = Result<usize, String>> + Send>>;

    /// A load that counts its runs, takes 20 ms and fails its first
    /// `failures` runs; each success returns its run's number.
    fn counting(failures: usize) -> (Arc<AtomicUsize>, impl Fn() -> Loading + Send + Sync) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let load = move || -> Loading {
            let counter = Arc::clone(&counter);
            Box::pin(async move {
                let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                if run <= failures {
                    Err(format!("run {run} failed"))
                } else {
                    Ok(run)
                }
            })
        };
        (runs, load)
    }

    #[tokio::test]
    async fn concurrent_events_share_one_load() {
        // GIVEN a load nobody has started
        let (runs, load) = counting(0);
        let preload = Preload::new(load);
        // WHEN three events ask for the state at once
        let (a, b, c) = tokio::join!(preload.get(), preload.get(), preload.get());
        // THEN the load ran once and all three got its result
        assert_eq!((a, b, c), (Ok(&1), Ok(&1), Ok(&1)));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(preload.is_loaded());
    }

    #[tokio::test]
    async fn start_loads_before_any_event_and_the_event_reuses_it() {
        // GIVEN a started load
        let (runs, load) = counting(0);
        let preload = Arc::new(Preload::new(load));
        preload.start();
        // WHEN it has had time to finish without anyone asking
        for _ in 0..200 {
            if preload.is_loaded() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // THEN it is loaded, and the first event does not load again
        assert!(preload.is_loaded());
        assert_eq!(preload.get().await, Ok(&1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_event_during_the_started_load_waits_for_it() {
        // GIVEN a load started at cold start and still running
        let (runs, load) = counting(0);
        let preload = Arc::new(Preload::new(load));
        preload.start();
        tokio::task::yield_now().await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the started load is under way"
        );
        assert!(!preload.is_loaded());
        // WHEN the first event arrives before it finished
        let state = preload.get().await;
        // THEN it gets the started load's result, not a second load's
        assert_eq!(state, Ok(&1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_load_is_not_kept_and_the_next_event_retries() {
        // GIVEN a load that fails the first time
        let (runs, load) = counting(1);
        let preload = Preload::new(load);
        // WHEN the first event asks
        let first = preload.get().await;
        // THEN it gets the error and nothing is kept
        assert_eq!(first, Err("run 1 failed".to_owned()));
        assert!(!preload.is_loaded());
        // AND the next event loads again and succeeds
        assert_eq!(preload.get().await, Ok(&2));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_started_load_is_retried_by_the_first_event() {
        // GIVEN a started load that fails
        let (runs, load) = counting(1);
        let preload = Arc::new(Preload::new(load));
        preload.start();
        tokio::task::yield_now().await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the started load is under way"
        );
        // WHEN the first event asks before it failed
        let state = preload.get().await;
        // THEN it ran the load a second time and got the state
        assert_eq!(state, Ok(&2));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
