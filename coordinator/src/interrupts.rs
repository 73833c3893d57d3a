//! Ctrl-C and SIGTERM as the commands see them: `main` turns signals into these tokens.

use tokio_util::sync::CancellationToken;

/// Signals from outside: the first asks to drain, the second to stop at once.
#[derive(Clone, Default)]
pub struct Interrupts {
    pub drain: CancellationToken,
    pub abort: CancellationToken,
}
