//! The spec's "Streaming Results": analyse documents concurrently and send
//! each result to the client as soon as it is ready, in completion order.
//!
//! Run with `cargo run --example streaming`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use concurry::{shared_runtime, try_gather};

/// Pretends to analyse a document; longer documents take longer.
async fn analyze_document(doc: &'static str) -> usize {
    tokio::time::sleep(Duration::from_millis(doc.len() as u64 * 3)).await;
    doc.split_whitespace().count()
}

fn send_to_client(line: &str) {
    println!("-> {line}");
}

fn main() {
    let documents = [
        "a long report about the quarterly numbers of the company",
        "short note",
        "a medium length memo about lunch",
        "hi",
    ];
    let futures: Vec<_> = documents.iter().map(|doc| shared_runtime().spawn(analyze_document(doc))).collect();

    // Iterator mode: each (index, result) as it completes.
    for item in try_gather(futures).progress(true).iter() {
        let (doc_id, analysis) = item.expect("analysis tasks do not fail");
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        send_to_client(&format!(
            "{{\"document_id\": {doc_id}, \"analysis\": {{\"words\": {analysis}}}, \"timestamp\": {timestamp:.3}}}"
        ));
    }
}
