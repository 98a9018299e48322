//! What a call tells `tracing`: with the `tracing` feature, a span per call
//! and an event for each failure, timeout and failed round trip; without
//! it, nothing. A subscriber written here records what it receives.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use concurry::probe::{Answer, Batch, BatchProbe};
use concurry::{gather, try_gather};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Every span opened (name and fields) and every event (its level, fields,
/// and the span it was emitted in), as text.
#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, String>>>,
    events: Arc<Mutex<Vec<String>>>,
    stack: Arc<Mutex<Vec<u64>>>,
    next: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut text = span.metadata().name().to_string();
        span.record(&mut Fields(&mut text));
        self.spans.lock().unwrap().insert(id, text);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(text) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(text));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = event.metadata().level().to_string();
        event.record(&mut Fields(&mut text));
        if let Some(top) = self.stack.lock().unwrap().last() {
            let span = self.spans.lock().unwrap().get(top).cloned().unwrap_or_default();
            let _ = write!(text, " in {span}");
        }
        self.events.lock().unwrap().push(text);
    }
    fn enter(&self, span: &Id) {
        self.stack.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, _: &Id) {
        self.stack.lock().unwrap().pop();
    }
}

impl Recorder {
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
    fn spans(&self) -> Vec<String> {
        self.spans.lock().unwrap().values().cloned().collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("orders-svc answered 503")]
struct Unavailable;

struct Down;

impl BatchProbe for Down {
    type Id = u32;
    type Output = u32;
    type Failure = String;
    type Error = std::io::Error;
    fn name(&self) -> String {
        "the job service".into()
    }
    fn min_interval(&self) -> Duration {
        Duration::from_millis(1)
    }
    async fn check(&self, _: Vec<u32>) -> Answer<Self> {
        Err(std::io::Error::other("connection refused"))
    }
}

/// Runs the calls whose traces the tests read: a failure, a timeout and a
/// failing batch backend, all from blocking code on this thread.
fn run_calls() {
    let calls = (std::future::ready(Ok::<u8, Unavailable>(1)), std::future::ready(Err::<u8, _>(Unavailable)));
    let _ = try_gather(calls).names(["user", "orders"]).run();
    let slow = vec![
        Box::pin(std::future::ready(1u8)) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>,
        Box::pin(std::future::pending()),
    ];
    let _ = gather(slow).names(["fast", "slow"]).timeout(Duration::from_millis(20)).run();
    let batch = Batch::with_max_failures(Down, 2);
    let _ = try_gather([batch.handle(7)]).run();
}

#[cfg(feature = "tracing")]
#[test]
fn each_call_is_a_span_and_what_goes_wrong_is_an_event() {
    // Global: a batch's round trips run on a thread of the crate's own.
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(recorder.clone()).expect("the only subscriber of this test binary");
    run_calls();
    let spans = recorder.spans();
    assert!(spans.iter().any(|s| s == "concurry entry=try_gather children=2"), "{spans:#?}");
    assert!(spans.iter().any(|s| s == "concurry entry=gather children=2 timeout=20ms"), "{spans:#?}");
    let events = recorder.events();
    let find = |needle: &str| events.iter().find(|e| e.contains(needle)).cloned();
    let failed = find("orders failed").unwrap_or_else(|| panic!("{events:#?}"));
    assert!(failed.starts_with("WARN"), "{failed}");
    assert!(failed.contains("child=orders") && failed.contains("error=orders-svc answered 503"), "{failed}");
    assert!(failed.contains("in concurry entry=try_gather"), "{failed}");
    let timed_out = find("timed out after 20ms").unwrap_or_else(|| panic!("{events:#?}"));
    assert!(timed_out.contains("completed=1 total=2 pending=slow"), "{timed_out}");
    let trip = find("the job service's round trip failed").unwrap_or_else(|| panic!("{events:#?}"));
    assert!(trip.contains("failures=1") && trip.contains("connection refused"), "{trip}");
}

#[cfg(not(feature = "tracing"))]
#[test]
fn without_the_feature_nothing_is_emitted() {
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), run_calls);
    assert!(recorder.spans().is_empty(), "{:?}", recorder.spans());
    assert!(recorder.events().is_empty(), "{:?}", recorder.events());
}
