#!/usr/bin/env python3
"""python-tuf side of rootcellar's interop test.

  keys OUTDIR ALG        make the online keys (targets, snapshot, timestamp, and a tagging key
                         "release" for a delegated role) with securesystemslib:
                         OUTDIR/NAME.pub.json (TUF key JSON, what rootcellar imports) and
                         OUTDIR/NAME.priv.pem (PKCS#8, used by `refresh` to sign)
  refresh ROOTS KEYS     build a repository around rootcellar's published ROOTS/N.root.json with
                         python-tuf (targets, snapshot, timestamp signed with the online keys),
                         serve it on 127.0.0.1, and run a real tuf.ngclient.Updater.refresh()
                         from a client that trusts only 1.root.json; then download a target.
                         When ROOTS holds targets.json (signed by rootcellar with delegations),
                         it is used as is, and each delegated role whose key is "release" gets
                         its metadata here; the client then finds a target through that role.
  keyholder OUTDIR NAME ALG
                         a keyholder's own key made with securesystemslib (ALG: ecdsa-p384 or
                         rsa-3072-pss): OUTDIR/NAME.pub.json and OUTDIR/NAME.priv.pem
  sign REQUEST PRIV PUB  sign the root in a rootcellar request bundle (or a root file) with
                         securesystemslib's CryptoSigner, appending the signature, as a
                         keyholder who keeps their own tools does (docs/migrate-from-tuf-on-ci.md)
Prints one JSON line with what the client ended up trusting; exits non-zero on any failure.
"""
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import MetaFile, Metadata, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import Updater

ONLINE = ("targets", "snapshot", "timestamp", "release")


def keys(outdir: Path, alg: str) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for name in ONLINE:
        priv = ec.generate_private_key(ec.SECP256R1()) if alg == "ecdsa" else ed25519.Ed25519PrivateKey.generate()
        signer = CryptoSigner(priv)
        (outdir / f"{name}.pub.json").write_text(json.dumps(signer.public_key.to_dict()))
        pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        (outdir / f"{name}.priv.pem").write_bytes(pem)


def keyholder(outdir: Path, name: str, alg: str) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    if alg == "ecdsa-p384":
        priv = ec.generate_private_key(ec.SECP384R1())
        signer = CryptoSigner(priv)
    elif alg == "rsa-3072-pss":
        priv = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        signer = CryptoSigner(priv)  # securesystemslib's default RSA scheme: rsassa-pss-sha256
    else:
        sys.exit(f"unknown algorithm {alg}")
    (outdir / f"{name}.pub.json").write_text(json.dumps(signer.public_key.to_dict()))
    pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (outdir / f"{name}.priv.pem").write_bytes(pem)


def sign(request: Path, priv_path: Path, pub_path: Path) -> None:
    doc = json.loads(request.read_text())
    bundle = "rootcellar_request" in doc
    md = Metadata.from_dict(doc["request"] if bundle else doc)
    pub = json.loads(pub_path.read_text())
    # The key as the root lists it: its key ID there, whatever recipe made it.
    keyid = next(k for k, v in md.signed.keys.items() if v.keyval == pub["keyval"])
    priv = serialization.load_pem_private_key(priv_path.read_bytes(), password=None)
    md.sign(CryptoSigner(priv, md.signed.keys[keyid]), append=True)
    if bundle:
        doc["request"] = md.to_dict()
    else:
        doc = md.to_dict()
    request.write_text(json.dumps(doc, indent=1))


def refresh(roots: Path, keydir: Path) -> None:
    versions = sorted(int(p.name.split(".")[0]) for p in roots.glob("*.root.json"))
    assert versions and versions == list(range(1, len(versions) + 1)), f"root files: {versions}"
    latest = Metadata[Root].from_file(str(roots / f"{versions[-1]}.root.json"))

    def signer(role: str) -> CryptoSigner:
        keyid = latest.signed.roles[role].keyids[0]
        priv = serialization.load_pem_private_key((keydir / f"{role}.priv.pem").read_bytes(), password=None)
        return CryptoSigner(priv, latest.signed.keys[keyid])

    work = Path(tempfile.mkdtemp(prefix="rootcellar-interop-"))
    repo, targets_dir = work / "repo" / "metadata", work / "repo" / "targets"
    repo.mkdir(parents=True)
    targets_dir.mkdir(parents=True)
    for v in versions:
        shutil.copy(roots / f"{v}.root.json", repo / f"{v}.root.json")

    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=7)
    payload = b"hello from a rootcellar-rooted repository\n"
    target = TargetFile.from_data("hello.txt", payload)
    consistent = bool(latest.signed.consistent_snapshot)
    name = f"{target.hashes['sha256']}.hello.txt" if consistent else "hello.txt"
    (targets_dir / name).write_bytes(payload)

    ser = JSONSerializer(compact=False)
    from urllib.parse import quote

    snapshot_meta = {}
    delegated_target = None
    rc_targets = roots / "targets.json"
    if rc_targets.exists():
        top = Metadata[Targets].from_file(str(rc_targets))
        tv = top.signed.version
        shutil.copy(rc_targets, repo / (f"{tv}.targets.json" if consistent else "targets.json"))
        snapshot_meta["targets.json"] = MetaFile(version=tv)
        release_pub = json.loads((keydir / "release.pub.json").read_text())
        release_priv = serialization.load_pem_private_key((keydir / "release.priv.pem").read_bytes(), password=None)
        for role in (top.signed.delegations.roles or {}).values():
            keyid = next((k for k in role.keyids if top.signed.delegations.keys[k].keyval == release_pub["keyval"]), None)
            if keyid is None:
                continue
            rel_payload = f"artifact of {role.name}\n".encode()
            name = "releases/app-1.0.txt"
            tf = TargetFile.from_data(name, rel_payload)
            tdir = targets_dir / "releases"
            tdir.mkdir(exist_ok=True)
            (tdir / (f"{tf.hashes['sha256']}.app-1.0.txt" if consistent else "app-1.0.txt")).write_bytes(rel_payload)
            delegated = Metadata(Targets(version=1, expires=expires, targets={name: tf}))
            delegated.sign(CryptoSigner(release_priv, top.signed.delegations.keys[keyid]))
            fname = quote(role.name, "")
            delegated.to_file(str(repo / (f"1.{fname}.json" if consistent else f"{fname}.json")), ser)
            snapshot_meta[f"{role.name}.json"] = MetaFile(version=1)
            delegated_target = (name, rel_payload)
    else:
        targets = Metadata(Targets(version=1, expires=expires, targets={"hello.txt": target}))
        targets.sign(signer("targets"))
        targets.to_file(str(repo / ("1.targets.json" if consistent else "targets.json")), ser)
        snapshot_meta["targets.json"] = MetaFile(version=1)
    snapshot = Metadata(Snapshot(version=1, expires=expires, meta=snapshot_meta))
    snapshot.sign(signer("snapshot"))
    snapshot.to_file(str(repo / ("1.snapshot.json" if consistent else "snapshot.json")), ser)
    timestamp = Metadata(Timestamp(version=1, expires=expires, snapshot_meta=MetaFile(version=1)))
    timestamp.sign(signer("timestamp"))
    timestamp.to_file(str(repo / "timestamp.json"), ser)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(work / "repo"), **kw)

        def log_message(self, *a):
            pass

        def translate_path(self, path):
            # Serve names as stored: delegated role files keep their percent-encoding
            # (targets%2Freleases.json), as python-tuf's repository layout has them.
            rel = path.split("?", 1)[0].split("#", 1)[0].lstrip("/")
            if ".." in rel.split("/"):
                return str(work / "nonexistent")
            return str(work / "repo" / rel)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        client, downloads = work / "client", work / "downloads"
        client.mkdir()
        downloads.mkdir()
        updater = Updater(
            str(client),
            f"{base}/metadata/",
            str(downloads),
            f"{base}/targets/",
            bootstrap=(roots / "1.root.json").read_bytes(),
        )
        updater.refresh()
        result = {}
        if delegated_target is None:
            info = updater.get_targetinfo("hello.txt")
            assert info is not None, "target not found"
            path = updater.download_target(info)
            assert Path(path).read_bytes() == payload
            result["target"] = "hello.txt"
        else:
            name, rel_payload = delegated_target
            info = updater.get_targetinfo(name)
            assert info is not None, f"{name} not found through the delegation"
            path = updater.download_target(info)
            assert Path(path).read_bytes() == rel_payload
            result["target"] = name
            result["through_delegation"] = True
        trusted = Metadata[Root].from_file(str(client / "root.json"))
        result.update({"trusted_root_version": trusted.signed.version, "downloaded": True})
        print(json.dumps(result))
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "keys" and len(sys.argv) == 4:
        keys(Path(sys.argv[2]), sys.argv[3])
    elif cmd == "keyholder" and len(sys.argv) == 5:
        keyholder(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif cmd == "sign" and len(sys.argv) == 5:
        sign(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    elif cmd == "refresh" and len(sys.argv) == 4:
        refresh(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)
