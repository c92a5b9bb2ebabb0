//! Running code that may panic (third-party decoders) without letting the
//! panic take anything else down.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static ISOLATED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`; a panic inside becomes `None`. Panic hooks can tell such a
/// panic from a real one with [`is_isolated`].
pub fn isolate<R>(f: impl FnOnce() -> R) -> Option<R> {
    let was = ISOLATED.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    ISOLATED.with(|c| c.set(was));
    result.ok()
}

/// True inside [`isolate`] on the current thread.
pub fn is_isolated() -> bool {
    ISOLATED.with(Cell::get)
}

/// Keeps isolated panics out of stderr (the caller counts and logs them)
/// and passes every other panic to `next`.
pub fn install_quiet_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_isolated() {
            tracing::debug!(%info, "isolated panic");
        } else {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_none_and_the_flag_is_restored() {
        assert_eq!(isolate(|| 7), Some(7));
        assert_eq!(isolate(|| -> u8 { panic!("decoder bug") }), None);
        assert!(!is_isolated());
        assert_eq!(isolate(is_isolated), Some(true));
    }
}
