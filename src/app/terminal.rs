//! The terminal is put back on every way out: normal exit, error, signal and panic.

use super::quiet::Quiet;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use std::io::{BufWriter, Stdout, stdout};
use std::thread::ThreadId;

/// Frames are written whole in one write (not in 1 KiB pieces through stdout's line buffer), and
/// not at all when they changed nothing.
pub type Term = Terminal<Quiet<CrosstermBackend<BufWriter<Stdout>>>>;

/// Larger than any frame of a large terminal, so a frame is one write.
const FRAME_BUFFER: usize = 1 << 18;

/// Owns the full-screen terminal; restores it when dropped.
pub struct Guard {
    pub term: Term,
}

pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
}

/// Whether a panic on thread `panicking` puts the terminal back: only one on the UI thread
/// (`ui`, the one that entered the full screen) ends the UI. A panic elsewhere, such as one a
/// collector thread catches and shows as its host's error, leaves the screen alone; its
/// message goes to standard error, which is the log while the UI runs.
fn panic_restores_terminal(panicking: ThreadId, ui: ThreadId) -> bool {
    panicking == ui
}

pub fn enter() -> std::io::Result<Guard> {
    let ui = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if panic_restores_terminal(std::thread::current().id(), ui) {
            restore();
            super::stderr::restore();
        }
        previous(info);
    }));
    enable_raw_mode()?;
    if let Err(e) = execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        cursor::Hide
    ) {
        restore();
        return Err(e);
    }
    let backend = CrosstermBackend::new(BufWriter::with_capacity(FRAME_BUFFER, stdout()));
    match Terminal::new(Quiet::new(backend)) {
        Ok(term) => Ok(Guard { term }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

impl Guard {
    /// Job control (Ctrl-Z, or SIGTSTP from outside): gives the terminal back to the shell in
    /// the state it was found in, stops, and on `fg` takes it again and redraws everything.
    pub fn suspend(&mut self) -> std::io::Result<()> {
        restore();
        let me = rustix::process::getpid();
        let _ = rustix::process::kill_process(me, rustix::process::Signal::STOP);
        // Running again: the shell sent SIGCONT.
        enable_raw_mode()?;
        execute!(
            stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            cursor::Hide,
            Clear(ClearType::All)
        )?;
        // Terminal::clear asks the terminal for the cursor position, and the input thread would
        // read the answer; a blank frame makes ratatui's idea of the screen match the cleared
        // one instead, so the next frame is drawn whole.
        self.term.backend_mut().forget();
        self.term
            .draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))?;
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_panic_on_the_ui_thread_restores_the_terminal() {
        let ui = std::thread::current().id();
        assert!(panic_restores_terminal(ui, ui));
        let collector = std::thread::spawn(|| std::thread::current().id())
            .join()
            .unwrap_or_else(|_| unreachable!());
        assert!(!panic_restores_terminal(collector, ui));
    }
}
