//! Known attacks on TUF / Notary verifiers, one file each. Each builds the hostile file(s), runs
//! `rootcellar verify` on them, and asserts a refusal with a clear reason and no panic.

mod deep_nesting;
mod duplicate_json_keys;
mod ecdsa_high_s_twin;
mod expired_final_root;
mod floats;
mod huge_integers;
mod keyid_not_matching_key;
mod method_confusion;
mod non_ascii_keyid;
mod one_key_two_keyids;
mod one_signature_below_threshold;
mod payload_changed_after_signing;
mod raw_rs_ecdsa_signature;
mod role_keyid_missing_from_keys;
mod role_names_as_paths;
mod rotation_signed_by_revoked_key;
mod rotation_without_old_threshold;
mod same_signature_twice;
mod signature_over_pretty_json;
mod threshold_zero;
mod version_skip_repeat_rollback;
