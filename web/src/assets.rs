//! The UI's files, embedded at compile time from `web/assets/`, with their
//! content types and the security headers to serve them with.
//!
//! The list is explicit (no build script walking the folder) so that what
//! ships is reviewed; a test fails when a file in `web/assets/` is missing
//! from it, and when a page carries inline script or style, which the
//! Content-Security-Policy below would block anyway.
//!
//! Pages share one head: `layout.html` holds the document's start (meta,
//! icon, style sheets, the theme set before the first paint), the skip
//! link and its end; a page file holds only
//! its own `<title>` and module script, a `<!-- body -->` line, then its
//! body. [`get`] serves each page rendered into the layout (once, at first
//! use), so a change to the head is made in one place for every page.

use std::sync::OnceLock;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its path under the UI's root, e.g. `js/app.js`.
    pub path: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

macro_rules! assets {
    ($($path:literal => $ty:literal),* $(,)?) => {
        /// Every file of the UI.
        pub static ASSETS: &[Asset] = &[$(Asset {
            path: $path,
            bytes: include_bytes!(concat!("../assets/", $path)),
            content_type: $ty,
        }),*];
    };
}

assets! {
    "layout.html" => "text/html; charset=utf-8",
    "index.html" => "text/html; charset=utf-8",
    "login.html" => "text/html; charset=utf-8",
    "home.html" => "text/html; charset=utf-8",
    "scenarios.html" => "text/html; charset=utf-8",
    "scenario.html" => "text/html; charset=utf-8",
    "compare.html" => "text/html; charset=utf-8",
    "workers.html" => "text/html; charset=utf-8",
    "admin.html" => "text/html; charset=utf-8",
    "alerts.html" => "text/html; charset=utf-8",
    "schedules.html" => "text/html; charset=utf-8",
    "pipelines.html" => "text/html; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "css/app.css" => "text/css; charset=utf-8",
    "css/pages.css" => "text/css; charset=utf-8",
    "js/admin.js" => "text/javascript; charset=utf-8",
    "js/alerts.js" => "text/javascript; charset=utf-8",
    "js/api.js" => "text/javascript; charset=utf-8",
    "js/app.js" => "text/javascript; charset=utf-8",
    "js/charts.js" => "text/javascript; charset=utf-8",
    "js/compare.js" => "text/javascript; charset=utf-8",
    "js/editor.js" => "text/javascript; charset=utf-8",
    "js/format.js" => "text/javascript; charset=utf-8",
    "js/home.js" => "text/javascript; charset=utf-8",
    "js/live.js" => "text/javascript; charset=utf-8",
    "js/login.js" => "text/javascript; charset=utf-8",
    "js/nav.js" => "text/javascript; charset=utf-8",
    "js/run-server.js" => "text/javascript; charset=utf-8",
    "js/scenario.js" => "text/javascript; charset=utf-8",
    "js/scenario-form.js" => "text/javascript; charset=utf-8",
    "js/scenarios.js" => "text/javascript; charset=utf-8",
    "js/schedules.js" => "text/javascript; charset=utf-8",
    "js/tables.js" => "text/javascript; charset=utf-8",
    "js/templates.js" => "text/javascript; charset=utf-8",
    "js/theme.js" => "text/javascript; charset=utf-8",
    "js/theme-boot.js" => "text/javascript; charset=utf-8",
    "js/workers.js" => "text/javascript; charset=utf-8",
    "js/pipelines.js" => "text/javascript; charset=utf-8",
    "vendor/uplot/uPlot.esm.js" => "text/javascript; charset=utf-8",
    "vendor/uplot/uPlot.min.css" => "text/css; charset=utf-8",
    "vendor/uplot/LICENSE" => "text/plain; charset=utf-8",
}

/// The headers every UI response carries: a strict Content-Security-Policy
/// (only this origin; no inline script or style; no framing), no MIME
/// sniffing, no referrer.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

/// The file at `path` (no leading slash; empty means `index.html`); a page
/// comes rendered into the shared layout.
pub fn get(path: &str) -> Option<&'static Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    let asset = ASSETS.iter().find(|a| a.path == path)?;
    if is_page(asset) {
        pages().iter().find(|a| a.path == path)
    } else {
        Some(asset)
    }
}

/// The shared start and end of every page, with its two slots.
const LAYOUT: &str = include_str!("../assets/layout.html");
const HEAD_SLOT: &str = "<!-- head -->\n";
const BODY_SLOT: &str = "<!-- body -->\n";

fn is_page(a: &Asset) -> bool {
    a.path.ends_with(".html") && a.path != "layout.html"
}

/// A page file in the layout: what comes before its `<!-- body -->` line
/// goes into the head, the rest into the body. A file without that line
/// is all body (a test makes sure every page has it).
pub fn render(page: &str) -> String {
    let (head, body) = page.split_once(BODY_SLOT).unwrap_or(("", page));
    LAYOUT
        .replacen(HEAD_SLOT, head, 1)
        .replacen(BODY_SLOT, body, 1)
}

/// Every page rendered, once per process (they live as long as it does,
/// like the embedded files they come from).
fn pages() -> &'static [Asset] {
    static PAGES: OnceLock<Vec<Asset>> = OnceLock::new();
    PAGES.get_or_init(|| {
        ASSETS
            .iter()
            .filter(|a| is_page(a))
            .map(|a| {
                let text = render(std::str::from_utf8(a.bytes).unwrap_or_default());
                Asset {
                    path: a.path,
                    bytes: Box::leak(text.into_bytes().into_boxed_slice()),
                    content_type: a.content_type,
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("read assets") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_in_the_assets_folder_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut files = Vec::new();
        walk(&root, &root, &mut files);
        for f in files {
            assert!(
                get(&f).is_some(),
                "web/assets/{f} is not listed in assets.rs"
            );
        }
    }

    #[test]
    fn pages_have_no_inline_script_or_style() {
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".html")) {
            let text = std::str::from_utf8(a.bytes).expect("utf-8");
            let lower = text.to_ascii_lowercase();
            assert!(!lower.contains("<style"), "{}: <style>", a.path);
            assert!(!lower.contains(" style="), "{}: style attribute", a.path);
            for (i, _) in lower.match_indices(" on") {
                let rest = &lower[i + 3..];
                let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
                assert!(
                    !(name_len > 0 && rest[name_len..].starts_with('=')),
                    "{}: inline event handler",
                    a.path
                );
            }
            for tag in lower.split("<script").skip(1) {
                let head = &tag[..tag.find('>').expect("closed tag")];
                assert!(head.contains("src="), "{}: inline <script>", a.path);
            }
        }
    }

    #[test]
    fn the_vendored_chart_library_is_pinned_and_licensed() {
        let js = std::str::from_utf8(get("vendor/uplot/uPlot.esm.js").expect("uPlot").bytes)
            .expect("utf-8");
        assert!(js.contains("(v1.6.32)"));
        let license = std::str::from_utf8(get("vendor/uplot/LICENSE").expect("license").bytes)
            .expect("utf-8");
        assert!(license.contains("MIT License"));
    }

    #[test]
    fn every_page_is_served_in_the_one_shared_head() {
        assert_eq!(LAYOUT.matches(HEAD_SLOT).count(), 1);
        assert_eq!(LAYOUT.matches(BODY_SLOT).count(), 1);
        let pages: Vec<_> = ASSETS.iter().filter(|a| is_page(a)).collect();
        assert!(pages.len() >= 11, "{}", pages.len());
        for raw in pages {
            let file = std::str::from_utf8(raw.bytes).expect("utf-8");
            // The head is the layout's alone: a page file holds none of it.
            for shared in [
                "<!doctype",
                "<html",
                "<head>",
                "</head>",
                "<meta",
                "<link",
                "<body",
                "</body>",
            ] {
                assert!(
                    !file.to_ascii_lowercase().contains(shared),
                    "{}: {shared} belongs to layout.html",
                    raw.path
                );
            }
            let (head, _) = file
                .split_once(BODY_SLOT)
                .unwrap_or_else(|| panic!("{}: no <!-- body --> line", raw.path));
            assert!(head.starts_with("<title>"), "{}: {head}", raw.path);
            assert!(
                head.contains("<script type=\"module\" src=\"/ui/js/"),
                "{}",
                raw.path
            );

            let page = std::str::from_utf8(get(raw.path).expect("served").bytes).expect("utf-8");
            assert!(page.starts_with(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
            ));
            assert!(page.ends_with("</body>\n</html>\n"), "{}", raw.path);
            assert!(!page.contains("<!-- head -->") && !page.contains("<!-- body -->"));
            let title = page.find("<title>").expect("title");
            assert!(
                title < page.find("</head>").expect("head end"),
                "{}",
                raw.path
            );
            assert!(
                page.find("<body>").expect("body") < page.find("<main id=\"main\"").expect("main")
            );
            assert_eq!(page.matches("<head>").count(), 1, "{}", raw.path);
            assert_eq!(page.matches("<title>").count(), 1, "{}", raw.path);
        }
        // The same bytes each time: rendered once.
        assert!(std::ptr::eq(
            get("home.html").unwrap(),
            get("home.html").unwrap()
        ));
    }

    #[test]
    fn a_file_without_the_body_line_is_all_body() {
        let page = render("<main id=\"main\">x</main>\n");
        assert!(page.contains("<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<main id=\"main\">x</main>\n</body>"));
        assert!(page.contains("<script src=\"/ui/js/theme-boot.js\"></script>\n</head>"));
    }

    #[test]
    fn empty_path_is_the_index_and_unknown_paths_are_none() {
        assert_eq!(get("").map(|a| a.path), Some("index.html"));
        assert!(get("../Cargo.toml").is_none());
        assert!(get("js/missing.js").is_none());
    }
}
