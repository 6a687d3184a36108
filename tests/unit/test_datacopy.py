"""What data.copy decides to send, from two manifests (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from pojemnik.errors import OperationError
from pojemnik.operations.data._files import direct_address
from pojemnik.operations.data.copy import CopyRequest, copy_data
from pojemnik.operations.data.manifest import (
    Entry,
    Manifest,
    below_root,
    difference,
    parse_digests,
    parse_getfattr,
    parse_manifest,
)


def f(digest: str, inode: str = "1", mtime: int = 100, mode: str = "644",
      owner: str = "0:0", xattrs: str = "") -> Entry:
    return Entry("f", mode, owner, 10, mtime, inode, "", digest, xattrs)


def d(mode: str = "755", mtime: int = 5) -> Entry:
    return Entry("d", mode, "0:0", 0, mtime, "9")


def test_identical_sides_send_nothing() -> None:
    side = Manifest({"a": d(), "a/x": f("h1")})
    diff = difference(side, Manifest(dict(side.entries)))
    assert diff.send == [] and diff.extra == [] and diff.unchanged == 2 and diff.bytes == 0


def test_missing_and_changed_entries_are_sent_parents_first() -> None:
    source = Manifest({"a": d(), "a/x": f("h1"), "a/y": f("h2", inode="2"), "b": d()})
    destination = Manifest({"a": d(), "a/x": f("old")})
    diff = difference(source, destination)
    assert diff.send == ["a/x", "a/y", "b"]
    assert diff.bytes == 20


def test_owner_mode_mtime_and_xattrs_count_but_directory_mtime_does_not() -> None:
    base = Manifest({"d": d(), "x": f("h")})
    for changed in (f("h", owner="1:1"), f("h", mode="600"), f("h", mtime=101),
                    f("h", xattrs="abc")):
        assert difference(Manifest({"d": d(), "x": changed}), base).send == ["x"]
    assert difference(Manifest({"d": d(mtime=999), "x": f("h")}), base).send == []


def test_a_hard_link_travels_with_its_partner() -> None:
    source = Manifest({"one": f("h", inode="7"), "two": f("h", inode="7"),
                       "other": f("z", inode="8")})
    destination = Manifest({"one": f("h", inode="3"), "other": f("z", inode="4")})
    diff = difference(source, destination)
    assert diff.send == ["one", "two"]
    assert source.hardlinks() == {frozenset({"one", "two"})}


def test_entries_only_on_the_destination_are_listed_deepest_first() -> None:
    source = Manifest({"a": d()})
    destination = Manifest({"a": d(), "extra": d(), "extra/file": f("h")})
    assert difference(source, destination).extra == ["extra/file", "extra"]


def test_getfattr_output_becomes_a_digest_per_path() -> None:
    text = ("# file: ./meta/tagged.txt\nuser.comment=0x706f6a656d6e696b\n\n"
            "# file: ./acl/f\nsystem.posix_acl_access=0x0200\n\n# file: ./plain\n\n")
    parsed = parse_getfattr(text)
    assert set(parsed) == {"meta/tagged.txt", "acl/f"}
    again = parse_getfattr(text.replace("0x706f6a656d6e696b", "0x00"))
    assert again["meta/tagged.txt"] != parsed["meta/tagged.txt"]
    assert again["acl/f"] == parsed["acl/f"]


def test_rsync_stats_and_itemized_changes_are_read() -> None:
    from pojemnik.operations.data._files import ITEMIZED, _rsync_stats

    output = ("cd+++++++++ nested/\n>f+++++++++ nested/deep.txt\n"
              "hf+++++++++ links/same.txt => links/original.txt\n.d..t...... ./\n"
              "*deleting   old.txt\n\nNumber of files: 20 (reg: 14, dir: 6)\n"
              "Number of regular files transferred: 14\n"
              "Total transferred file size: 5,243,290 bytes\n")
    stats = _rsync_stats(output)
    assert stats["Number of regular files transferred"] == 14
    assert stats["Total transferred file size"] == 5243290
    itemized = [line for line in output.splitlines() if ITEMIZED.match(line)]
    assert itemized == ["cd+++++++++ nested/", ">f+++++++++ nested/deep.txt",
                        "hf+++++++++ links/same.txt => links/original.txt",
                        ".d..t...... ./", "*deleting   old.txt"]


# A directory whose name ends in a newline and a forged listing line (a `..` last), with a
# directory `nl-canary` in it: one listing line per entry made the latter `../nl-canary`.
CRAFTED = "x\nd\t755\t0:0\t0\t0\t1\t\t.."


def listed(*entries: tuple[str, ...]) -> str:
    """What `find -printf LISTING` prints: 8 fields a entry, each ended by a NUL."""
    return "".join(field + "\0" for entry in entries for field in entry)


def test_a_name_with_newlines_and_tabs_is_one_entry_strictly_below_the_root() -> None:
    listing = listed(("d", "755", "0:0", "4096", "1.5", "11", "", CRAFTED),
                     ("d", "755", "0:0", "4096", "1.5", "12", "", f"{CRAFTED}/nl-canary"),
                     ("f", "644", "1:1", "3", "7.9", "13", "", "line\nbreak.txt"),
                     ("l", "777", "0:0", "5", "2.0", "14", "a\tb\nc", "link"))
    digests = ("\\" + "ab" * 32 + "  ./line\\nbreak.txt\n" + "\\" + "cd" * 32 +
               "  ./back\\\\slash\\r\n")
    found = parse_manifest(listing, digests, "# file: line\\012break.txt\nuser.k=0x31\n")
    assert set(found.entries) == {CRAFTED, f"{CRAFTED}/nl-canary", "line\nbreak.txt", "link"}
    assert found.entries["line\nbreak.txt"].digest == "ab" * 32
    assert found.entries["line\nbreak.txt"].xattrs != ""
    assert found.entries["link"].target == "a\tb\nc"
    extra = difference(Manifest(), found).extra
    assert extra[0] == f"{CRAFTED}/nl-canary" and all(below_root(p) for p in extra)


def test_an_entry_not_strictly_below_the_root_is_refused() -> None:
    for path in ("../x", "/etc", "", "a/../b", "a//b", ".", "a/"):
        with pytest.raises(ValueError, match="not a path strictly below"):
            parse_manifest(listed(("d", "755", "0:0", "0", "0", "1", "", path)), "", "")
    with pytest.raises(ValueError, match="cut short"):
        parse_manifest("d\0755\0", "", "")


def test_sha256sum_and_getfattr_escapes_are_undone() -> None:
    digests = parse_digests("\\" + "0" * 64 + "  ./a\\\\n\\nb\n" + "1" * 64 + "  ./zażółć\n")
    assert digests == {"a\\n\nb": "0" * 64, "zażółć": "1" * 64}
    attrs = parse_getfattr("# file: back\\134slash\nuser.a=0x31\n\n"
                           "# file: za\\305\\274\nuser.a=0x31\n")
    assert set(attrs) == {"back\\slash", "zaż"}


@pytest.mark.parametrize("direct", [
    "old:22 -oProxyCommand=touch /tmp/x", "-oProxyCommand=x", "old;id", "old$(id)", "old host",
    "old:0", "old:65536", "old:abc", "old:", ":2222", "old:+22", "old:2\uff12", "old:22:22",
    "old\n", "[::1]:22", "user@old"])
def test_a_direct_address_that_is_not_host_and_port_is_refused_before_anything(
        direct: str) -> None:
    request = CopyRequest(path="/srv/data", direct=direct)
    problems = request.problems()
    assert len(problems) == 1 and problems[0].startswith(f"--direct {direct!r}: ")
    assert "give HOST or HOST:PORT" in problems[0]
    # Before any side effect: the connections are not even looked at.
    unusable: Any = object()
    with pytest.raises(OperationError, match="--direct"):
        copy_data(unusable, unusable, unusable, request, print)


def test_a_direct_address_is_a_host_and_a_port() -> None:
    assert direct_address("old-server") == ("old-server", 22)
    assert direct_address("10.0.0.5:2222") == ("10.0.0.5", 2222)
    assert direct_address("old.example.com:65535") == ("old.example.com", 65535)
    assert CopyRequest(path="/srv/data", direct="old.example.com:2222").problems() == []


def test_a_database_name_is_plain_and_short_enough_for_the_names_made_from_it() -> None:
    assert CopyRequest(database="a" * 36).problems() == []
    for name in ("a" * 37, "App", "app; drop", "1app"):
        assert "use a plain PostgreSQL name" in CopyRequest(database=name).problems()[0]
