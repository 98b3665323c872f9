#![forbid(unsafe_code)]

fn main() {
    std::process::exit(rootcellar::cli::main());
}
