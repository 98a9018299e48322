//! Processes for the adversarial tests: shell scripts as `task::spawn_process`
//! handles, the pids they report, and whether a pid is still alive.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use concurry::task;

/// A scratch folder of this test's own.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        std::env::temp_dir().join(format!("concurry-adv-{}-{name}-{}", std::process::id(), N.fetch_add(1, SeqCst)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `sh -c script` as a `spawn_process` handle.
pub fn sh(script: &str) -> task::Process {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    task::spawn_process(command)
}

/// A script that writes its pid to `pidfile` (atomically), then runs `rest`
/// (use `exec` to keep the pid).
pub fn sh_with_pid(pidfile: &Path, rest: &str) -> task::Process {
    let p = pidfile.display();
    sh(&format!("echo $$ > {p}.tmp && mv {p}.tmp {p}; {rest}"))
}

/// The pid the script wrote, waiting (10 s at most) for it.
pub fn read_pid(pidfile: &Path) -> u32 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(pidfile)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < until, "the script never wrote {}", pidfile.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `kill -0` succeeds on a zombie too: failing, the process is reaped.
pub fn alive(pid: u32) -> bool {
    Command::new("kill").args(["-0", &pid.to_string()]).stderr(Stdio::null()).status().unwrap().success()
}
