"""A snapshot's files beyond what `asm-audit snapshot` wrote (red22c, fix23d).

1. macOS AppleDouble files. A snapshot unpacked, looked at and packed again on a Mac (or copied by the Finder to a USB
   disk or a share) gets a `._<name>` beside each file: bsdtar stores each file's extended attributes and resource fork
   so (copyfile(3), on unless COPYFILE_DISABLE=1), and `tar -x` elsewhere writes them out as files. Each is an
   AppleDouble file (RFC 1740: magic 0x00051607, version 0x00020000, a 16-byte filler "Mac OS X        ", then entry
   descriptors; copyfile puts the extended attributes behind an "ATTR" header in the Finder-info entry). `._pods.json`
   was read as objects: "malformed JSON", exit 2, no audit at all. They are metadata of another file and hold no
   object: skipped, by their magic number (a `._*.json` holding JSON is read as before).
2. More objects in the files than the manifest records. `asm-audit snapshot` records how many objects of each kind
   it wrote (test_hostile_pages_20.py: fewer leave the kind unread); more is a file added or copied in (the Finder's
   `pods copy.json`, another snapshot's files merged), not the cluster as read: the kind is left unread (UNKNOWN,
   INCOMPLETE, exit 3) with one line saying so, as for fewer. The duplicate was read as more pods: GO.
"""

from __future__ import annotations

import json
import shutil
import struct
import tarfile
from pathlib import Path

from auditor import api
from auditor.cli.main import main
from tests import factory as f
from tests import test_faults
from tests.test_faults import focus_config, rows
from tests.test_readonly import NOW


def appledouble() -> bytes:
    """A `._<name>` as copyfile(3) writes it for a file with a quarantine attribute: header, two entries (Finder info
    holding the "ATTR" extended attributes, an empty resource fork), 4 KiB."""
    header = struct.pack(">II16sH", 0x00051607, 0x00020000, b"Mac OS X        ", 2)
    entries = struct.pack(">III", 9, 50, 3762) + struct.pack(">III", 2, 3812, 286)
    finder_info = b"\x00" * 32 + b"\x00\x00ATTR" + struct.pack(">IIII", 0, 4096, 3812, 1)
    attribute = b"com.apple.quarantine\x00" + b"0081;6756a1b2;Safari;"
    return (header + entries + finder_info + b"\x00" * 20 + attribute).ljust(4096, b"\x00")


def written_snapshot(tmp_path: Path, fake_api, fake_asm, capsys) -> Path:
    """`asm-audit snapshot` of the fault tests' data plane (cluster `prod`, its pods on ASM), extracted."""
    served = test_faults.serve(tmp_path, fake_api, fake_asm)
    tarball = tmp_path / "snap.tar.gz"
    assert main(test_faults.snapshot_cli(served, tarball)) == 0
    capsys.readouterr()
    root = tmp_path / "extracted"
    with tarfile.open(tarball) as archive:
        archive.extractall(root, filter="data")
    return root


def audit(tmp_path: Path, snapshot: Path) -> api.AuditResult:
    # The audit's clock is the machine's: the snapshot was just taken (a fixed NOW would put it in the future).
    return api.run_audit(api.Target(snapshot=str(snapshot)), "migrating", api.load_config(focus_config(tmp_path)))


def verdict_and_findings(result: api.AuditResult) -> tuple[str, list[tuple[str, str, str]]]:
    return result.verdict.value, sorted((r["check_id"], r["status"], r["code"]) for r in rows(result))


def test_appledouble_files_beside_every_file_change_nothing(tmp_path, fake_api, fake_asm, capsys):
    """Was exit 2 ("malformed JSON"), for the directory and for a tarball packed on a Mac alike."""
    root = written_snapshot(tmp_path, fake_api, fake_asm, capsys)
    control = verdict_and_findings(audit(tmp_path, root))
    for path in [p for p in root.rglob("*") if p.is_file()]:
        (path.parent / f"._{path.name}").write_bytes(appledouble())
    assert verdict_and_findings(audit(tmp_path, root)) == control
    tarball = tmp_path / "mac.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(root, arcname=".")
    out = tmp_path / "out"
    code = main(["run", "--snapshot", str(tarball), "--phase", "migrating", "--config", str(focus_config(tmp_path)),
                 "--out", str(out), "--format", "json", "--quiet"])
    doc = json.loads((out / "findings.json").read_text())
    assert (code, doc["verdict"]) == (0, control[0]) == (0, "GO")


def test_a_dotted_underscore_file_holding_objects_is_still_read(tmp_path):
    """Only the magic number makes a file one to skip: `._pods.json` holding pods on Istio's sidecar is judged."""
    root = f.write_snapshot(tmp_path / "snap", {"cluster-a": [f.namespace("shop")]})
    istio_pods = f.workload_pods(f.deployment("cart"), 1, proxy="istio")
    (root / "cluster-a" / "._pods.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                                 "items": istio_pods}))
    config = api.load_config(None).model_validate(f.only_checks("istio-sidecars-remaining"))
    result = api.run_audit(api.Target(snapshot=str(root)), "uninstall", config, now=NOW)
    assert "FAIL" in {r["status"] for r in rows(result, "istio-sidecars-remaining")}


def test_a_macos_zip_folder_of_appledouble_files_is_no_cluster(tmp_path):
    """A snapshot directory without a manifest, unzipped from a Mac's zip: `__MACOSX/` holds only AppleDouble files."""
    root = f.write_snapshot(tmp_path / "snap", {"cluster-a": [f.namespace("shop")]})
    (root / "__MACOSX" / "cluster-a").mkdir(parents=True)
    (root / "__MACOSX" / "cluster-a" / "._objects.yaml").write_bytes(appledouble())
    result = api.run_audit(api.Target(snapshot=str(root)), "uninstall",
                           api.load_config(None).model_validate(f.only_checks("istio-sidecars-remaining")), now=NOW)
    assert [c.name for c in result.inventory.data_planes] == ["cluster-a"]


def test_more_objects_in_the_files_than_the_manifest_records_leaves_the_kind_unread(tmp_path, fake_api, fake_asm,
                                                                                    capsys):
    """A copy of the pods' file beside it (the Finder's `pods copy.json`): was read as twice the pods, GO (exit 0)."""
    root = written_snapshot(tmp_path, fake_api, fake_asm, capsys)
    assert audit(tmp_path, root).exit_code == 0  # the control
    shutil.copy(root / "prod" / "pods.json", root / "prod" / "pods copy.json")
    result = audit(tmp_path, root)
    [row] = rows(result, "pods-xds-agent")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001"), row
    assert (result.verdict.value, result.exit_code) == ("INCOMPLETE", 3)
