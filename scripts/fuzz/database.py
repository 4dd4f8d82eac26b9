"""The fuzzing run's own PostgreSQL database, beside the one DATABASE_URL names.

database.py name URL       print URL with the database name suffixed _fuzz
database.py recreate URL   drop the database URL names (if any) and create it empty
"""

import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def fuzz_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "safeguarding"
    return urlunsplit(parts._replace(path=f"/{name}_fuzz"))


def recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.endswith("_fuzz"):
        sys.exit(f"refusing to drop {name!r}: only a database whose name ends in _fuzz")
    server = urlunsplit(parts._replace(path="/postgres", query=""))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if __name__ == "__main__":
    command, url = sys.argv[1:3]
    if command == "name":
        print(fuzz_url(url))
    elif command == "recreate":
        recreate(url)
    else:
        sys.exit(__doc__)
