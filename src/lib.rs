//! fleetwatch, the program: the app loop, the terminal UI and the CLI, over
//! [`fleetwatch_core`] (model, findings, history, actions; no libvirt, no terminal) and
//! [`fleetwatch_libvirt`] (collectors and the actor).
//!
//! - [`app`]: the loop. Collector messages go to the fleet model, the findings and the recorder;
//!   terminal events go to [`ui::state`]'s transitions, whose effects (plan an action, ask the
//!   history, poll now) the app carries out; a frame is drawn only when something changed.
//!   Also the one-shot commands: `snapshot`, `check`, `record`, `history`, `at`.
//! - [`ui`]: `ui::state` holds the UI's state and every transition; the drawing modules are
//!   functions of `&UiState` and the fleet; `ui::bindings` is the one table of keys.
//! - [`report`]: the JSON and text shapes of `snapshot`; [`demo`]: the `--demo` fleet files.

pub mod app;
pub mod demo;
pub mod report;
pub mod ui;
