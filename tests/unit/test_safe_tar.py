"""The relayed tar stream: members that would land outside the target, or were not asked
for, are left out and named; everything else passes with its metadata (crafted streams)."""

from __future__ import annotations

import io
import tarfile

from pojemnik.operations.data.safe_tar import filter_stream, normalized


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", linkname: str = "",
           pax: dict[str, str] | None = None) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    info.uid, info.gid, info.mode, info.mtime = 1001, 1003, 0o640, 1_600_000_000
    info.pax_headers = dict(pax or {})
    return info, data


def archive(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def relay(stream: bytes, requested: set[str],
          symlinks: set[str] | None = None) -> tuple[list[tarfile.TarInfo], dict[str, bytes],
                                                     dict[str, str]]:
    out = io.BytesIO()
    refused = filter_stream(io.BytesIO(stream), out, requested, symlinks or set())
    out.seek(0)
    members, contents = [], {}
    with tarfile.open(fileobj=out, mode="r:") as tar:
        for info in tar:
            members.append(info)
            if info.isreg():
                contents[info.name] = tar.extractfile(info).read()  # type: ignore[union-attr]
    return members, contents, {r.name: r.reason for r in refused}


def test_names_outside_the_target_are_not_inside_it() -> None:
    assert normalized("./a//b/") == "a/b"
    for bad in ("/etc/passwd", "../x", "a/../../x", "a/..", "", ".", "./"):
        assert normalized(bad) is None


def test_a_symlink_made_by_the_archive_is_never_written_through() -> None:
    stream = archive(member("link", tarfile.SYMTYPE, linkname="/etc"),
                     member("link/passwd", data=b"root::0:0::/:/bin/sh\n"),
                     member("ok.txt", data=b"fine"))
    members, contents, refused = relay(stream, {"link", "link/passwd", "ok.txt"})
    assert [m.name for m in members] == ["link", "ok.txt"]
    assert members[0].issym() and members[0].linkname == "/etc"  # the link itself is data
    assert contents == {"ok.txt": b"fine"}
    assert refused == {"link/passwd": "inside the symlink link"}


def test_a_symlink_at_the_destination_is_never_written_through() -> None:
    stream = archive(member("data/sub", tarfile.DIRTYPE), member("data/sub/x", data=b"x"),
                     member("other/y", data=b"y"))
    members, _, refused = relay(stream, {"data/sub", "data/sub/x", "other/y"},
                                symlinks={"data"})
    assert [m.name for m in members] == ["other/y"]
    assert set(refused) == {"data/sub", "data/sub/x"}
    # The link itself replaced by a directory: tar would keep it and chown through it.
    _, _, refused = relay(archive(member("data", tarfile.DIRTYPE)), {"data"}, {"data"})
    assert refused == {"data": "a directory where the destination has a symlink"}


def test_absolute_dotdot_and_unrequested_members_are_refused() -> None:
    stream = archive(member("/etc/cron.d/evil", data=b"*"), member("../escape", data=b"!"),
                     member("a/../../b", data=b"!"), member("extra.txt", data=b"?"),
                     member("wanted.txt", data=b"w"))
    members, _, refused = relay(stream, {"wanted.txt", "etc/cron.d/evil", "escape"})
    assert [m.name for m in members] == ["wanted.txt"]
    assert refused == {"/etc/cron.d/evil": "absolute or outside the target",
                       "../escape": "absolute or outside the target",
                       "a/../../b": "absolute or outside the target",
                       "extra.txt": "not asked for"}


def test_hard_links_only_to_entries_of_this_copy() -> None:
    stream = archive(member("one", data=b"same"),
                     member("two", tarfile.LNKTYPE, linkname="one"),
                     member("shadow", tarfile.LNKTYPE, linkname="/etc/shadow"),
                     member("later", tarfile.LNKTYPE, linkname="not-sent"),
                     member("dev", tarfile.CHRTYPE))
    members, _, refused = relay(stream, {"one", "two", "shadow", "later", "dev"})
    assert [(m.name, m.linkname) for m in members] == [("one", ""), ("two", "one")]
    assert set(refused) == {"shadow", "later", "dev"}
    assert refused["dev"] == "a device node"


def test_owners_modes_times_xattrs_and_acls_pass_unchanged() -> None:
    pax = {"SCHILY.xattr.user.comment": "pojemnik sample",
           "SCHILY.acl.access": "user::rw-,user:1002:r--,group::r--,mask::r--,other::---"}
    stream = archive(member("dir", tarfile.DIRTYPE),
                     member("dir/zażółć gęślą jaźń.txt", data=b"z" * 70_000, pax=pax))
    members, contents, refused = relay(stream, {"dir", "dir/zażółć gęślą jaźń.txt"})
    assert refused == {}
    file = members[1]
    assert (file.uid, file.gid, file.mode, file.mtime) == (1001, 1003, 0o640, 1_600_000_000)
    assert {k: v for k, v in file.pax_headers.items() if k.startswith("SCHILY.")} == pax
    assert contents["dir/zażółć gęślą jaźń.txt"] == b"z" * 70_000
    assert members[0].isdir()


def test_a_pax_path_header_cannot_smuggle_a_name_past_the_gate() -> None:
    long_name = "deep/" + "d" * 120 + "/file.txt"  # longer than 100: a pax "path" header
    stream = archive(member("./" + long_name, data=b"deep"))
    members, contents, refused = relay(stream, {long_name})
    assert refused == {} and [m.name for m in members] == [long_name]
    assert contents == {long_name: b"deep"}
