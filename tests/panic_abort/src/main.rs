//! Blocking calls where Tokio would panic, in a process where a panic aborts.

use std::time::Duration;

use concurry::{Error, try_gather, wait};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        assert_eq!(try_gather(vec![async { 1 }]).run().unwrap(), [1]);
        assert_eq!(wait(vec![async { 2 }]).run().unwrap().done, [(0, 2)]);
        let nested = async { try_gather(vec![async { 8 }]).run().unwrap()[0] };
        assert_eq!(try_gather(vec![nested]).run().unwrap(), [8]);
        let local_task = tokio::task::spawn_local(async { 3 });
        let r = try_gather(vec![local_task]).timeout(Duration::from_millis(20)).run();
        assert!(r.is_err_and(|e| e.is_timeout()));
        let refused = tokio::task::spawn_local(async { try_gather(vec![async { 4 }]).run() }).await.unwrap();
        assert!(matches!(refused, Err(Error::Blocking(_))));
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let refused = tokio::task::LocalSet::new().block_on(&rt, async { try_gather(vec![async { 5 }]).run() });
    assert!(matches!(refused, Err(Error::Blocking(_))));
    rt.block_on(async {
        assert!(matches!(try_gather(vec![async { 6 }]).run(), Err(Error::Blocking(_))));
    });
    println!("all refused or returned");
}
