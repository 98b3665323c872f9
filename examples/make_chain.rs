//! Writes the benchmark root chain: `cargo run --release --example make_chain -- N DIR [mixed]`
//! writes DIR/1.root.json … DIR/N.root.json (see benches/common/chain.rs for its shape; `mixed`:
//! P-256, Ed25519, P-384 and RSA-2048 keys in turn).

#[path = "../benches/common/chain.rs"]
mod chain;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(dir)) = (args.get(1).and_then(|n| n.parse::<u64>().ok()), args.get(2))
    else {
        eprintln!("usage: make_chain N DIR");
        return std::process::ExitCode::from(2);
    };
    let dir = std::path::Path::new(dir);
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return std::process::ExitCode::from(3);
    }
    let files = if args.get(3).map(String::as_str) == Some("mixed") {
        chain::chain_mixed(n)
    } else {
        chain::chain(n)
    };
    for (i, bytes) in files.into_iter().enumerate() {
        let p = dir.join(format!("{}.root.json", i + 1));
        if let Err(e) = std::fs::write(&p, bytes) {
            eprintln!("cannot write {}: {e}", p.display());
            return std::process::ExitCode::from(3);
        }
    }
    std::process::ExitCode::SUCCESS
}
