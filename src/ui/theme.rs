//! Colours, or none: with NO_COLOR set every distinction is made with bold, dim and reverse
//! video instead, so nothing depends on colour alone.

use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::sample::VmState;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Honours <https://no-color.org>: any non-empty NO_COLOR turns colour off.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color, fallback: Style) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            fallback
        }
    }

    pub fn plain(self) -> Style {
        Style::default()
    }
    pub fn dim(self) -> Style {
        self.fg(
            Color::DarkGray,
            Style::default().add_modifier(Modifier::DIM),
        )
    }
    pub fn good(self) -> Style {
        self.fg(Color::Green, Style::default())
    }
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow, Style::default().add_modifier(Modifier::BOLD))
    }
    pub fn bad(self) -> Style {
        self.fg(
            Color::Red,
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )
    }
    /// A host group's label: on its colour, or (no colour, or none set) in reverse video, so
    /// a production host looks unlike a lab one either way.
    pub fn group(self, color: Option<&str>) -> Style {
        let named = |c: &str| match c {
            "red" => Some(Color::Red),
            "green" => Some(Color::Green),
            "yellow" => Some(Color::Yellow),
            "blue" => Some(Color::Blue),
            "magenta" => Some(Color::Magenta),
            "cyan" => Some(Color::Cyan),
            "white" => Some(Color::White),
            "gray" => Some(Color::Gray),
            hex => {
                let v = u32::from_str_radix(hex.strip_prefix('#')?, 16).ok()?;
                Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8))
            }
        };
        match color.and_then(named).filter(|_| self.color) {
            Some(c) => Style::default().fg(Color::Black).bg(c),
            None => Style::default().add_modifier(Modifier::REVERSED),
        }
    }
    pub fn title(self) -> Style {
        self.fg(Color::Cyan, Style::default())
            .add_modifier(Modifier::BOLD)
    }
    pub fn header(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub fn selected(self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }
    pub fn border(self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::default().fg(Color::Cyan),
            (true, false) => Style::default().add_modifier(Modifier::BOLD),
            (false, _) => self.dim(),
        }
    }

    pub fn link(self, l: LinkState) -> Style {
        match l {
            LinkState::Up => self.good(),
            LinkState::Stale | LinkState::Connecting => self.warn(),
            LinkState::Down => self.bad(),
        }
    }

    pub fn vm_state(self, s: VmState) -> Style {
        match s {
            VmState::Running => self.good(),
            VmState::Paused => self.warn(),
            VmState::Crashed => self.bad(),
            VmState::Shutoff | VmState::Other => self.dim(),
        }
    }

    /// Green, yellow, red by load.
    pub fn load(self, pct: Option<f64>) -> Style {
        match pct {
            Some(p) if p >= 90.0 => self.bad(),
            Some(p) if p >= 70.0 => self.warn(),
            Some(_) => self.good(),
            None => self.dim(),
        }
    }
}
