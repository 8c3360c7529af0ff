//! `embed_migrations!` reads the migration folders at compile time: a folder added there must
//! rebuild the crate, which cargo does not know of without being told.

fn main() {
    println!("cargo:rerun-if-changed=../../../migrations");
}
