//! The ceremony screen (ratatui): model / message / update / view, and the runner that connects
//! them to the terminal and to the operations (the same ones the CLI calls).

pub mod model;
pub mod run;
pub mod view;
