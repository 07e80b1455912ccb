//! `--progress`: one live line per download, so that a student sees the downloads interleave.
//!
//! On a terminal, each task gets a line that shows the bytes received so far and is redrawn as data
//! arrives. When the output is not a terminal (piped into a file or another program), nothing is
//! drawn and the client prints its usual lines instead.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The option itself, flattened into the clients that can draw their downloads as they go.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct ProgressOption {
    /// On a terminal, show one live line per download with the bytes received so far (nothing is
    /// drawn when stderr is not a terminal).
    #[arg(long)]
    pub progress: bool,
}

/// The live lines of one run, or nothing when progress is off or stderr is not a terminal.
pub struct TaskProgress {
    bars: Vec<ProgressBar>,
    /// Keeps the bars drawn together, one line each.
    group: Option<MultiProgress>,
}

impl TaskProgress {
    /// Progress lines for these tasks (their labels, in task order) when `option` asks for them
    /// and stderr is a terminal.
    pub fn new(option: &ProgressOption, labels: &[String]) -> TaskProgress {
        if !option.progress || !std::io::stderr().is_terminal() {
            return TaskProgress::off();
        }
        let group = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{prefix:<28} {spinner} {bytes:>10} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = labels
            .iter()
            .map(|label| {
                let bar = group.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(label.clone());
                bar
            })
            .collect();
        TaskProgress {
            bars,
            group: Some(group),
        }
    }

    /// No progress lines at all.
    pub fn off() -> TaskProgress {
        TaskProgress {
            bars: Vec::new(),
            group: None,
        }
    }

    /// Whether lines are being drawn (so the client leaves out its per-piece lines).
    pub fn is_drawing(&self) -> bool {
        !self.bars.is_empty()
    }

    /// Runs `print` (which writes lines to stdout or stderr) with the live lines taken off the
    /// screen first and drawn again after, so that neither spoils the other. Without live lines it
    /// just runs `print`.
    pub fn above<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.group {
            Some(group) => group.suspend(print),
            None => print(),
        }
    }

    /// Task `task` (1-based) has received `bytes` bytes so far.
    pub fn update(&self, task: usize, bytes: usize) {
        if let Some(bar) = task.checked_sub(1).and_then(|index| self.bars.get(index)) {
            bar.set_position(bytes as u64);
        }
    }

    /// Task `task` is over; `how` says how ("done", "failed").
    pub fn finish(&self, task: usize, how: &str) {
        if let Some(bar) = task.checked_sub(1).and_then(|index| self.bars.get(index)) {
            bar.finish_with_message(how.to_owned());
        }
    }
}

impl Drop for TaskProgress {
    /// Lines of tasks that never started (a connection that failed) are removed.
    fn drop(&mut self) {
        for bar in self.bars.iter().filter(|bar| !bar.is_finished()) {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_drawn_unless_asked_for_on_a_terminal() {
        let labels = vec!["Task 1".to_owned()];
        let (off, on) = (
            ProgressOption { progress: false },
            ProgressOption { progress: true },
        );
        assert!(!TaskProgress::new(&off, &labels).is_drawing());
        // The test harness's stderr is not a terminal.
        assert!(!TaskProgress::new(&on, &labels).is_drawing());
        let off = TaskProgress::off();
        off.update(1, 10);
        off.finish(1, "done");
        assert_eq!(off.above(|| 42), 42);
    }
}
