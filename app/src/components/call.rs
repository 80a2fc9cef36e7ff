//! [`Call`]: an island's call of a server function, with what the island shows about it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;

/// The function behind a [`Call`], its future boxed so that the call's own code does not grow
/// with every closure.
type Run<I, O> = Arc<dyn Fn(&I) -> Pin<Box<dyn Future<Output = O> + Send>> + Send + Sync>;

/// A server-function call made from an island: whether one is in flight, the last result, and
/// how many have finished. The islands' stand-in for Leptos' `Action`, with the same
/// `dispatch` / `value` / `pending` / `version`: `Action` also keeps each input, runs every
/// call under its own reactive owner and hands out abort handles, none of which an island
/// uses, and its code is repeated for every input and output type in the WASM bundle
/// (BENCHMARKS.md, "Bundle").
pub struct Call<I: 'static, O: 'static> {
    run: StoredValue<Run<I, O>>,
    value: RwSignal<Option<O>>,
    in_flight: RwSignal<u32>,
    version: RwSignal<u32>,
}

impl<I, O> Clone for Call<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for Call<I, O> {}

impl<I, O> Call<I, O>
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    /// A call of `run` for each [`Call::dispatch`]ed input.
    pub fn new<F, Fu>(run: F) -> Self
    where
        F: Fn(&I) -> Fu + Send + Sync + 'static,
        Fu: Future<Output = O> + Send + 'static,
    {
        let run: Run<I, O> = Arc::new(move |input| Box::pin(run(input)));
        Call {
            run: StoredValue::new(run),
            value: RwSignal::new(None),
            in_flight: RwSignal::new(0),
            version: RwSignal::new(0),
        }
    }

    /// Starts a call with `input`; its result becomes [`Call::value`] when it ends.
    pub fn dispatch(&self, input: I) {
        let Some(future) = self.run.try_with_value(|run| untrack(|| run(&input))) else {
            return;
        };
        let Call {
            value,
            in_flight,
            version,
            ..
        } = *self;
        in_flight.update(|n| *n += 1);
        leptos::task::spawn_local(async move {
            let out = future.await;
            in_flight.update(|n| *n = n.saturating_sub(1));
            version.update(|n| *n += 1);
            value.set(Some(out));
        });
    }

    /// The result of the last call that ended (`None` before the first; an island may clear it).
    pub fn value(&self) -> RwSignal<Option<O>> {
        self.value
    }

    /// Whether a call is in flight.
    pub fn pending(&self) -> Signal<bool> {
        busy(self.in_flight)
    }

    /// How many calls have ended.
    pub fn version(&self) -> ReadSignal<u32> {
        self.version.read_only()
    }
}

/// One function for every call's [`Call::pending`] (not one per input and output type).
fn busy(in_flight: RwSignal<u32>) -> Signal<bool> {
    Signal::derive(move || in_flight.get() > 0)
}

/// Runs `f` now and again whenever a signal it reads changes (browser only), like
/// `Effect::new(move |_| f())`: the effect's own code is in the bundle once, not once per
/// closure.
pub fn effect(f: impl Fn() + 'static) {
    let f: Box<dyn Fn()> = Box::new(f);
    Effect::new(move |_| f());
}
