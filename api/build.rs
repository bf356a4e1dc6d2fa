//! The binary embeds the built front end (`assets/`, see `src/pages.rs`): rebuild when it changes.
fn main() {
    println!("cargo:rerun-if-changed=assets");
}
