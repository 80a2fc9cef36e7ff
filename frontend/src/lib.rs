//! The WASM entry point: hydrates the interactive islands of the server-rendered pages.

// Links the app crate so its `#[island]` functions are exported to the island script.
extern crate app;

/// Called by the island script that the server puts in every page, before it hydrates the
/// page's islands one after another.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    app::browser::mark_hydrated_after_islands();
}
