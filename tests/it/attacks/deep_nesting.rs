//! Deeply nested JSON must be refused, not overflow the stack (malformed metadata that panics
//! before signature checks: CVE-2026-23991).
use crate::support::*;

#[test]
fn refused() {
    let d = tempfile::tempdir().unwrap();
    for depth in [40usize, 100_000] {
        let hostile = format!(
            "{{\"signed\": {{\"x\": {}{}}}, \"signatures\": []}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let f = write(d.path(), "1.root.json", hostile.as_bytes());
        let r = verify(&[f], &[]);
        assert_eq!(r.code, 1, "{}", r.stdout);
        assert!(
            r.stdout.contains("nesting deeper than") || r.stdout.contains("recursion limit"),
            "{}",
            r.stdout
        );
    }
}
