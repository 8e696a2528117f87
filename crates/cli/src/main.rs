//! The `stampede` command-line tool.

fn main() {
    println!("stampede {}", env!("CARGO_PKG_VERSION"));
}
