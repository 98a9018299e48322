//! Crawl 1,000 simulated URLs, 20 at a time, with a progress bar and each
//! result keyed by its URL; beside it, the same with
//! `stream::iter(..).buffer_unordered(20)`.
//!
//! Run with `cargo run --example limit`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use concurry::{async_gather, lazy_keyed, progress::Bar};
use futures::StreamExt;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// A simulated fetch: 2-11 ms; some URLs fail.
async fn fetch(url: &str) -> Result<usize, String> {
    PEAK.fetch_max(IN_FLIGHT.fetch_add(1, SeqCst) + 1, SeqCst);
    let n = url.len() + url.bytes().map(usize::from).sum::<usize>();
    tokio::time::sleep(Duration::from_millis(2 + (n % 10) as u64)).await;
    IN_FLIGHT.fetch_sub(1, SeqCst);
    if n % 97 == 0 { Err(format!("{url}: 503")) } else { Ok(n * 10) }
}

#[tokio::main]
async fn main() {
    let urls: Vec<String> = (0..1000).map(|i| format!("https://example.com/page/{i}")).collect();

    // concurry: keyed by URL, 20 at a time, a bar, each result in a map.
    let started = Instant::now();
    let pages = lazy_keyed(urls.iter().map(|url| (url.as_str(), fetch(url))));
    let results: HashMap<&str, Result<usize, String>> = async_gather(pages)
        .limit(20)
        .progress(Bar::default().desc("Crawling").unit("url"))
        .await
        .expect("no timeout was set")
        .into_iter()
        .collect();
    let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).map(|(url, _)| *url).collect();
    println!(
        "concurry: {} pages in {:.2?}, {} failed (e.g. {:?}), at most {} in flight",
        results.len(),
        started.elapsed(),
        failed.len(),
        failed.first(),
        PEAK.load(SeqCst)
    );
    assert_eq!(PEAK.load(SeqCst), 20);

    // The same with futures' buffer_unordered: the key is carried by hand,
    // and there is no progress.
    PEAK.store(0, SeqCst);
    let started = Instant::now();
    let plain: HashMap<&str, Result<usize, String>> = futures::stream::iter(urls.iter())
        .map(|url| async move { (url.as_str(), fetch(url).await) })
        .buffer_unordered(20)
        .collect()
        .await;
    println!("buffer_unordered: {} pages in {:.2?}", plain.len(), started.elapsed());
    assert_eq!(plain, results);
}
