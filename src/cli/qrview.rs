//! Showing QR frames on the terminal: one frame at a time, keys to go forward and back, or
//! animated. Always black on white.

use crate::error::{Error, Result};
use crate::ops::transfer::QrReport;
use crate::transfer::render;
use crossterm::event::{self, Event, KeyCode, KeyEventKind};
use std::io::{IsTerminal, Write};
use std::time::Duration;

struct Raw;

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::terminal::LeaveAlternateScreen,
            crossterm::cursor::Show
        );
    }
}

fn draw(r: &QrReport, i: usize, hint: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    crossterm::queue!(
        out,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
        crossterm::cursor::MoveTo(0, 0)
    )?;
    for line in render::to_terminal(&r.codes[i]) {
        write!(out, "{line}\r\n")?;
    }
    write!(
        out,
        "frame {}/{}  sha256 {}…  {hint}\r\n",
        i + 1,
        r.frames,
        &r.sha256[..16]
    )?;
    out.flush()
}

/// Shows the frames; returns when the operator quits (or, without a terminal, after printing all).
pub fn show(r: &QrReport, animate: Option<u64>, small: bool) -> Result<()> {
    let io = |e: std::io::Error| Error::environment(format!("terminal: {e}"));
    if !std::io::stdout().is_terminal() {
        // Into a pipe: a reader that stops early (`| head`) ends the output, not the program.
        let mut out = std::io::stdout().lock();
        for (i, c) in r.codes.iter().enumerate() {
            let mut text = render::to_terminal(c).join("\n");
            text.push_str(&format!(
                "\nframe {}/{}  sha256 {}\n",
                i + 1,
                r.frames,
                r.sha256
            ));
            match out.write_all(text.as_bytes()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                other => other.map_err(io)?,
            }
        }
        return out.flush().or_else(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Ok(()),
            _ => Err(io(e)),
        });
    }
    let enlarge = if small {
        "  (enlarge the terminal for fewer frames)"
    } else {
        ""
    };
    crossterm::terminal::enable_raw_mode().map_err(io)?;
    let _raw = Raw;
    // The dist build aborts on panic, so Drop would not run: restore the terminal in the panic
    // hook too (as ratatui's init does for the ceremony screen).
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        drop(Raw);
        previous(info);
    }));
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        crossterm::cursor::Hide
    )
    .map_err(io)?;
    let mut i = 0;
    loop {
        let hint = match animate {
            Some(_) => format!("animated; q to quit{enlarge}"),
            None => format!("space/→ next, b/← back, q quit{enlarge}"),
        };
        draw(r, i, &hint).map_err(io)?;
        let key = match animate {
            Some(ms) => {
                if event::poll(Duration::from_millis(ms)).map_err(io)? {
                    Some(event::read().map_err(io)?)
                } else {
                    i = (i + 1) % r.frames;
                    None
                }
            }
            None => Some(event::read().map_err(io)?),
        };
        if let Some(Event::Key(k)) = key
            && k.kind == KeyEventKind::Press
        {
            match k.code {
                KeyCode::Char('q') | KeyCode::Esc => break,
                KeyCode::Char(' ') | KeyCode::Right | KeyCode::Enter | KeyCode::Char('n') => {
                    i = (i + 1) % r.frames
                }
                KeyCode::Left | KeyCode::Char('b') | KeyCode::Char('p') => {
                    i = (i + r.frames - 1) % r.frames
                }
                KeyCode::Char('c') if k.modifiers.contains(event::KeyModifiers::CONTROL) => break,
                _ => {}
            }
        }
    }
    Ok(())
}
