//! Progress: bars rendered to indicatif's in-memory terminal, and the exact
//! callback calling rule.
#![cfg(feature = "progress")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{BoxFut, DropCounter, after};
use concurry::progress::Bar;
use concurry::{Progress, ReturnWhen, async_try_gather, async_wait, try_gather};
use futures::StreamExt;
use indicatif::{InMemoryTerm, ProgressBar, ProgressDrawTarget};

fn term() -> (InMemoryTerm, ProgressDrawTarget) {
    let term = InMemoryTerm::new(4, 100);
    let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
    (term, target)
}

type Calls = Arc<Mutex<Vec<(usize, usize)>>>;

fn recorder() -> (Calls, Progress) {
    let calls: Calls = Arc::default();
    let log = calls.clone();
    (calls, Progress::callback(move |done, total, _| log.lock().unwrap().push((done, total))))
}

#[tokio::test(start_paused = true)]
async fn default_bar_reads_gathering_with_count_rate_and_eta() {
    let (term, target) = term();
    let out = async_try_gather(vec![after(1, 1), after(2, 2), after(3, 3)])
        .progress(Bar::default().draw_target(target))
        .await
        .unwrap();
    assert_eq!(out, [1, 2, 3]);
    let screen = term.contents();
    assert!(screen.starts_with("Gathering: 100%|"), "{screen}");
    assert!(screen.contains("| 3/3 result ["), "{screen}");
    assert!(screen.contains("/s]"), "rate shown: {screen}");
}

#[tokio::test(start_paused = true)]
async fn wait_bar_reads_waiting() {
    let (term, target) = term();
    async_wait(vec![after(1, 1), after(2, 2)]).progress(Bar::default().draw_target(target)).await.unwrap();
    assert!(term.contents().starts_with("Waiting: 100%|"), "{}", term.contents());
}

#[tokio::test(start_paused = true)]
async fn configured_bar_shows_desc_and_unit() {
    let (term, target) = term();
    let bar = Bar::default().desc("Processing batches").unit("batch").colour("green").miniters(2).draw_target(target);
    async_try_gather(vec![after(1, 1), after(2, 2), after(3, 3), after(4, 4)]).progress(bar).await.unwrap();
    let screen = term.contents();
    assert!(screen.starts_with("Processing batches: 100%|"), "{screen}");
    assert!(screen.contains("4/4 batch"), "{screen}");
}

#[tokio::test(start_paused = true)]
async fn custom_template() {
    let (term, target) = term();
    let bar = Bar::default().template("{msg} {pos} of {len}").desc("jobs").draw_target(target);
    async_try_gather(vec![after(1, 1), after(2, 2)]).progress(bar).await.unwrap();
    assert_eq!(term.contents().trim(), "jobs 2 of 2");
}

#[tokio::test(start_paused = true)]
async fn timeout_leaves_the_bar_marked_timeout() {
    let (term, target) = term();
    let err = async_try_gather(vec![after(1, 1), after(10_000, 2)])
        .timeout(Duration::from_millis(50))
        .progress(Bar::default().draw_target(target))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    let screen = term.contents();
    assert!(screen.starts_with("Timeout:  50%|"), "{screen}");
    assert!(screen.contains("1/2 result"), "{screen}");
}

#[tokio::test(start_paused = true)]
async fn failure_leaves_the_bar_marked_failed() {
    let (term, target) = term();
    let err = async_try_gather(vec![after(1, Ok(1)), after(2, Err("no")), after(100, Ok(3))])
        .progress(Bar::default().draw_target(target))
        .await
        .unwrap_err();
    assert!(err.into_failed().is_some());
    let screen = term.contents();
    assert!(screen.starts_with("Failed:  67%|"), "{screen}");
    assert!(screen.contains("2/3 result"), "{screen}");
}

#[tokio::test(start_paused = true)]
async fn your_own_bar_gets_the_total_and_the_final_position() {
    let bar = ProgressBar::hidden();
    async_try_gather(vec![after(1, 1), after(2, 2), after(3, 3)]).progress(bar.clone()).await.unwrap();
    assert_eq!(bar.length(), Some(3));
    assert_eq!(bar.position(), 3);
    assert!(bar.is_finished());
}

#[tokio::test(start_paused = true)]
async fn miniters_limits_redraws() {
    let bar = ProgressBar::hidden();
    let children: Vec<_> = (0..25).map(|i| after(i + 1, i)).collect();
    let mut stream = async_try_gather(children).progress(Bar::default().with_bar(bar.clone()).miniters(10)).stream();
    let mut positions = Vec::new();
    while let Some(item) = stream.next().await {
        item.unwrap();
        positions.push(bar.position());
    }
    let mut want = vec![0; 9];
    want.extend([10; 10]);
    want.extend([20; 5]);
    want.push(25);
    assert_eq!(positions, want);
}

#[tokio::test(start_paused = true)]
async fn default_miniters_is_one_percent_of_the_total() {
    let bar = ProgressBar::hidden();
    let children: Vec<_> = (0..300).map(|i| after(i + 1, i)).collect();
    let mut stream = async_try_gather(children).progress(bar.clone()).stream();
    let mut positions = Vec::new();
    while let Some(item) = stream.next().await {
        item.unwrap();
        positions.push(bar.position());
    }
    assert_eq!(positions[2], 3);
    assert_eq!(positions[3], 3);
    assert_eq!(positions[5], 6);
}

/// The calling rule: once at the start with 0, once per poll that saw the
/// count change (two completions at 20 ms make one call); the end repeats
/// nothing.
#[tokio::test(start_paused = true)]
async fn callback_calls_follow_the_rule() {
    let (calls, progress) = recorder();
    async_try_gather(vec![after(10, 'a'), after(20, 'b'), after(20, 'c'), after(30, 'd')])
        .progress(progress)
        .await
        .unwrap();
    assert_eq!(*calls.lock().unwrap(), [(0, 4), (1, 4), (3, 4), (4, 4)]);
}

#[tokio::test(start_paused = true)]
async fn callback_on_timeout_and_on_wait() {
    let (calls, progress) = recorder();
    let _ = async_try_gather(vec![after(10, 1), after(10_000, 2)])
        .timeout(Duration::from_millis(50))
        .progress(progress)
        .await;
    assert_eq!(*calls.lock().unwrap(), [(0, 2), (1, 2)]);

    let (calls, progress) = recorder();
    async_wait(vec![after(10, 1), after(30, 2)])
        .return_when(ReturnWhen::FirstCompleted)
        .progress(progress)
        .await
        .unwrap();
    assert_eq!(*calls.lock().unwrap(), [(0, 2), (1, 2)]);
}

#[tokio::test(start_paused = true)]
async fn callback_in_iterator_mode_is_called_per_item() {
    let (calls, progress) = recorder();
    let items: Vec<_> =
        async_try_gather(vec![after(10, 1), after(10, 2), after(20, 3)]).progress(progress).stream().collect().await;
    assert_eq!(items.len(), 3);
    assert_eq!(*calls.lock().unwrap(), [(0, 3), (1, 3), (2, 3), (3, 3)]);
}

#[test]
fn callback_from_blocking_code() {
    let (calls, progress) = recorder();
    let out = try_gather(vec![after(1, 1), after(2, 2)]).progress(progress).run().unwrap();
    assert_eq!(out, [1, 2]);
    let calls = calls.lock().unwrap();
    assert_eq!(calls.first(), Some(&(0, 2)));
    assert_eq!(calls.last(), Some(&(2, 2)));
}

#[test]
fn off_by_default_and_with_false() {
    // Nothing to observe but that it runs: the default sink does no work.
    assert_eq!(try_gather(vec![after(1, 1)]).progress(false).run().unwrap(), [1]);
}

/// A panicking callback propagates out of the call like a panicking child;
/// the children are dropped and nothing is left broken for the next call.
#[test]
fn a_panicking_callback_propagates_cleanly() {
    let drops = DropCounter::default();
    let children: Vec<BoxFut<u8>> = (0..3)
        .map(|i| {
            let guard = drops.guard();
            Box::pin(async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_millis(5 * (i + 1))).await;
                i as u8
            }) as BoxFut<u8>
        })
        .collect();
    let progress = Progress::callback(|done, _, _| assert!(done < 2, "callback gave up at {done}"));
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| try_gather(children).progress(progress).run()));
    assert!(outcome.is_err());
    assert_eq!(drops.count(), 3);
    assert_eq!(try_gather(vec![after(1, 7)]).run().unwrap(), [7]);
}

/// Several gathers at once on one `MultiProgress`, as a service would show
/// them.
#[tokio::test(start_paused = true)]
async fn gathers_share_a_multi_progress() {
    let (term, target) = term();
    let multi = indicatif::MultiProgress::with_draw_target(target);
    let first = async_try_gather(vec![after(1, 1), after(3, 2)]).progress(Bar::default().desc("first").multi(&multi));
    let second = async_try_gather(vec![after(2, 1)]).progress(Bar::default().desc("second").multi(&multi));
    let (a, b) = tokio::join!(first.into_future(), second.into_future());
    assert_eq!((a.unwrap().len(), b.unwrap().len()), (2, 1));
    let screen = term.contents();
    assert!(screen.contains("first: 100%"), "{screen}");
    assert!(screen.contains("second: 100%"), "{screen}");
}

/// With stderr a pipe rather than a terminal, the default bar draws nothing,
/// and nothing at all goes to stdout. Runs itself as a child process so that
/// both streams are pipes.
#[test]
fn nothing_is_drawn_when_stderr_is_not_a_terminal() {
    const CHILD: &str = "CONCURRY_PROGRESS_TEST_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let out = try_gather(vec![after(5, 1), after(10, 2)]).progress(true).run().unwrap();
        assert_eq!(out, [1, 2]);
        return;
    }
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new(me)
        .args(["--exact", "nothing_is_drawn_when_stderr_is_not_a_terminal", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 passed"), "the child ran the test: {stdout}");
    assert!(!stderr.contains("Gathering") && !stderr.contains('█'), "drawn on stderr: {stderr}");
    assert!(!stdout.contains("Gathering") && !stdout.contains('█'), "written to stdout: {stdout}");
}

use std::future::IntoFuture;

// Defect 9: a wait that returned with 1 of 3 complete ended its bar as "100% 3/3".
#[tokio::test(start_paused = true)]
async fn an_early_return_does_not_show_100_percent() {
    let (screen_a, target) = term();
    let w = async_wait(vec![after(1, 1), after(50, 2), after(60, 3)])
        .return_when(ReturnWhen::FirstCompleted)
        .progress(Bar::default().draw_target(target))
        .await
        .unwrap();
    assert_eq!(w.done.len(), 1);
    let screen = screen_a.contents();
    assert!(screen.starts_with("Done:  33%|"), "{screen}");
    assert!(screen.contains("| 1/3 result ["), "{screen}");

    let (screen_b, target) = term();
    let w = async_wait(vec![after(1, Ok(1)), after(2, Err("no")), after(100, Ok(3))])
        .return_when(ReturnWhen::FirstException)
        .progress(Bar::default().draw_target(target))
        .await
        .unwrap();
    assert_eq!(w.done.len(), 2);
    let screen = screen_b.contents();
    assert!(screen.starts_with("Failed:  67%|"), "{screen}");
    assert!(screen.contains("| 2/3 result ["), "{screen}");
}

// Defect 9: your own bar was moved to its length when a wait returned early.
#[tokio::test(start_paused = true)]
async fn an_early_return_leaves_your_own_bar_at_the_true_count() {
    let bar = ProgressBar::hidden();
    async_wait(vec![after(1, 1), after(50, 2), after(60, 3)])
        .return_when(ReturnWhen::FirstCompleted)
        .progress(bar.clone())
        .await
        .unwrap();
    assert_eq!((bar.position(), bar.length()), (1, Some(3)));
    assert!(bar.is_finished());
}

// Defect 9: fail-fast gather in iterator mode, and a stream dropped after one
// item, ended their bars at the length rather than at the true count.
#[tokio::test(start_paused = true)]
async fn a_failed_or_dropped_stream_does_not_show_100_percent() {
    let (failed, target) = term();
    let mut stream = async_try_gather(vec![after(1, Ok(1)), after(2, Err("no")), after(100, Ok(3))])
        .progress(Bar::default().draw_target(target))
        .stream();
    assert!(stream.next().await.unwrap().is_ok());
    assert!(stream.next().await.unwrap().is_err());
    let screen = failed.contents();
    assert!(screen.starts_with("Failed:  67%|"), "{screen}");
    assert!(screen.contains("| 2/3 result ["), "{screen}");

    let (dropped, target) = term();
    let mut stream = async_try_gather(vec![after(1, 1), after(50, 2), after(60, 3)])
        .progress(Bar::default().draw_target(target))
        .stream();
    assert_eq!(stream.next().await.unwrap().unwrap(), (0, 1));
    drop(stream);
    let screen = dropped.contents();
    assert!(screen.starts_with("Cancelled:  33%|"), "{screen}");
    assert!(screen.contains("| 1/3 result ["), "{screen}");
}

// Defect 9: a callback got its final call twice, (2, 2) then (2, 2) again,
// when nothing changed after the last update.
#[tokio::test(start_paused = true)]
async fn the_final_callback_call_is_not_repeated() {
    let (calls, progress) = recorder();
    async_try_gather(vec![after(10, 'a'), after(20, 'b'), after(30, 'c'), after(40, 'd')])
        .progress(progress)
        .await
        .unwrap();
    assert_eq!(*calls.lock().unwrap(), [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]);

    let (calls, progress) = recorder();
    let _ = async_try_gather(vec![after(10, Ok(1)), after(20, Err("no")), after(30, Ok(3))]).progress(progress).await;
    assert_eq!(*calls.lock().unwrap(), [(0, 3), (1, 3), (2, 3)]);

    let (calls, progress) = recorder();
    let _ = async_try_gather(Vec::<common::BoxFut<u8>>::new()).progress(progress).await;
    assert_eq!(*calls.lock().unwrap(), [(0, 0)]);
}

/// The one line a bar left on `term`, split at its two `|`: what comes
/// before the bar, the bar, and what comes after.
fn bar_parts(term: &InMemoryTerm) -> (String, String, String) {
    let screen = term.contents();
    let mut parts = screen.splitn(3, '|').map(str::to_owned);
    let (before, bar, after) = (parts.next(), parts.next(), parts.next());
    match (before, bar, after) {
        (Some(before), Some(bar), Some(after)) => (before, bar, after),
        _ => panic!("not a bar: {screen:?}"),
    }
}

/// `9,816`, `12`, `2.5`: a whole number with thousands separators, or one
/// decimal below 10.
fn reads_as_a_rate(rate: &str) -> bool {
    let whole = |s: &str| {
        let groups: Vec<_> = s.split(',').collect();
        groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()))
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
    };
    match rate.split_once('.') {
        Some((int, frac)) => int.len() == 1 && whole(int) && frac.len() == 1 && whole(frac),
        None => rate == "?" || whole(rate),
    }
}

// Defect 11: `.colour("green")` built `{wide_bar.green}`, which indicatif
// reads as an unknown key: the line read `Processing batches: 100%|| 200/200
// batch [...]`, with no bar at all; and the rate read `9,815.9522/s`.
#[tokio::test(start_paused = true)]
async fn a_coloured_bar_draws_its_bar() {
    let term = InMemoryTerm::new(4, 120);
    let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
    let bar = Bar::default().desc("Processing batches").unit("batch").colour("green").draw_target(target);
    let out = async_try_gather((0..200).map(std::future::ready).collect::<Vec<_>>()).progress(bar).await.unwrap();
    assert_eq!(out.len(), 200);
    let screen = term.contents();
    assert_eq!(screen.chars().count(), 120, "the bar fills the line: {screen}");
    let (before, bar, after) = bar_parts(&term);
    assert_eq!(before, "Processing batches: 100%");
    assert!(bar.len() > 40 && bar.chars().all(|c| c == '█'), "{screen}");
    assert!(after.starts_with(" 200/200 batch ["), "{screen}");
    let rate = after.rsplit_once(", ").unwrap().1.strip_suffix(" batch/s]").expect("the unit in the rate");
    assert!(reads_as_a_rate(rate), "{screen}");
}

// Defect 11: a bad colour must not panic nor cost the bar anything but its
// colour; the line is the same as with no colour at all.
#[tokio::test(start_paused = true)]
async fn a_bad_colour_draws_an_uncoloured_bar() {
    for colour in ["chartreuse", "green}{", "green bold", "", "{wide_bar}"] {
        let (term, target) = term();
        let bar = Bar::default().colour(colour).draw_target(target);
        async_try_gather(vec![after(1, 1), after(2, 2)]).progress(bar).await.unwrap();
        let (before, bar, after) = bar_parts(&term);
        assert_eq!(before, "Gathering: 100%", "{colour:?}");
        assert!(!bar.is_empty() && bar.chars().all(|c| c == '█'), "{colour:?}: {}", term.contents());
        assert!(after.starts_with(" 2/2 result ["), "{colour:?}: {}", term.contents());
    }
}

/// With colours forced on (`CLICOLOR_FORCE=1`, read once per process, so the
/// test runs itself as a child process), the bar is drawn in its colour, and
/// an unknown colour draws it in the terminal's own.
#[test]
fn colour_is_drawn_in_that_colour() {
    const CHILD: &str = "CONCURRY_COLOUR_TEST_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let draw = |colour: &str| {
            let term = InMemoryTerm::new(2, 80);
            let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
            try_gather(vec![after(1, 1)]).progress(Bar::default().colour(colour).draw_target(target)).run().unwrap();
            (term.contents(), String::from_utf8_lossy(&term.contents_formatted()).into_owned())
        };
        let (plain, formatted) = draw("green");
        assert!(plain.starts_with("Gathering: 100%|███"), "{plain}");
        assert!(formatted.contains("\x1b[32m███"), "green: {formatted:?}");
        let (plain, formatted) = draw("chartreuse");
        assert!(plain.starts_with("Gathering: 100%|███"), "{plain}");
        assert!(!formatted.contains("\x1b[3"), "no colour: {formatted:?}");
        return;
    }
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new(me)
        .args(["--exact", "colour_is_drawn_in_that_colour", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 passed"), "the child ran the test: {stdout}");
}

#[tokio::test(start_paused = true)]
async fn desc_replaces_the_label() {
    let (term, target) = term();
    async_wait(vec![after(1, 1)]).progress(Bar::default().desc("Downloading").draw_target(target)).await.unwrap();
    assert_eq!(bar_parts(&term).0, "Downloading: 100%");
}

#[tokio::test(start_paused = true)]
async fn unit_names_the_count_and_the_rate() {
    let (term, target) = term();
    async_try_gather(vec![after(1, 1), after(2, 2)])
        .progress(Bar::default().unit("file").draw_target(target))
        .await
        .unwrap();
    let (_, _, after) = bar_parts(&term);
    assert!(after.starts_with(" 2/2 file [00:00:00<00:00:00, "), "{after}");
    let rate = after.rsplit_once(", ").unwrap().1.strip_suffix(" file/s]").expect("the unit in the rate");
    assert!(reads_as_a_rate(rate), "{after}");
}

/// `miniters(10)` over 25 children: the terminal shows 0/25 until the
/// tenth, 10/25 until the twentieth, 20/25 until the end.
#[tokio::test(start_paused = true)]
async fn miniters_limits_what_the_terminal_shows() {
    let (term, target) = term();
    let children: Vec<_> = (0..25).map(|i| after(i + 1, i)).collect();
    let mut stream = async_try_gather(children).progress(Bar::default().miniters(10).draw_target(target)).stream();
    let mut shown = Vec::new();
    while let Some(item) = stream.next().await {
        item.unwrap();
        let (_, _, after) = bar_parts(&term);
        shown.push(after.split_whitespace().next().unwrap().to_owned());
    }
    let mut want = vec!["0/25"; 9];
    want.extend(["10/25"; 10]);
    want.extend(["20/25"; 5]);
    want.push("25/25");
    assert_eq!(shown, want);
}

#[tokio::test(start_paused = true)]
async fn template_replaces_the_default_and_a_bad_one_falls_back() {
    let (jobs, target) = term();
    let bar =
        Bar::default().template("{msg} {pos} of {len} {unit}s, {wide_bar:.green}|").unit("job").draw_target(target);
    async_try_gather(vec![after(1, 1), after(2, 2)]).progress(bar).await.unwrap();
    let screen = jobs.contents();
    assert!(screen.starts_with("Gathering 2 of 2 jobs, ██████"), "{screen}");
    assert_eq!(screen.chars().count(), 100, "{screen}");

    let (fallback, target) = term();
    let bar = Bar::default().template("{pos:x}").draw_target(target);
    async_try_gather(vec![after(1, 1)]).progress(bar).await.unwrap();
    assert_eq!(bar_parts(&fallback).0, "Gathering: 100%");
}

#[tokio::test(start_paused = true)]
async fn with_bar_draws_your_bar_in_its_own_style() {
    let (term, target) = term();
    let style = indicatif::ProgressStyle::with_template("mine {pos}/{len}").unwrap();
    let mine = ProgressBar::with_draw_target(None, target).with_style(style);
    async_try_gather(vec![after(1, 1), after(2, 2), after(3, 3)])
        .progress(Bar::default().with_bar(mine))
        .await
        .unwrap();
    assert_eq!(term.contents(), "mine 3/3");
}

#[tokio::test(start_paused = true)]
async fn draw_target_is_where_the_bar_is_drawn() {
    let (term, target) = term();
    async_try_gather(vec![after(1, 1), after(2, 2)]).progress(Bar::default().draw_target(target)).await.unwrap();
    let (before, bar, after) = bar_parts(&term);
    assert_eq!(before, "Gathering: 100%");
    assert!(!bar.is_empty() && bar.chars().all(|c| c == '█'));
    assert!(after.starts_with(" 2/2 result [00:00:00<00:00:00, "), "{after}");
}
