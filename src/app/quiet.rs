//! A backend that writes nothing when a frame changed nothing. ratatui already sends only the
//! cells that differ, but each frame still ends with colour resets, a cursor hide and a flush:
//! 19 bytes and two writes for a picture that did not move, 160 times a second at fleet scale.
//! Over a slow ssh link and on a wall terminal left for weeks those empty frames are all cost.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub struct Quiet<B: Backend> {
    inner: B,
    /// The cursor as last sent: `None` until the first hide or show.
    visible: Option<bool>,
    at: Option<Position>,
    /// Something was sent since the last flush.
    pending: bool,
    /// Frames that sent something (the tests count them).
    pub frames: u64,
}

impl<B: Backend> Quiet<B> {
    pub fn new(inner: B) -> Quiet<B> {
        Quiet {
            inner,
            visible: None,
            at: None,
            pending: false,
            frames: 0,
        }
    }

    /// What the terminal shows is no longer known (it was handed to a shell and taken back).
    pub fn forget(&mut self) {
        self.visible = None;
        self.at = None;
    }
}

impl<B: Backend> Backend for Quiet<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.pending = true;
        // The inner backend moved the cursor to draw.
        self.at = None;
        self.inner.draw(content)
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.pending = true;
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        if self.visible == Some(false) {
            return Ok(());
        }
        self.visible = Some(false);
        self.pending = true;
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        if self.visible == Some(true) {
            return Ok(());
        }
        self.visible = Some(true);
        self.pending = true;
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        let p = position.into();
        if self.at == Some(p) {
            return Ok(());
        }
        self.at = Some(p);
        self.pending = true;
        self.inner.set_cursor_position(p)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.pending = true;
        self.at = None;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.pending = true;
        self.at = None;
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        if !self.pending {
            return Ok(());
        }
        self.pending = false;
        self.frames += 1;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::CrosstermBackend;
    use ratatui::widgets::Paragraph;

    /// What the terminal was sent, readable while the backend owns the writer.
    #[derive(Clone, Default)]
    struct Sent(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl std::io::Write for Sent {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    type Term = Terminal<Quiet<CrosstermBackend<Sent>>>;

    fn term() -> (Term, Sent) {
        let sent = Sent::default();
        let backend = CrosstermBackend::new(sent.clone());
        let mut t = Terminal::with_options(
            Quiet::new(backend),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 20, 2)),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        t.hide_cursor().unwrap_or_else(|e| panic!("{e}"));
        (t, sent)
    }

    #[test]
    fn a_frame_that_changed_nothing_writes_nothing() {
        let (mut t, sent) = term();
        let written = || sent.0.borrow().len();
        let draw = |t: &mut Term, s: &str| {
            t.draw(|f| f.render_widget(Paragraph::new(s.to_owned()), f.area()))
                .map(|_| ())
                .unwrap_or_else(|e| panic!("{e}"));
        };
        draw(&mut t, "web-01 12%");
        let first = written();
        assert!(first > 0, "the first frame is drawn");
        for _ in 0..10 {
            draw(&mut t, "web-01 12%");
        }
        assert_eq!(written(), first, "ten identical frames sent bytes");
        draw(&mut t, "web-01 13%");
        assert!(written() > first, "a changed cell is sent");
        assert_eq!(t.backend().frames, 2, "the first frame and the change");
    }

    #[test]
    fn the_cursor_is_sent_only_when_it_moves_or_shows() {
        let (mut t, sent) = term();
        let frame = |t: &mut Term, at: Option<(u16, u16)>| {
            t.draw(|f| {
                f.render_widget(Paragraph::new(":sort cpu"), f.area());
                if let Some(p) = at {
                    f.set_cursor_position(p);
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| panic!("{e}"));
            sent.0.borrow().len()
        };
        let a = frame(&mut t, Some((9, 0)));
        assert_eq!(frame(&mut t, Some((9, 0))), a, "same cursor, same place");
        let b = frame(&mut t, Some((10, 0)));
        assert!(b > a, "a moved cursor is sent");
        let c = frame(&mut t, None);
        assert!(c > b, "hiding the cursor is sent");
        assert_eq!(frame(&mut t, None), c);
    }
}
