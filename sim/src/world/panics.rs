//! A panic inside the store is a finding about one seed, not the end of a sweep: the
//! simulator calls the node through [`catch`], which turns a panic into its message
//! (with the file and line it came from) and keeps it off stderr, since the failure
//! report will say it.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs code under [`catch`]: the hook records instead of printing.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Runs `f`; a panic comes back as `Err("MESSAGE (at FILE:LINE:COL)")`. Panics
/// elsewhere, and on other threads, still reach the previous hook.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let text = payload_text(info.payload());
                let message = match info.location() {
                    Some(at) => format!("{text} (at {}:{}:{})", at.file(), at.line(), at.column()),
                    None => text,
                };
                MESSAGE.with(|m| *m.borrow_mut() = Some(message));
            } else {
                previous(info);
            }
        }));
    });
    let was_catching = CATCHING.with(|c| c.replace(true));
    // The world stops stepping the node once it has panicked, so no broken state is seen.
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was_catching));
    result.map_err(|payload| {
        MESSAGE.with(|m| m.borrow_mut().take()).unwrap_or_else(|| payload_text(&*payload))
    })
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic whose payload is not text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_with_its_place() {
        // Both the message and where it happened reach the report.
        let caught = catch(|| -> u32 { panic!("boom {}", 7) }).unwrap_err();
        assert!(caught.contains("boom 7"), "{caught}");
        assert!(caught.contains("panics.rs"), "{caught}");
        assert_eq!(catch(|| 5), Ok(5));
    }
}
