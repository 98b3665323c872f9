#!/usr/bin/env python3
"""Root histories in the shapes published TUF roots take, built with python-tuf and
securesystemslib, each with python-tuf's own verdict — for rootcellar's `verify` to agree with.

  verdicts OUTDIR   writes OUTDIR/CASE/N.root.json for each case and OUTDIR/cases.json:
                    [{"case": name, "accepted": bool, "why": str}]

python-tuf's verdict is its client's root walk (ngclient's TrustedMetadataSet): the first root
signed by a threshold of its own keys, each next one by a threshold of the previous root's keys
and of its own, versions going up by one. Expiry is far off in every case.
"""
import copy
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Root
from tuf.api.serialization.json import CanonicalJSONSerializer

EXPIRES = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3650)


def signer(kind: str) -> CryptoSigner:
    if kind == "ed25519":
        return CryptoSigner(ed25519.Ed25519PrivateKey.generate())
    if kind in ("p256", "p384", "p521"):
        curve = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}[kind]
        return CryptoSigner(ec.generate_private_key(curve))
    bits, scheme = {"rsa-pss": (2048, "rsassa-pss-sha256"), "rsa-pss-384": (3072, "rsassa-pss-sha384"),
                    "rsa-pkcs1": (2048, "rsa-pkcs1v15-sha256"), "rsa-pkcs1-512": (2048, "rsa-pkcs1v15-sha512"),
                    "rsa-1024": (1024, "rsassa-pss-sha256")}[kind]
    priv = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    s = CryptoSigner(priv)
    key = copy.deepcopy(s.public_key)
    key.scheme = scheme
    return CryptoSigner(priv, key)


def root_with(signers, threshold, version=1):
    root = Root(expires=EXPIRES, version=version)
    for s in signers:
        root.add_key(s.public_key, "root")
    for role in ("targets", "snapshot", "timestamp"):
        root.add_key(signers[0].public_key, role)
    root.roles["root"].threshold = threshold
    return root


def python_verdict(files):
    def check(delegator, md):
        payload = CanonicalJSONSerializer().serialize(md.signed)
        delegator.signed.verify_delegate(Root.type, payload, md.signatures)

    try:
        trusted = Metadata[Root].from_bytes(files[0])
        check(trusted, trusted)
        for b in files[1:]:
            new = Metadata[Root].from_bytes(b)
            check(trusted, new)
            if new.signed.version != trusted.signed.version + 1:
                raise ValueError("version is not +1")
            check(new, new)
            trusted = new
        return True, ""
    except Exception as e:  # noqa: BLE001 - the verdict is the point
        return False, f"{type(e).__name__}: {e}"


def sign(root, signers, extra=None):
    md = Metadata(root)
    for s in signers:
        md.sign(s, append=True)
    d = md.to_dict()
    if extra:
        extra(d)
    return json.dumps(d, indent=1).encode()


def main(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    cases = []

    def case(name, files):
        d = out / name
        d.mkdir()
        for i, b in enumerate(files, 1):
            (d / f"{i}.root.json").write_bytes(b)
        ok, why = python_verdict(files)
        cases.append({"case": name, "accepted": ok, "why": why})

    # One kind of root key per chain, with a rotation from 1 to 2.
    for kind in ("p384", "rsa-pss", "rsa-pss-384", "rsa-pkcs1", "rsa-pkcs1-512"):
        a, b, c = signer(kind), signer(kind), signer(kind)
        r1 = root_with([a, b], 2)
        r2 = root_with([a, c], 2, version=2)
        case(f"chain-{kind}", [sign(r1, [a, b]), sign(r2, [a, b, c])])
        case(f"chain-{kind}-without-old-threshold", [sign(r1, [a, b]), sign(r2, [a, c])])

    # Every key type in one role.
    kinds = ("ed25519", "p256", "p384", "rsa-pss", "rsa-pkcs1")
    ss = [signer(k) for k in kinds]
    case("mixed-role-all-sign", [sign(root_with(ss, 5), ss)])
    case("mixed-role-one-short", [sign(root_with(ss, 5), ss[:4])])

    # An unknown key type listed: it counts for nothing, the others may still meet the threshold.
    # python-tuf refuses a root listing a key type it does not read, whatever the threshold.
    r = root_with(ss[:2], 2)
    md = Metadata(r)
    for s in ss[:2]:
        md.sign(s, append=True)
    d = md.to_dict()
    d["signed"]["keys"]["f" * 64] = {"keytype": "sphincs", "scheme": "sphincs-shake-256f", "keyval": {"public": "00"}}
    case("unknown-key-type", [json.dumps(d, indent=1).encode()])
    # A type python-tuf reads and rootcellar does not (P-521) that the threshold does not need.
    d = Metadata(root_with([ss[0], ss[1], signer("p521")], 2)).to_dict()
    md = Metadata.from_dict(d)
    for s in ss[:2]:
        md.sign(s, append=True)
    case("p521-key-not-needed", [json.dumps(md.to_dict(), indent=1).encode()])

    # Two signature entries under one key ID.
    a, b = signer("p256"), signer("p256")
    def dup(d):
        d["signatures"].append(dict(d["signatures"][0]))
    case("duplicate-signature-keyid", [sign(root_with([a, b], 1), [a], dup)])

    # Key IDs that are labels: not the hash of the key object.
    def relabel(d):
        ren = {k: ("%064x" % (i + 1)) for i, k in enumerate(d["signed"]["keys"])}
        d["signed"]["keys"] = {ren[k]: v for k, v in d["signed"]["keys"].items()}
        for r in d["signed"]["roles"].values():
            r["keyids"] = [ren[k] for k in r["keyids"]]
        for s in d["signatures"]:
            s["keyid"] = ren[s["keyid"]]
    r = root_with([a, b], 2)
    unsigned = Metadata(r).to_dict()
    relabel(unsigned)
    md = Metadata.from_dict(copy.deepcopy(unsigned))
    for s in (a, b):
        kid = next(k for k, v in md.signed.keys.items() if v.keyval == s.public_key.keyval)
        md.sign(CryptoSigner(s._private_key, md.signed.keys[kid]), append=True)
    case("keyids-are-labels", [json.dumps(md.to_dict(), indent=1).encode()])

    # Key-ID recipes published roots carry: the hash of the object with keyid_hash_algorithms
    # (not in the file), of the PEM without its trailing newline, of the whole object.
    import hashlib
    from securesystemslib.formats import encode_canonical

    def recipe_id(key, how):
        d = {"keytype": key["keytype"], "scheme": key["scheme"], "keyval": dict(key["keyval"])}
        if how == "hash-algorithms":
            d["keyid_hash_algorithms"] = ["sha256", "sha512"]
        elif how == "pem-without-newline":
            d["keyval"]["public"] = d["keyval"]["public"].rstrip("\n")
        return hashlib.sha256(encode_canonical(d).encode()).hexdigest()

    for how in ("hash-algorithms", "pem-without-newline"):
        d = Metadata(root_with([a, b], 2)).to_dict()
        ren = {k: recipe_id(v, how) for k, v in d["signed"]["keys"].items()}
        d["signed"]["keys"] = {ren[k]: v for k, v in d["signed"]["keys"].items()}
        for role in d["signed"]["roles"].values():
            role["keyids"] = [ren[k] for k in role["keyids"]]
        md = Metadata.from_dict(d)
        for s in (a, b):
            kid = next(k for k, v in md.signed.keys.items() if v.keyval == s.public_key.keyval)
            md.sign(CryptoSigner(s._private_key, md.signed.keys[kid]), append=True)
        case(f"keyid-recipe-{how}", [json.dumps(md.to_dict(), indent=1).encode()])

    # Unknown fields at every level.
    def xfields(d):
        d["x-top"] = {"note": 1}
        d["signed"]["x-rstuf"] = ["kept"]
        for k in d["signed"]["keys"].values():
            k["x-tuf-on-ci-keyowner"] = "@someone"
            k["keyval"]["x-extra"] = "in keyval"
        d["signed"]["roles"]["root"]["x-tuf-on-ci-expiry-period"] = 365
    r = root_with([a, b], 2)
    raw = Metadata(r).to_dict()
    xfields(raw)
    md = Metadata.from_dict(copy.deepcopy(raw))
    for s in (a, b):
        kid = next(k for k, v in md.signed.keys.items() if v.keyval["public"] == s.public_key.keyval["public"])
        md.sign(CryptoSigner(s._private_key, md.signed.keys[kid]), append=True)
    case("unknown-fields-everywhere", [json.dumps(md.to_dict(), indent=1).encode()])

    # Where rootcellar is stricter, by design (docs/formats.md):
    c521 = signer("p521")
    case("divergence-p521-keys", [sign(root_with([c521, a], 2), [c521, a])])
    weak = signer("rsa-1024")
    case("divergence-rsa-1024", [sign(root_with([weak, a], 2), [weak, a])])
    # One public key under two key IDs, signed under both: python-tuf counts key IDs.
    r = root_with([a, b], 2)
    d = Metadata(r).to_dict()
    twin = copy.deepcopy(d["signed"]["keys"][a.public_key.keyid])
    twin["keytype"] = "ecdsa-sha2-nistp256"
    d["signed"]["keys"]["e" * 64] = twin
    d["signed"]["roles"]["root"]["keyids"].append("e" * 64)
    md = Metadata.from_dict(d)
    md.sign(CryptoSigner(a._private_key, md.signed.keys[a.public_key.keyid]), append=True)
    md.sign(CryptoSigner(a._private_key, md.signed.keys["e" * 64]), append=True)
    case("divergence-one-key-two-keyids", [json.dumps(md.to_dict(), indent=1).encode()])

    (out / "cases.json").write_text(json.dumps(cases, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
