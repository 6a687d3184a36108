"""What old-server holds at start (made by old-server/sample-data and old-server/app.sql)."""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE_ROOT = "/srv/data"
UNICODE_NAME = "zażółć gęślą jaźń.txt"


@dataclass(frozen=True)
class Entry:
    owner: str  # "uid:gid"
    mode: str  # octal, as `stat -c %a` prints it
    kind: str = "f"  # f file, d directory, l symlink


# Paths relative to SAMPLE_ROOT.
SAMPLE_ENTRIES: dict[str, Entry] = {
    "private": Entry("1001:1001", "700", "d"),
    "private/secret.txt": Entry("1001:1001", "600"),
    "bin/run.sh": Entry("1002:1003", "755"),
    "shared": Entry("1001:1003", "2775", "d"),
    "shared/report.csv": Entry("1001:1003", "640"),
    "links": Entry("1002:1002", "755", "d"),
    "links/original.txt": Entry("1002:1002", "644"),
    "links/same.txt": Entry("1002:1002", "644"),  # hard link of links/original.txt
    "links/symlink.txt": Entry("1002:1002", "777", "l"),  # -> original.txt
    "meta/tagged.txt": Entry("0:0", "644"),  # xattr user.comment
    "acl/with-acl.txt": Entry("0:0", "640"),  # ACL user:1002:r--
    UNICODE_NAME: Entry("1001:1001", "644"),
    "nested/a/b/c": Entry("1002:1003", "755", "d"),
    "nested/a/b/c/deep.txt": Entry("1002:1003", "644"),
    "empty": Entry("0:0", "755", "d"),
    "old-mtime.txt": Entry("0:0", "644"),
    "big/random.bin": Entry("0:0", "644"),
}
HARDLINK_PAIR = ("links/original.txt", "links/same.txt")
SYMLINK = ("links/symlink.txt", "original.txt")
XATTR = ("meta/tagged.txt", "user.comment", "pojemnik sample")
ACL = ("acl/with-acl.txt", "user:1002:r--")
OLD_MTIME = ("old-mtime.txt", 1577934245)  # 2020-01-02 03:04:05 UTC
BIG_FILE = ("big/random.bin", 5 * 1024 * 1024)

# PostgreSQL 15 on old-server, 127.0.0.1:5432 inside the container only.
DATABASE = "app"  # owner role `app`
TABLE_ROWS = {"notes": 1000, "tags": 250}
# Same value before a dump and after a restore (deterministic data):
NOTES_DIGEST_SQL = ("SELECT md5(string_agg(id || '|' || title || '|' || body || '|' || "
                    "extract(epoch FROM created_at), ',' ORDER BY id)) FROM notes")
