#!/usr/bin/env python3
"""Reference check of a DCT -> TUF hand-over statement, for client authors.

    check_handover.py STATEMENT NOTARY_ROOT TUF_ROOT

What a client that pinned the Notary root (Docker keeps it in
~/.docker/trust/tuf/GUN/metadata/root.json) does before it trusts the TUF root the
statement names. Written apart from rootcellar's Rust code, with the `cryptography` package
for signatures and python-tuf for the TUF root; the format is in docs/formats.md.

Prints ACCEPTED (exit 0) or REJECTED: <why> (exit 1).
"""

import base64
import hashlib
import json
import sys
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from tuf.api.metadata import Metadata, Root


def reject(why):
    print("REJECTED:", why)
    sys.exit(1)


def names(ref, data, what):
    if ref["length"] != len(data) or ref["sha256"] != hashlib.sha256(data).hexdigest():
        reject(f"the {what} given is not the one the statement names")


def main():
    statement_file, notary_file, tuf_file = sys.argv[1:4]
    with open(statement_file, "rb") as f:
        statement = json.load(f)
    with open(notary_file, "rb") as f:
        notary_bytes = f.read()
    with open(tuf_file, "rb") as f:
        tuf_bytes = f.read()

    signed = statement["signed"]
    if signed["_type"] != "Handover":
        reject("not a hand-over statement")
    if signed["from"]["format"] != "notary" or signed["to"]["format"] != "tuf":
        reject("not a hand-over from notary to tuf")
    names(signed["from"], notary_bytes, "Notary root")
    names(signed["to"], tuf_bytes, "TUF root")
    expires = datetime.fromisoformat(signed["expires"].replace("Z", "+00:00"))
    if expires <= datetime.now(timezone.utc):
        reject("the statement expired")

    # Canonical JSON of `signed`: sorted keys, no spaces (the form Notary signs).
    message = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()

    notary = json.loads(notary_bytes)["signed"]
    if notary["version"] != signed["from"]["version"]:
        reject("the Notary root's version is not the one named")
    role = notary["roles"]["root"]
    counted = set()
    for sig in statement["signatures"]:
        if sig["keyid"] not in role["keyids"] or sig.get("method") != "ecdsa":
            continue
        key = notary["keys"][sig["keyid"]]
        if key["keytype"] != "ecdsa-x509":
            continue
        cert = x509.load_pem_x509_certificate(base64.b64decode(key["keyval"]["public"]))
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not cns or cns[0].value != signed["gun"]:
            continue
        raw = base64.b64decode(sig["sig"])
        if len(raw) != 64:
            continue
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = cert.public_key()
        try:
            public.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        counted.add(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    if len(counted) < role["threshold"]:
        reject(f"{len(counted)} of the {role['threshold']} signatures the Notary root's keys must make")

    tuf = Metadata[Root].from_bytes(tuf_bytes)
    if tuf.signed.version != signed["to"]["version"]:
        reject("the TUF root's version is not the one named")
    try:
        tuf.signed.verify_delegate(Root.type, tuf.signed_bytes, tuf.signatures)
    except Exception as e:  # python-tuf raises UnsignedMetadataError
        reject(f"the TUF root does not verify: {e}")
    if tuf.signed.is_expired():
        reject("the TUF root has expired")
    print("ACCEPTED")


if __name__ == "__main__":
    main()
