//! What the `ssh://` and `https://` push transports share. libgit2 creates a transport inside
//! `Remote::push`, on the calling thread, and hands its factory nothing but the remote: the
//! push's settings wait in a thread-local of the transport's module for as long as the push
//! runs, and both schemes are registered with libgit2 together, once per process.

use git2::transport::Transport;
use std::cell::RefCell;
use std::sync::OnceLock;
use std::thread::LocalKey;

/// A transport module's thread-local: the state of the push this thread is making.
pub(super) type Slot<S> = LocalKey<RefCell<Option<S>>>;

/// Runs `push` with `state` in `slot` for the transport's factory; the slot is emptied
/// afterwards, also when `push` panics, so no later push on this thread finds stale settings.
pub(super) fn with_state<S: 'static, T>(
    slot: &'static Slot<S>,
    state: S,
    push: impl FnOnce() -> T,
) -> T {
    struct Empty<S: 'static>(&'static Slot<S>);
    impl<S> Drop for Empty<S> {
        fn drop(&mut self) {
            self.0.with(|s| *s.borrow_mut() = None);
        }
    }
    slot.with(|s| *s.borrow_mut() = Some(state));
    let _empty = Empty(slot);
    push()
}

/// Registers fanout's `ssh://` and `https://` transports with libgit2, both at once and once
/// per process (the outcome is remembered): git2 requires registration not to race with the
/// creation of any transport, so neither may still be registering while a push runs.
pub(super) fn register_all() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register("ssh", &super::push::PUSHING, super::push::transport)?;
            register("https", &super::https::PUSHING, super::https::transport)
        })
        .clone()
}

/// Registers `scheme`: its transports are made by `make` from the state of the push in
/// progress on the thread, and refused outside one.
fn register<S: Clone + 'static>(
    scheme: &'static str,
    slot: &'static Slot<S>,
    make: fn(&git2::Remote, S) -> Result<Transport, git2::Error>,
) -> Result<(), String> {
    // SAFETY: git2 requires registration not to race with transports being created;
    // `register_all` runs once, before any push of this process.
    unsafe {
        git2::transport::register(scheme, move |remote| {
            let Some(state) = slot.with(|s| s.borrow().clone()) else {
                return Err(git2::Error::from_str(&format!(
                    "{scheme}:// remotes are reached only by `fanout backup --push`"
                )));
            };
            make(remote, state)
        })
    }
    .map_err(|e| format!("cannot register the {scheme} transport: {e}"))
}
