//! The service path: `?` on every call converts into `anyhow::Error` or
//! `Box<dyn Error + Send + Sync>`, whatever the children borrow, as
//! `futures::future::try_join_all(..).await?` does (issue 12, item 1).

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concurry::{async_gather, async_try_gather, async_wait, task};

/// Children that borrow the caller's data.
async fn lengths(words: &[String]) -> anyhow::Result<Vec<usize>> {
    let futs: Vec<_> = words.iter().map(|w| async move { Ok::<usize, std::io::Error>(w.len()) }).collect();
    Ok(async_try_gather(futs).timeout(Duration::from_secs(5)).await?)
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
        let both = async_try_gather(vec![
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
    Ok(async_try_gather(futs).timeout(Duration::from_secs(1)).await?)
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
    assert_eq!(err.to_string(), "timed out after 10ms: 0 of 1 completed; still pending: 0");
}

// Compile-time: the error is one concrete type, Send + Sync + 'static.
#[allow(dead_code)]
fn errors_are_send_sync_static() {
    fn check<T: Send + Sync + 'static>() {}
    check::<concurry::Error>();
}

/// Issue 22, item 1: a crawl keyed by `&str` borrowed from a local `Vec`,
/// `?` into anyhow: it failed with E0597 (`urls` borrowed for `'static`)
/// while the error carried the keys. One concrete error: it compiles, and a
/// handler's one `downcast_ref::<concurry::Error>()` works for a map and a
/// tuple alike.
#[tokio::test]
async fn question_mark_into_anyhow_with_borrowed_keys_and_one_downcast_for_every_shape() {
    async fn fetch(url: &str) -> Result<usize, std::io::Error> {
        if url.ends_with("down") { Err(std::io::Error::other("connection refused")) } else { Ok(url.len()) }
    }
    async fn crawl(urls: &[String]) -> anyhow::Result<usize> {
        let pages: std::collections::HashMap<&str, _> = urls.iter().map(|u| (u.as_str(), fetch(u))).collect();
        let sizes = async_try_gather(pages).timeout(Duration::from_secs(5)).await?;
        Ok(sizes.values().sum())
    }
    let urls = vec!["a.example".to_string(), "b.example/down".to_string()];
    let err = crawl(&urls).await.unwrap_err();
    assert_eq!(format!("{err:#}"), "b.example/down failed: connection refused");
    let status = |err: &anyhow::Error| match err.downcast_ref::<concurry::Error>() {
        Some(e) if e.is_timeout() => 504,
        Some(e) if e.failed_key().is_some() => 502,
        _ => 500,
    };
    assert_eq!(status(&err), 502);
    let tuple: anyhow::Result<_> = async {
        Ok(async_try_gather((std::future::pending::<Result<u8, std::io::Error>>(),)).timeout(Duration::ZERO).await?)
    }
    .await;
    assert_eq!(status(&tuple.unwrap_err()), 504);
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
    assert!(out[1].as_ref().unwrap().is_err() && out[0].is_ok());

    let stopped = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3).map(|i| task::spawn(save(i, Flag(stopped.clone())))).collect();
    let started = tokio::time::Instant::now();
    let err = async_try_gather(tasks).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO, "fails at once");
    assert_eq!(err.to_string(), "child 1 failed");
    tokio::task::yield_now().await;
    assert_eq!(stopped.load(Ordering::SeqCst), 3, "the other two tasks were aborted");
    // And `?` keeps working into anyhow, with the task's error as the cause.
    let as_anyhow: anyhow::Error = err.into();
    assert_eq!(format!("{as_anyhow:#}"), "child 1 failed: disk full at 1");
}

// ---- Issue 22, item 3: tasks and threads with any error type. ----

/// The user's own error, with no `From<JoinError>`: it used to take five
/// compile errors and a hand-written impl to spawn.
#[derive(Debug, thiserror::Error)]
#[error("replica {0} is draining")]
struct Draining(u64);

async fn replica(ms: u64) -> Result<u64, Draining> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    if ms == 7 {
        return Err(Draining(ms));
    }
    Ok(ms)
}

#[tokio::test(start_paused = true)]
async fn a_hedged_request_over_the_users_own_error_type() {
    // Ours: 3 lines.
    let w = async_wait([task::spawn(replica(10)), task::spawn(replica(5_000))]).first_completed().await.unwrap();
    let (index, fastest) = w.done.into_iter().next().unwrap();
    assert_eq!((index, fastest.unwrap()), (0, 10));

    // The plain version: a JoinSet, its abort on drop, and two layers of
    // errors to take apart by hand: 7 lines.
    let mut set = tokio::task::JoinSet::new();
    set.spawn(replica(10));
    set.spawn(replica(5_000));
    let fastest = match set.join_next().await.unwrap() {
        Ok(answer) => answer.unwrap(),
        Err(join) => panic!("{join}"),
    };
    assert_eq!(fastest, 10);

    // The task's own error is the failure, typed; a panic says so.
    let err = async_try_gather([task::spawn(replica(7)), task::spawn(replica(5_000))]).await.unwrap_err();
    assert_eq!(err.child_error::<Draining>().unwrap().0, 7);
    let as_anyhow = anyhow::Error::from(err);
    assert!(as_anyhow.chain().any(|e| e.downcast_ref::<Draining>().is_some()));
    assert_eq!(format!("{as_anyhow:#}"), "child 0 failed: replica 7 is draining");
    let panicked = task::spawn(async {
        panic!("replica lost");
        #[allow(unreachable_code)]
        Ok::<u8, Draining>(0)
    })
    .await
    .unwrap_err();
    assert!(panicked.is_panic() && panicked.to_string().contains("replica lost"), "{panicked}");
    // Outputs that never fail spawn too.
    assert_eq!(async_try_gather([task::spawn(async { 1u8 })]).await.unwrap(), [1]);
}

#[test]
fn a_threads_own_err_is_a_failure_as_a_tasks_is() {
    let parse = |s: &'static str| task::spawn_thread(move || s.parse::<u32>());
    let err = concurry::try_gather([parse("7"), parse("x")]).run().unwrap_err();
    assert_eq!(err.to_string(), "child 1 failed");
    assert!(err.child_error::<std::num::ParseIntError>().is_some());
    let w = concurry::wait([parse("x"), parse("1")]).return_when(concurry::ReturnWhen::FirstException).run().unwrap();
    assert!(w.done.iter().any(|(i, r)| *i == 0 && r.is_err()));
    let panicked = concurry::try_gather([task::spawn_thread(|| -> Result<u8, String> { panic!("thread lost") })])
        .run()
        .unwrap_err();
    let task = panicked.child_error::<task::TaskError>().unwrap();
    assert!(task.is_panic(), "{task}");
    assert_eq!(task.to_string(), "thread panicked: thread lost");
}

/// A thread from `task::spawn_thread` wakes the call when it ends: under a
/// polling schedule of an hour, each entry point still returns as the
/// threads end (a thread checked on the schedule would meet the timeout).
#[test]
fn a_spawned_thread_wakes_the_call_in_every_entry_point() {
    use futures::StreamExt;
    let threads = || -> Vec<_> {
        (0..3u64)
            .map(|i| {
                task::spawn_thread(move || {
                    std::thread::sleep(Duration::from_millis(20 + 10 * i));
                    Ok::<u64, std::io::Error>(i)
                })
            })
            .collect()
    };
    let hour = Duration::from_secs(3_600);
    let deadline = Duration::from_secs(20);
    let out = concurry::try_gather(threads()).polling(hour).timeout(deadline).run().unwrap();
    assert_eq!(out, [0, 1, 2], ".run()");
    let mut out: Vec<u64> =
        concurry::try_gather(threads()).polling(hour).timeout(deadline).iter().map(|r| r.unwrap().1).collect();
    out.sort_unstable();
    assert_eq!(out, [0, 1, 2], ".iter()");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let out = async_try_gather(threads()).polling(hour).timeout(deadline).await.unwrap();
        assert_eq!(out, [0, 1, 2], ".await");
        let mut out: Vec<u64> =
            async_try_gather(threads()).polling(hour).timeout(deadline).stream().map(|r| r.unwrap().1).collect().await;
        out.sort_unstable();
        assert_eq!(out, [0, 1, 2], ".stream()");
    });
}

/// A process from `task::spawn_process` wakes the call when it exits
/// (`SIGCHLD`): under a polling schedule of an hour, each entry point
/// returns as the processes end (one checked on the schedule would meet
/// the timeout), a failure among them included.
#[cfg(unix)]
#[test]
fn a_spawned_process_wakes_the_call_in_every_entry_point() {
    use futures::StreamExt;
    use std::process::Command;
    let processes = || -> Vec<_> {
        ["sleep 0.02", "sleep 0.04; exit 0", "exit 0"]
            .into_iter()
            .map(|script| {
                let mut command = Command::new("sh");
                command.args(["-c", script]);
                task::spawn_process(command)
            })
            .collect()
    };
    let hour = Duration::from_secs(3_600);
    let deadline = Duration::from_secs(20);
    let out = concurry::try_gather(processes()).polling(hour).timeout(deadline).run().unwrap();
    assert!(out.iter().all(std::process::ExitStatus::success), ".run()");
    let out: Vec<_> = concurry::try_gather(processes()).polling(hour).timeout(deadline).iter().collect();
    assert!(out.iter().all(|r| r.as_ref().unwrap().1.success()), ".iter()");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let out = async_try_gather(processes()).polling(hour).timeout(deadline).await.unwrap();
        assert!(out.iter().all(std::process::ExitStatus::success), ".await");
        let out: Vec<_> = async_try_gather(processes()).polling(hour).timeout(deadline).stream().collect().await;
        assert!(out.iter().all(|r| r.as_ref().unwrap().1.success()), ".stream()");
        let mut failing = Command::new("sh");
        failing.args(["-c", "sleep 0.02; exit 5"]);
        let mut sleeper = Command::new("sleep");
        sleeper.arg("30");
        let started = std::time::Instant::now();
        let call = async_try_gather([task::spawn_process(failing), task::spawn_process(sleeper)]);
        let err = call.polling(hour).timeout(deadline).await.unwrap_err();
        assert_eq!(err.child_error::<task::ExitFailure>().unwrap().status().code(), Some(5));
        assert!(started.elapsed() < Duration::from_secs(10), "failed fast, by the exit's wake");
    });
}

// ---- Issue 12, item 2: the child's error survives conversion. ----

#[derive(Debug, thiserror::Error)]
#[error("orders service down")]
struct OrdersDown;

async fn user_ok() -> Result<String, std::io::Error> {
    Ok("ada".into())
}
async fn orders_down() -> Result<Vec<u32>, OrdersDown> {
    Err(OrdersDown)
}
async fn prices_ok() -> Result<f64, anyhow::Error> {
    Ok(9.5)
}

/// What a handler does: map the error type to a status.
fn status(err: &anyhow::Error) -> u16 {
    if err.root_cause().downcast_ref::<OrdersDown>().is_some() { 503 } else { 500 }
}

#[tokio::test]
async fn the_childs_error_is_the_source_and_survives_anyhow() {
    async fn handler() -> anyhow::Result<(String, Vec<u32>, f64)> {
        Ok(async_try_gather((user_ok(), orders_down(), prices_ok())).await?)
    }
    let err = handler().await.unwrap_err();
    assert_eq!(err.chain().count(), 2);
    assert_eq!(status(&err), 503);
    assert_eq!(err.to_string(), "child 1 failed");
    assert_eq!(format!("{err:#}"), "child 1 failed: orders service down");
    // The same line with no anyhow: `{:#}` of the error itself, at any depth.
    let err = async_try_gather((user_ok(), orders_down(), prices_ok())).names(["user", "orders", "prices"]).await;
    assert_eq!(format!("{:#}", err.unwrap_err()), "orders failed: orders service down");
    let nested = async_try_gather((async_try_gather((user_ok(), orders_down())), prices_ok()));
    assert_eq!(
        format!("{:#}", nested.names(["front", "prices"]).await.unwrap_err()),
        "front/1 failed: orders service down"
    );

    // A child whose error is an `anyhow::Error` made from a typed error,
    // with or without context: the typed error is found (the `anyhow`
    // feature boxes it as itself).
    #[cfg(feature = "anyhow")]
    {
        let futs = vec![async { Err::<u8, _>(anyhow::Error::from(OrdersDown).context("loading orders")) }];
        let err = anyhow::Error::from(async_try_gather(futs).await.unwrap_err());
        assert_eq!(format!("{err:#}"), "child 0 failed: loading orders: orders service down");
        assert_eq!(status(&err), 503);
        let futs = vec![async { Err::<u8, _>(anyhow::Error::from(OrdersDown)) }];
        let err = async_try_gather(futs).await.unwrap_err();
        assert!(err.child_error::<OrdersDown>().is_some());
        assert_eq!(status(&anyhow::Error::from(err)), 503);
    }

    // A spawned task's typed error, through anyhow: found too (any error
    // type: the tasks need not share one, nor convert from `JoinError`).
    let tasks =
        vec![task::spawn(async { Ok::<u8, anyhow::Error>(1) }), task::spawn(async { Err::<u8, _>(OrdersDown) })];
    let err = anyhow::Error::from(async_try_gather(tasks).await.unwrap_err());
    assert_eq!(status(&err), 503);

    // The plain version loses the key, and needs one error type for all three.
    let plain = tokio::try_join!(
        async { user_ok().await.map_err(anyhow::Error::from) },
        async { orders_down().await.map_err(anyhow::Error::from) },
        prices_ok(),
    )
    .unwrap_err();
    assert_eq!(status(&plain), 503);
}

// ---- Issue 12, item 3: tuples at least as good as join! / try_join!. ----

#[tokio::test]
async fn a_tuple_with_three_error_types_gives_each_result_in_its_slot() {
    let (user, orders, prices) = async_gather((user_ok(), orders_down(), prices_ok())).await.unwrap();
    let (u, o, p) = tokio::join!(user_ok(), orders_down(), prices_ok());
    assert_eq!(user.unwrap(), u.unwrap());
    assert!(orders.is_err() && o.is_err());
    assert_eq!(prices.unwrap(), p.unwrap());
}

#[tokio::test]
async fn fail_fast_over_a_tuple_with_mixed_error_types() {
    async fn fine() -> Result<u8, std::fmt::Error> {
        Ok(1)
    }
    let (user, n, price) = async_try_gather((user_ok(), fine(), prices_ok())).await.unwrap();
    assert_eq!((user.as_str(), n, price), ("ada", 1, 9.5));
    let err = async_try_gather((user_ok(), orders_down(), prices_ok())).await.unwrap_err();
    assert!(err.child_error::<OrdersDown>().is_some());
    assert_eq!(err.into_failed().unwrap().0, 1);
}

#[tokio::test(start_paused = true)]
async fn a_tuple_timeout_gives_the_partial_outputs_as_options() {
    async fn slow_prices() -> Result<f64, anyhow::Error> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(1.0)
    }
    let (err, had) = async_gather((user_ok(), orders_down(), slow_prices()))
        .timeout(Duration::from_millis(50))
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    let ((user, orders, prices), pending) = {
        assert!(err.is_timeout(), "{err}");
        had
    }
    .into_slots();
    assert_eq!(user.unwrap().unwrap(), "ada");
    assert!(orders.unwrap().is_err());
    assert!(prices.is_none());
    assert_eq!(pending.keys().collect::<Vec<_>>(), [2]);
    assert_eq!(pending.names().collect::<Vec<_>>(), ["2"]);

    // Named, the set names what is still pending as the message does.
    let (err, had) = async_gather((user_ok(), orders_down(), slow_prices()))
        .names(["user", "orders", "prices"])
        .timeout(Duration::from_millis(50))
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    assert!(err.to_string().ends_with("still pending: prices"), "{err}");
    assert_eq!(had.pending.names().collect::<Vec<_>>(), ["prices"]);
}

// ---- Issue 12, item 4: any output type, as join_all takes it. ----

/// A generic type of the caller's crate, like an API page.
#[derive(Debug, PartialEq)]
struct Page<T> {
    items: Vec<T>,
}

async fn page<T: Clone>(item: T) -> Page<T> {
    Page { items: vec![item.clone(), item] }
}

#[tokio::test]
async fn any_output_type_gathers_with_no_ceremony() {
    // A generic type.
    let pages = async_gather(vec![page(1u8), page(2)]).await.unwrap();
    assert_eq!(pages[1], Page { items: vec![2, 2] });
    // A foreign type the crate knows nothing about.
    let instants = async_gather([async { tokio::time::Instant::now() }]).await.unwrap();
    assert_eq!(instants.len(), 1);
    // A borrowed `&str`.
    let text = String::from("borrowed words");
    let words: Vec<_> = text.split(' ').map(|w| async move { w }).collect();
    assert_eq!(async_gather(words).await.unwrap(), ["borrowed", "words"]);
    // A 12-tuple output, and twelve children of different types.
    let twelve = async { (1u8, 2u16, 3u32, 4u64, 5i8, 6i16, 7i32, 8i64, 'c', "s", 1.0f32, 2.0f64) };
    assert_eq!(async_gather([twelve]).await.unwrap()[0].8, 'c');
    let (a, b, .., l) = async_gather((
        async { page(1u8).await },
        async { 2u16 },
        async { 3u32 },
        async { 4u64 },
        async { 5i8 },
        async { 6i16 },
        async { 7i32 },
        async { 8i64 },
        async { 'c' },
        async { "s" },
        async { 1.0f32 },
        async { tokio::time::Instant::now() },
    ))
    .await
    .unwrap();
    assert_eq!((a.items.len(), b), (2, 2));
    let _: tokio::time::Instant = l;
    // The plain version, for comparison: the same call.
    let plain = futures::future::join_all(vec![page(1u8), page(2)]).await;
    assert_eq!(plain, pages);
}

#[tokio::test]
async fn wait_takes_any_output_type_and_first_completed_too() {
    let pages = vec![
        Box::pin(page(1u8)) as std::pin::Pin<Box<dyn Future<Output = Page<u8>> + Send>>,
        Box::pin(std::future::pending()),
    ];
    let w = async_wait(pages).first_completed().await.unwrap();
    assert_eq!((w.done.len(), w.pending.len()), (1, 1));
}

// ---- Issue 22, item 2: messages name children as the user does. ----

#[tokio::test(start_paused = true)]
async fn failures_and_timeouts_name_children_the_way_the_user_does() {
    #[derive(Debug, thiserror::Error)]
    #[error("orders-svc answered 503 (replica 2 draining)")]
    struct Unavailable;
    async fn user() -> Result<&'static str, Unavailable> {
        Ok("ada")
    }
    async fn orders() -> Result<u32, Unavailable> {
        Err(Unavailable)
    }
    async fn prices() -> Result<f64, Unavailable> {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(9.5)
    }
    // A tuple, named in one place.
    let err = async_try_gather((user(), orders(), prices())).names(["user", "orders", "prices"]).await.unwrap_err();
    assert_eq!(
        format!("{:#}", anyhow::Error::from(err)),
        "orders failed: orders-svc answered 503 (replica 2 draining)"
    );
    // A map names its children by key, without quotes.
    let calls = std::collections::HashMap::from([("orders", orders())]);
    assert_eq!(async_try_gather(calls).await.unwrap_err().to_string(), "orders failed");
    // A timeout says what is still pending, in durations people write.
    let slow = |ms| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<u64, Unavailable>(ms)
    };
    let err = async_try_gather((slow(1), slow(1), slow(1_000)))
        .names(["user", "orders", "prices"])
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "timed out after 200ms: 2 of 3 completed; still pending: prices");
    // Many pending: the first few, and a count.
    let many: Vec<_> = (0..12).map(|i| slow(5_000 + i)).collect();
    let err = async_try_gather(many).timeout(Duration::from_millis(1_200)).await.unwrap_err();
    assert_eq!(err.to_string(), "timed out after 1.2s: 0 of 12 completed; still pending: 0, 1, 2, 3, 4 and 7 more");
    // A wrong count of names is a clear error, before anything runs.
    let err = async_try_gather((user(), orders())).names(["user"]).await.unwrap_err();
    assert!(matches!(&err, concurry::Error::Config(c) if c.name() == "names"), "{err}");
    assert_eq!(
        err.to_string(),
        r#"invalid names = ["user"] (1 name): the call has 2 children: give one name per child, in input order"#
    );
}

/// Issue 22, item 3: a process's status other than success is its failure,
/// as a task's own `Err` is; the others are killed when the call drops them.
#[test]
fn a_process_that_exits_non_zero_fails_a_fail_fast_call() {
    use std::process::Command;
    let sh = |script: &str| {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        task::spawn_process(command)
    };
    let started = std::time::Instant::now();
    let err = concurry::try_gather([sh("exit 4"), sh("sleep 30")]).run().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "failed fast, the sleeper killed");
    assert_eq!(err.to_string(), "child 0 failed");
    let failure = err.child_error::<task::ExitFailure>().unwrap();
    assert_eq!(failure.status().code(), Some(4));
    assert_eq!(failure.to_string(), "sh -c 'exit 4' exited with exit status: 4");
    let ok = concurry::try_gather([sh("exit 0"), sh("true")]).run().unwrap();
    assert!(ok.iter().all(std::process::ExitStatus::success));
    let not_found = concurry::try_gather([task::spawn_process(Command::new("/no/such/program"))]).run().unwrap_err();
    let io = not_found.child_error::<std::io::Error>().unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    // The chain names the command, then gives the system's reason.
    let chain = format!("{:#}", anyhow::Error::from(not_found));
    assert!(chain.starts_with("child 0 failed: could not start /no/such/program: "), "{chain}");
}

/// Issue 22, item 5: threads and processes in one call, with no box and no
/// enum of the user's: a tuple of one gather each, fail-fast through both.
#[test]
fn threads_and_processes_in_one_call() {
    use std::process::Command;
    let threads: Vec<_> = (1..=3u64).map(|i| task::spawn_thread(move || Ok::<u64, std::io::Error>(i * i))).collect();
    let processes: Vec<_> = ["true", "true"].into_iter().map(|p| task::spawn_process(Command::new(p))).collect();
    let (squares, statuses) = concurry::try_gather((async_try_gather(threads), async_try_gather(processes)))
        .timeout(Duration::from_secs(10))
        .run()
        .unwrap();
    assert_eq!(squares, [1, 4, 9]);
    assert!(statuses.iter().all(std::process::ExitStatus::success));
    // A failing process fails the whole call, named.
    let threads = vec![task::spawn_thread(|| Ok::<u64, std::io::Error>(1))];
    let processes = vec![task::spawn_process(Command::new("false"))];
    let err = concurry::try_gather((async_try_gather(threads), async_try_gather(processes)))
        .names(["threads", "processes"])
        .run()
        .unwrap_err();
    assert_eq!(format!("{:#}", anyhow::Error::from(err)), "processes/0 failed: false exited with exit status: 1");
    // The path names the child that failed; its own error is the source.
    let err =
        concurry::try_gather((async_try_gather(vec![task::spawn_process(Command::new("false"))]),)).run().unwrap_err();
    assert_eq!(err.to_string(), "child 0/0 failed");
    assert_eq!(err.failed_key().map(concurry::Key::index), Some(0));
    assert_eq!(err.child_error::<task::ExitFailure>().unwrap().status().code(), Some(1));
}

/// A spawned task's (or thread's) `anyhow::Error` lost its typed root: the
/// task boxed it with anyhow's own conversion, which hides the type. It is
/// now boxed as plain futures' errors are.
#[tokio::test]
async fn a_spawned_tasks_anyhow_error_keeps_its_typed_root() {
    #[derive(Debug, thiserror::Error)]
    #[error("orders down")]
    struct Down;
    let err = async_try_gather([task::spawn(async { Err::<u8, _>(anyhow::Error::new(Down)) })]).await.unwrap_err();
    // With the `anyhow` feature the typed root is found; without it, anyhow's
    // own conversion hides it, for tasks as for plain futures.
    assert_eq!(err.child_error::<Down>().is_some(), cfg!(feature = "anyhow"), "{err:?}");
    assert_eq!(format!("{:#}", anyhow::Error::from(err)), "child 0 failed: orders down");
    let err = async_try_gather([task::spawn_thread(|| Err::<u8, _>(anyhow::Error::new(Down)))]).await.unwrap_err();
    assert_eq!(err.child_error::<Down>().is_some(), cfg!(feature = "anyhow"), "{err:?}");
    let awaited = task::spawn(async { Err::<u8, _>(anyhow::Error::new(Down)) }).await.unwrap_err();
    assert_eq!(awaited.downcast_ref::<Down>().is_some(), cfg!(feature = "anyhow"), "{awaited:?}");
}
