//! Small calls: a service gathers 1 to 10 futures per request, millions of
//! times, so the fixed cost of one call decides. Shared by
//! `src/bin/compare.rs` and `benches/gather.rs` of this crate.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::future::Future;

use concurry::async_gather;
use futures_concurrency::future::Join;

use super::peers::OURS;

/// The peers of a small call; for maps, each collects the outputs back into
/// a map by hand.
pub const SMALL_PEERS: [&str; 3] = ["join_all", "futures_buffered", "futures_concurrency"];

/// `calls` gathers of a `Vec` of `n` futures made by `make`; returns the
/// outputs counted.
pub async fn vec_calls<F: Future<Output = u64> + Unpin>(
    who: &str,
    n: u64,
    calls: usize,
    make: impl Fn(u64) -> F,
) -> usize {
    let mut total = 0;
    for _ in 0..calls {
        let v: Vec<F> = (0..n).map(&make).collect();
        total += match who {
            OURS => async_gather(v).await.expect("no timeout").len(),
            "join_all" => futures::future::join_all(v).await.len(),
            "futures_buffered" => futures_buffered::join_all(v).await.len(),
            "futures_concurrency" => v.join().await.len(),
            other => unreachable!("{other}"),
        };
    }
    total
}

/// `calls` gathers of an array of `N` futures.
pub async fn array_calls<const N: usize, F: Future<Output = u64> + Unpin>(
    who: &str,
    calls: usize,
    make: impl Fn(u64) -> F,
) -> usize {
    let mut total = 0;
    for _ in 0..calls {
        let a: [F; N] = std::array::from_fn(|i| make(i as u64));
        total += match who {
            OURS => async_gather(a).await.expect("no timeout").len(),
            "join_all" => futures::future::join_all(a).await.len(),
            "futures_buffered" => futures_buffered::join_all(a).await.len(),
            "futures_concurrency" => a.join().await.len(),
            other => unreachable!("{other}"),
        };
    }
    total
}

/// `calls` gathers of a `HashMap` of `n` futures, the outputs in a map of
/// the same keys.
pub async fn map_calls<F: Future<Output = u64> + Unpin>(
    who: &str,
    n: u64,
    calls: usize,
    make: impl Fn(u64) -> F,
) -> usize {
    let mut total = 0;
    for _ in 0..calls {
        let m: HashMap<u64, F> = (0..n).map(|i| (i, make(i))).collect();
        let out: HashMap<u64, u64> = if who == OURS {
            async_gather(m).await.expect("no timeout")
        } else {
            let (keys, futs): (Vec<u64>, Vec<F>) = m.into_iter().unzip();
            let outs = match who {
                "join_all" => futures::future::join_all(futs).await,
                "futures_buffered" => futures_buffered::join_all(futs).await,
                "futures_concurrency" => futs.join().await,
                other => unreachable!("{other}"),
            };
            keys.into_iter().zip(outs).collect()
        };
        total += out.len();
    }
    total
}

/// `calls` blocking gathers of `n` futures from a plain thread: ours
/// `gather(..).run()`, or `futures::executor::block_on(join_all(..))`.
pub fn blocking_calls<F: Future<Output = u64> + Unpin>(
    who: &str,
    n: u64,
    calls: usize,
    make: impl Fn(u64) -> F,
) -> usize {
    let mut total = 0;
    for _ in 0..calls {
        let v: Vec<F> = (0..n).map(&make).collect();
        total += match who {
            OURS => concurry::gather(v).run().expect("no timeout").len(),
            "block_on(join_all)" => futures::executor::block_on(futures::future::join_all(v)).len(),
            other => unreachable!("{other}"),
        };
    }
    total
}
