//! Runs a GraphQL request and its DataLoader batches inside one task, on the worker thread that
//! received the request.
//!
//! Why: batches must hold every sibling's key, whatever the machine's load, so a query's
//! statement count depends on its shape only (`tests/it/loaders.rs`). async-graphql resolves a
//! list's items concurrently, but its `FuturesUnordered` returns `Pending` (after waking
//! itself) every 32 items; a batch started then would see only the keys registered so far.
//! [`Drive`] therefore polls the request until it is pending *without* having woken itself,
//! i.e. every branch that can run has run and now waits on a loader or the database, and only
//! then starts the batches its loaders queued ([`BatchQueue`], the loaders' spawner). Batches
//! are polled by the same task, so a request costs no thread hand-off (an earlier design ran
//! each request on a pool thread and paid two context switches, plus one per batch).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Sees the size of every loader batch: its kind (`by_id`, `pages`, `counts`) and its keys
/// (the server's metrics, when on).
pub type BatchHook = Arc<dyn Fn(&'static str, usize) + Send + Sync>;

/// The batches a request's loaders asked to run, waiting for [`Drive`] to start them.
#[derive(Clone, Default)]
pub struct BatchQueue(Arc<Mutex<Vec<BoxFuture>>>, bool, Option<BatchHook>);

impl BatchQueue {
    /// A queue that spawns each batch as a task at once, for work no [`Drive`] polls: a
    /// subscription's changes, resolved by async-graphql's own stream executor.
    pub fn spawning() -> Self {
        Self(Arc::default(), true, None)
    }

    /// This queue, its loaders' batch sizes reported to `hook`.
    pub fn observed(mut self, hook: Option<BatchHook>) -> Self {
        self.2 = hook;
        self
    }

    /// The hook the loaders report their batch sizes to.
    pub fn hook(&self) -> Option<&BatchHook> {
        self.2.as_ref()
    }

    /// The DataLoader spawner: queue the batch instead of spawning it.
    ///
    /// A batch runs inside the span that asked for it (an operation's, when traced): it is
    /// polled by [`Drive`] or its own task, outside the resolver that queued it.
    pub fn push(&self, fut: BoxFuture) {
        let span = tracing::Span::current();
        let fut = if span.is_none() {
            fut
        } else {
            Box::pin(tracing::Instrument::instrument(fut, span))
        };
        if self.1 {
            tokio::spawn(fut);
            return;
        }
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(fut);
    }

    fn take(&self) -> Vec<BoxFuture> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A waker that records that it was woken, then wakes the task that polls [`Drive`].
#[derive(Default)]
struct Flag {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            task.wake_by_ref();
        }
    }
}

/// How many times in a row the request may wake itself before [`Drive`] lets other tasks of
/// the worker run (and tokio renew the task's cooperative budget). It resumes where it was:
/// this is fairness, not a batch boundary, since batches start only when the request is
/// pending without having woken itself.
const MAX_SPINS: usize = 64;

/// A request future together with the batches of its loaders.
pub struct Drive<F: Future> {
    request: Pin<Box<F>>,
    queue: BatchQueue,
    batches: Vec<BoxFuture>,
    flag: Arc<Flag>,
    waker: Waker,
}

impl<F: Future> Drive<F> {
    pub fn new(request: F, queue: BatchQueue) -> Self {
        let flag = Arc::new(Flag::default());
        Self {
            request: Box::pin(request),
            queue,
            batches: Vec::new(),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }
}

impl<F: Future> Future for Drive<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        {
            let mut task = this.flag.task.lock().unwrap_or_else(|p| p.into_inner());
            if !task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        let waker = this.waker.clone();
        let mut inner = Context::from_waker(&waker);
        for _ in 0..MAX_SPINS {
            this.flag.woken.store(false, Ordering::Release);
            if let Poll::Ready(out) = this.request.as_mut().poll(&mut inner) {
                return Poll::Ready(out);
            }
            if this.flag.woken.load(Ordering::Acquire) {
                // The request yielded half-way through a list: let it finish the pass.
                continue;
            }
            // Quiescent: every branch waits on a loader or the database. Start what the
            // loaders queued, and drive every running batch.
            this.batches.extend(this.queue.take());
            let before = this.batches.len();
            this.batches
                .retain_mut(|batch| batch.as_mut().poll(&mut inner).is_pending());
            let finished = this.batches.len() < before;
            if !finished && !this.flag.woken.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns `Pending` once after waking itself, as `FuturesUnordered` does every 32 items.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// A request that yields (like a long list) keeps being polled before batches start, and
    /// its batches run in the same task.
    #[tokio::test]
    async fn batches_start_after_the_request_stops_yielding() {
        let queue = BatchQueue::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (q, l) = (queue.clone(), log.clone());
        let request = async move {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let l2 = l.clone();
            q.push(Box::pin(async move {
                l2.lock().unwrap().push("batch");
                let _ = tx.send(());
            }));
            for _ in 0..5 {
                l.lock().unwrap().push("yield");
                YieldOnce(false).await;
            }
            rx.await.unwrap();
            l.lock().unwrap().push("done");
        };
        Drive::new(request, queue).await;
        assert_eq!(
            *log.lock().unwrap(),
            ["yield", "yield", "yield", "yield", "yield", "batch", "done"]
        );
    }
}
