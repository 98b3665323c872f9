//! Property tests of the pure core.

use crate::support::*;
use proptest::prelude::*;
use rootcellar::tuf::canonical::to_canonical;
use rootcellar::tuf::edit::{Edit, apply, check_thresholds};
use rootcellar::tuf::json::parse_strict;
use rootcellar::tuf::verify::check_threshold;
use rootcellar::tuf::{Metadata, Root};
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "(?s).{0,12}".prop_map(Value::String),
        "[\"\\\\\n\r\t a-zé€😀]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_é\"\\\\]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Canonical bytes do not depend on how the JSON was laid out, and reading back what was
    /// written gives the same value.
    #[test]
    fn canonical_bytes_are_stable(v in json_value()) {
        let compact = serde_json::to_vec(&v).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        let a = parse_strict(&compact).unwrap();
        let b = parse_strict(&pretty).unwrap();
        prop_assert_eq!(&a, &v);
        prop_assert_eq!(to_canonical(&a).unwrap(), to_canonical(&b).unwrap());
        prop_assert_eq!(to_canonical(&v).unwrap(), to_canonical(&a).unwrap());
    }

    /// parse ∘ serialize is the identity on what was parsed, unknown fields included.
    #[test]
    fn metadata_round_trips(extra in prop::collection::btree_map("x-[a-z]{1,6}", json_value(), 0..3),
                            key_extra in prop::option::of(json_value()),
                            version in 1u64..u64::MAX, threshold in 1u64..3) {
        let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
        let mut r = root(version, &[&a, &b], threshold, FUTURE);
        r.extra = extra.into_iter().collect();
        if let Some(x) = key_extra {
            let id = a.keyid();
            let mut k = r.keys.remove(&id).unwrap();
            k.extra.insert("x-owner".into(), x);
            let new_id = k.keyid();
            r.keys.insert(new_id.clone(), k);
            for i in r.roles.get_mut("root").unwrap().keyids.iter_mut() {
                if *i == id { *i = new_id.clone(); }
            }
        }
        let md = signed(r, &[&b]);
        let back = Metadata::<Root>::from_bytes(&md.to_file_bytes()).unwrap();
        prop_assert_eq!(back.canonical_signed(), md.canonical_signed());
        prop_assert_eq!(&back, &md);
        prop_assert_eq!(back.to_file_bytes(), md.to_file_bytes());
    }

    /// Adding signatures from keys that already signed — the same entry again, a fresh signature,
    /// or (for ECDSA) the high-S twin — never raises the count.
    #[test]
    fn same_key_never_counts_twice(signers in prop::collection::vec(0usize..4, 0..4),
                                   dups in prop::collection::vec((0usize..4, 0u8..3), 0..8)) {
        let keys = [TestKey::ecdsa(1), TestKey::ed25519(2), TestKey::ecdsa(3), TestKey::ed25519(4)];
        let refs: Vec<&TestKey> = keys.iter().collect();
        let md = signed(root(1, &refs, 4, FUTURE), &[]);
        let mut sigs: Vec<_> = signers.iter().map(|&i| keys[i].sign(&md)).collect();
        let role = md.signed.roles["root"].clone();
        let base = check_threshold("t", md.canonical_signed(), &sigs, &md.signed.keys, &role).count();
        let distinct: std::collections::BTreeSet<_> = signers.iter().collect();
        prop_assert_eq!(base, distinct.len());
        for (i, how) in dups {
            if !signers.contains(&i) { continue; }
            let mut s = keys[i].sign(&md);
            match how {
                0 => s = sigs.iter().find(|x| x.keyid == keys[i].keyid()).unwrap().clone(),
                1 => {}
                _ => if let Sk::P256(_) = keys[i].sk {
                    let sig = p256::ecdsa::Signature::from_der(&hex::decode(&s.sig).unwrap()).unwrap();
                    let (r, ss) = sig.split_scalars();
                    let twin = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*ss).to_bytes()).unwrap();
                    s.sig = hex::encode(twin.to_der().as_bytes());
                },
            }
            sigs.push(s);
            let c = check_threshold("t", md.canonical_signed(), &sigs, &md.signed.keys, &role).count();
            prop_assert_eq!(c, base);
        }
    }

    /// No sequence of edits that is accepted leaves a role below its threshold; a refused one
    /// leaves the root as it was.
    #[test]
    fn edits_never_leave_a_role_below_threshold(ops in prop::collection::vec((0u8..3, 0usize..4, 0usize..6, 0u64..5), 1..6)) {
        let keys = [TestKey::ecdsa(1), TestKey::ed25519(2), TestKey::ecdsa(3), TestKey::ed25519(4), TestKey::ecdsa(5), TestKey::ed25519(200)];
        let roles = ["root", "targets", "snapshot", "timestamp"];
        let mut r = root(1, &[&keys[0], &keys[1], &keys[2]], 2, FUTURE);
        let edits: Vec<Edit> = ops.iter().map(|&(op, role, k, n)| match op {
            0 => Edit::AddKey(roles[role].into(), keys[k].key()),
            1 => Edit::RemoveKey(roles[role].into(), keys[k].keyid()),
            _ => Edit::Threshold(roles[role].into(), n),
        }).collect();
        let before = r.clone();
        match apply(&mut r, &edits) {
            Ok(()) => {
                prop_assert!(check_thresholds(&r).is_ok());
                for role in r.roles.values() {
                    prop_assert!(role.threshold >= 1);
                    prop_assert!(role.keyids.len() as u64 >= role.threshold);
                    for id in &role.keyids { prop_assert!(r.keys.contains_key(id)); }
                }
                // Every key in `keys` is used by some role.
                for id in r.keys.keys() {
                    prop_assert!(r.roles.values().any(|x| x.keyids.contains(id)));
                }
            }
            Err(_) => prop_assert_eq!(r, before),
        }
    }
}

/// A root over a pool of four keys, as `(role subsets as bit masks, thresholds)`, each key
/// listed under key IDs of `names` (a second one: the same key twice). Key IDs are names here.
type Spec = ([u8; 4], [u64; 4], u8);

fn root_of(spec: &Spec, names: &[(String, Option<String>)]) -> rootcellar::dialect::Doc {
    let pool: Vec<TestKey> = (0..4).map(|i| TestKey::ed25519(150 + i)).collect();
    let ids = |k: usize| -> Vec<String> {
        let (a, b) = &names[k];
        let mut v = vec![format!("{k}{a}")];
        if let Some(b) = b {
            v.push(format!("{k}{b}x"));
        }
        v
    };
    let (masks, thresholds, extra) = spec;
    let mut r = root(1, &[], 1, FUTURE);
    r.keys.clear();
    r.roles.clear();
    for (i, role) in ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .enumerate()
    {
        let mut listed = Vec::new();
        for (k, key) in pool.iter().enumerate() {
            if masks[i] & (1 << k) != 0 {
                for id in ids(k) {
                    r.keys.insert(id.clone(), key.key());
                    listed.push(id);
                }
            }
        }
        r.roles.insert(
            role.to_string(),
            rootcellar::tuf::RoleKeys::new(listed, thresholds[i]),
        );
    }
    // Keys listed in no role count too.
    for (k, key) in pool.iter().enumerate() {
        if extra & (1 << k) != 0 {
            for id in ids(k) {
                r.keys.insert(id, key.key());
            }
        }
    }
    rootcellar::dialect::Doc::Tuf(Metadata::new(r).unwrap())
}

/// What the review must compare: the public keys listed, and each role's keys and threshold.
fn material(spec: &Spec) -> (u8, [u8; 4], [u64; 4]) {
    let (masks, thresholds, extra) = spec;
    (masks.iter().fold(*extra, |a, m| a | m), *masks, *thresholds)
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::array::uniform4(0u8..16),
        prop::array::uniform4(1u64..4),
        0u8..16,
    )
}

fn names() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    prop::collection::vec(("[a-f0-9]{1,8}", prop::option::of("[a-f0-9]{1,8}")), 4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The review's list of changes is empty if and only if both roots list the same public
    /// keys with the same thresholds, whatever key IDs they go by.
    #[test]
    fn the_review_sees_key_material_not_key_ids(
        a in spec(),
        other in spec(),
        same in any::<bool>(),
        na in names(),
        nb in names(),
    ) {
        let b = if same { a } else { other };
        let (ra, rb) = (root_of(&a, &na), root_of(&b, &nb));
        let d = rootcellar::ops::review::diff(&rootcellar::dialect::Holders::none(), Some(&ra), &rb);
        let no_change = d.keys_added.is_empty() && d.keys_removed.is_empty() && d.roles.is_empty();
        prop_assert_eq!(no_change, material(&a) == material(&b), "{:?} vs {:?}: {:?}", a, b, d);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The chain walk (which stops at a threshold, checks the cheapest signatures first and
    /// checks a signature once for both roles) reaches the verdict of a plain count of every
    /// signature against each root role — also when the new root lists a key ID of the old one
    /// with a different key.
    #[test]
    fn chain_walk_agrees_with_counting_every_signature(
        old in prop::collection::btree_set(0usize..5, 1..5),
        new in prop::collection::btree_set(0usize..5, 1..5),
        t_old in 1u64..4, t_new in 1u64..4,
        signers in prop::collection::vec(0usize..5, 0..6),
        swap in prop::option::of((0usize..5, 0usize..5)),
        order in prop::collection::vec(0usize..8, 0..8),
    ) {
        use rootcellar::tuf::verify::verify_chain;
        let keys = [TestKey::ecdsa(11), TestKey::ed25519(12), TestKey::ecdsa(13), TestKey::ed25519(14), TestKey::ecdsa(15)];
        let pick = |s: &std::collections::BTreeSet<usize>| s.iter().map(|&i| &keys[i]).collect::<Vec<_>>();
        let one = signed(root(1, &pick(&old), t_old, FUTURE), &pick(&old));
        let mut r2 = root(2, &pick(&new), t_new, FUTURE);
        // The new root lists key `a`'s ID (when it lists it) with key `b`'s key object.
        if let Some((a, b)) = swap
            && new.contains(&a) && a != b {
            r2.keys.insert(keys[a].keyid(), keys[b].key());
        }
        let mut two = signed(r2, &[]);
        let mut sigs: Vec<_> = signers.iter().map(|&i| keys[i].sign(&two)).collect();
        for (n, &o) in order.iter().enumerate() {
            let len = sigs.len();
            if len > 1 { sigs.swap(n % len, o % len); }
        }
        two.signatures = sigs;
        let at = rootcellar::tuf::expiry::parse_tuf_time("2030-01-01T00:00:00Z").unwrap();
        let walk = verify_chain(&one, std::slice::from_ref(&two), at);
        let every = |md: &Metadata<Root>| check_threshold("t", two.canonical_signed(), &two.signatures, &md.signed.keys, &md.signed.roles["root"]).met;
        let anchor = check_threshold("t", one.canonical_signed(), &one.signatures, &one.signed.keys, &one.signed.roles["root"]).met;
        prop_assert_eq!(walk.valid, anchor && every(&one) && every(&two), "{:?}", walk);
    }
}
