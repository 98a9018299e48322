//! The service path: `?` on every call converts into `anyhow::Error` or
//! `Box<dyn Error + Send + Sync>`, whatever the children borrow, as
//! `futures::future::try_join_all(..).await?` does (issue 12, item 1).

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concurry::{async_gather, async_wait, task};

/// Children that borrow the caller's data.
async fn lengths(words: &[String]) -> anyhow::Result<Vec<usize>> {
    let futs: Vec<_> = words.iter().map(|w| async move { Ok::<usize, std::io::Error>(w.len()) }).collect();
    Ok(async_gather(futs).timeout(Duration::from_secs(5)).await?)
}

/// The plain version, for comparison: the same length.
async fn lengths_plain(words: &[String]) -> anyhow::Result<Vec<usize>> {
    let futs: Vec<_> = words.iter().map(|w| async move { Ok::<usize, std::io::Error>(w.len()) }).collect();
    Ok(tokio::time::timeout(Duration::from_secs(5), futures::future::try_join_all(futs)).await??)
}

struct Shop {
    name: String,
}

impl Shop {
    async fn user(&self, id: u32) -> Result<String, std::io::Error> {
        Ok(format!("{}-user-{id}", self.name))
    }
    async fn orders(&self, id: u32) -> Result<String, std::io::Error> {
        Ok(format!("{}-orders-{id}", self.name))
    }
    /// Children that borrow `self`.
    async fn page(&self, id: u32) -> anyhow::Result<String> {
        let both = async_gather(vec![
            Box::pin(self.user(id)) as std::pin::Pin<Box<dyn Future<Output = _> + Send + '_>>,
            Box::pin(self.orders(id)),
        ])
        .await?;
        Ok(both.join(" "))
    }
}

#[tokio::test]
async fn question_mark_converts_whatever_the_children_borrow() {
    let words = vec!["a".to_string(), "abc".to_string()];
    assert_eq!(lengths(&words).await.unwrap(), [1, 3]);
    assert_eq!(lengths_plain(&words).await.unwrap(), [1, 3]);
    let shop = Shop { name: "s".into() };
    assert_eq!(shop.page(7).await.unwrap(), "s-user-7 s-orders-7");
}

/// `!Send` children on a current-thread runtime, into `Box<dyn Error>`.
async fn local_counts() -> Result<Vec<usize>, Box<dyn std::error::Error>> {
    let shared = Rc::new(vec![1, 2, 3]);
    let futs: Vec<_> = (0..3)
        .map(|i| {
            let shared = shared.clone();
            async move { Ok::<usize, std::io::Error>(shared[i]) }
        })
        .collect();
    Ok(async_gather(futs).timeout(Duration::from_secs(1)).await?)
}

#[tokio::test]
async fn question_mark_converts_for_non_send_children() {
    assert_eq!(local_counts().await.unwrap(), [1, 2, 3]);
}

/// A timeout converts with `?` too, and says what happened.
#[tokio::test(start_paused = true)]
async fn a_timeout_converts_with_question_mark_and_reads_well() {
    async fn slow(words: &[String]) -> anyhow::Result<usize> {
        let futs: Vec<_> = words.iter().map(|_| std::future::pending::<Result<usize, std::io::Error>>()).collect();
        let w = async_wait(futs).timeout(Duration::from_millis(10)).await?;
        Ok(w.done.len())
    }
    let err = slow(&["x".to_string()]).await.unwrap_err();
    assert_eq!(err.to_string(), "async_wait timed out after 10ms: 0 of 1 completed");
}

// Compile-time: the default errors are Send + Sync + 'static when the keys
// and the children's error are, whatever the children are.
#[allow(dead_code)]
fn errors_are_send_sync_static() {
    fn check<T: Send + Sync + 'static>() {}
    type Borrowing<'a> = std::future::Ready<Result<&'a str, std::io::Error>>;
    fn with_lifetime<'a>(_borrowed: &'a str) {
        check::<concurry::GatherError<concurry::shape::Indices, Borrowing<'a>, concurry::FailFast>>();
    }
    with_lifetime("x");
}

/// Drops flag the tasks that stopped running.
struct Flag(Arc<AtomicUsize>);
impl Drop for Flag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

async fn save(i: u32, flag: Flag) -> anyhow::Result<u32> {
    let _flag = flag;
    if i == 1 {
        anyhow::bail!("disk full at {i}");
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(i)
}

/// Issue 12, item 5: over `task::spawn`, the task's own `Err` fails the
/// call and the other tasks are aborted. Over plain `JoinHandle`s (the
/// trap, shown first) the same code reads the `Err` as a value and lets the
/// other tasks run on.
#[tokio::test(start_paused = true)]
async fn spawned_tasks_fail_on_their_own_err_and_cancel_the_rest() {
    let stopped = Arc::new(AtomicUsize::new(0));
    let plain: Vec<_> = (0..3).map(|i| tokio::spawn(save(i, Flag(stopped.clone())))).collect();
    let out = async_gather(plain).await.unwrap(); // no `Err`: it waited 60 s for all three
    assert!(out[1].is_err() && out[0].is_ok());

    let stopped = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3).map(|i| task::spawn(save(i, Flag(stopped.clone())))).collect();
    let started = tokio::time::Instant::now();
    let err = async_gather(tasks).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO, "fails at once");
    assert_eq!(err.to_string(), "child 1 failed: disk full at 1");
    tokio::task::yield_now().await;
    assert_eq!(stopped.load(Ordering::SeqCst), 3, "the other two tasks were aborted");
    // And `?` keeps working into anyhow.
    let as_anyhow: anyhow::Error = err.into();
    assert!(as_anyhow.to_string().contains("disk full"));
}
