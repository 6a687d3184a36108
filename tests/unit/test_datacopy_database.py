"""The row digest data.copy verifies a restored database with, and the names it puts in
SQL (pure)."""

from __future__ import annotations

import hashlib
import random
import tracemalloc

import pytest

from pojemnik.operations.data._database import MODULUS, RowDigest, table_stats
from pojemnik.operations.data._restore import quote_identifier, restorer_of

ROWS = [b"1\tnote 1\t2024-01-01 00:01:00+00", b"2\tza\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87\t\\N",
        b"3\ttab\\tand\\nnewline, escaped by COPY\t2024-01-01 00:03:00+00", b"", b"2"]


def digest_of(chunks: list[bytes]) -> tuple[int, str]:
    digest = RowDigest()
    for chunk in chunks:
        digest.feed(chunk)
    return digest.result()


def in_pieces(data: bytes, rng: random.Random) -> list[bytes]:
    """`data` cut at random places: mid-row, at a newline, into single bytes."""
    pieces, start = [], 0
    while start < len(data):
        size = rng.choice([1, 2, 7, 40, 1000])
        pieces.append(data[start:start + size])
        start += size
    return pieces


def test_the_digest_is_the_sum_of_each_rows_sha256() -> None:
    """An independent computation of what both servers' digests must equal."""
    expected = sum(int.from_bytes(hashlib.sha256(row).digest()) for row in ROWS) % MODULUS
    assert digest_of([b"\n".join(ROWS) + b"\n"]) == (len(ROWS), f"{expected:064x}")


def test_row_order_and_chunk_boundaries_do_not_matter() -> None:
    rng = random.Random(8)
    expected = digest_of([b"".join(row + b"\n" for row in ROWS)])
    for _ in range(200):
        rows = ROWS[:]
        rng.shuffle(rows)
        assert digest_of(in_pieces(b"".join(row + b"\n" for row in rows), rng)) == expected


def test_a_last_row_without_a_newline_counts() -> None:
    assert digest_of([b"a\nb"]) == digest_of([b"a\n", b"b\n"])
    assert digest_of([]) == (0, "0" * 64)


def test_a_changed_missing_or_repeated_row_changes_the_digest() -> None:
    base = digest_of([b"a\nb\nc\n"])
    for other in (b"a\nb\nC\n", b"a\nb\n", b"a\nb\nc\nc\n", b"a\nb\nc\n\n"):
        assert digest_of([other]) != base
    # Sums, not XOR: twice the same row is not the same as never.
    assert digest_of([b"a\na\nb\n"])[1] != digest_of([b"b\n"])[1]
    assert digest_of([b"a\na\nb\n"]) != digest_of([b"a\nb\nb\n"])


def test_a_huge_row_is_hashed_as_it_streams_not_held() -> None:
    """One 64 MiB value (a table string_agg could not take at its 1 GB limit is made of
    such rows): memory stays at about a chunk, and the digest is the row's own."""
    chunk, count = b"x" * 65536, 1024
    digest = RowDigest()
    tracemalloc.start()
    try:
        for _ in range(count):
            digest.feed(chunk)
        digest.feed(b"\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(chunk)
    whole = hashlib.sha256()
    for _ in range(count):
        whole.update(chunk)
    assert digest.result() == (1, f"{int.from_bytes(whole.digest()):064x}")


def test_table_names_with_spaces_are_read_whole() -> None:
    asked: list[str] = []

    def read(copy: str, output: object) -> None:
        asked.append(copy)
        assert callable(output)
        output(b"1\n")

    stats = table_stats('public."Faktury 2019"\npublic.notes\n', read)
    assert asked == ['COPY public."Faktury 2019" TO STDOUT', "COPY public.notes TO STDOUT"]
    assert list(stats) == ['public."Faktury 2019"', "public.notes"]


def test_an_owner_name_is_quoted_as_an_identifier() -> None:
    assert quote_identifier("app") == '"app"'
    assert quote_identifier('we"ird') == '"we""ird"'
    assert quote_identifier('x"; CREATE ROLE evil SUPERUSER; --') == \
        '"x""; CREATE ROLE evil SUPERUSER; --"'
    assert quote_identifier("Zażółć\nname ") == '"Zażółć\nname "'
    with pytest.raises(ValueError, match="NUL"):
        quote_identifier("a\0b")


def test_the_restoring_role_is_the_databases_own_and_fits_a_name() -> None:
    assert restorer_of("app") == "pojemnik_restore_app"
    assert len(restorer_of("a" * 36).encode()) <= 63
