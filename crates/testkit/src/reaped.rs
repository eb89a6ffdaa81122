//! A child process no test leaves behind: a test that panics before it stops its recorder
//! would otherwise leave it running (and writing) after the test binary is gone.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A running child, stopped when dropped: SIGTERM, and SIGKILL if it is still there after 5 s.
pub struct Reaped(Option<Child>);

impl Reaped {
    pub fn new(c: Child) -> Reaped {
        Reaped(Some(c))
    }

    /// The child, no longer stopped on drop: the test stops it itself.
    pub fn take(mut self) -> Child {
        self.0.take().expect("a child")
    }
}

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("a child")
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("a child")
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let Some(mut c) = self.0.take() else { return };
        if matches!(c.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if matches!(c.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_stopped_when_the_test_holding_it_panics() {
        let pid = std::sync::Mutex::new(0);
        let unwound = std::panic::catch_unwind(|| {
            let r = Reaped::new(Command::new("sleep").arg("60").spawn().unwrap());
            *pid.lock().unwrap() = r.id();
            panic!("the test fails while its child runs");
        });
        assert!(unwound.is_err());
        let pid = *pid.lock().unwrap();
        assert!(pid > 0);
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "sleep {pid} is still there"
        );
    }
}
