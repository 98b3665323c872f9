//! Known attacks, one file each. On verifiers (TUF / Notary): each builds the hostile file(s),
//! runs `rootcellar verify` on them, and asserts a refusal with a clear reason and no panic. On
//! the ceremony (issue 18: what a keyholder sees is what a keyholder signs): each re-tries one
//! attack on a workspace, a request, a stick or an input, and asserts the refusal.

mod deep_nesting;
mod duplicate_json_keys;
mod ecdsa_high_s_twin;
mod escape_sequences_in_output;
mod expired_final_root;
mod floats;
mod forged_previous_in_bundle;
mod hostile_inputs;
mod huge_integers;
mod key_record_swapped;
mod keyid_not_matching_key;
mod keyid_swapped_under_same_id;
mod method_confusion;
mod non_ascii_keyid;
mod one_key_two_keyids;
mod one_signature_below_threshold;
mod payload_changed_after_signing;
mod published_file_edited;
mod raw_rs_ecdsa_signature;
mod role_keyid_missing_from_keys;
mod role_names_as_paths;
mod root_json_replaced;
mod rotation_signed_by_revoked_key;
mod rotation_without_old_threshold;
mod same_signature_twice;
mod screen_signs_unseen_request;
mod signature_over_pretty_json;
mod smaller_items;
mod staged_root_rewritten;
mod symlinks_on_stick;
mod threshold_zero;
mod transcript_cut_or_removed;
mod umask_000;
mod version_skip_repeat_rollback;

use crate::cli::Ws;
use std::path::{Path, PathBuf};

/// Version 2 staged (a refresh) and exported as a request bundle, in a folder of its own.
pub(crate) fn bundle_of_next_version(w: &Ws) -> (tempfile::TempDir, PathBuf) {
    if !w.path().join("staged/root.json").exists() {
        w.ok(&["refresh", "--expires", "200d"]);
    }
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("request.json");
    w.ok(&["request", "export", "--out", f.to_str().unwrap()]);
    (d, f)
}

pub(crate) fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

pub(crate) fn put_json_file(p: &Path, v: &serde_json::Value) {
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}
