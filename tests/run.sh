#!/usr/bin/env bash
# Sets up a Debian machine and runs the whole test suite: `bash tests/run.sh`.
# The IMAP tests need Debian's dovecot-imapd, installed here when missing.
# The SQL step tests and the PostgreSQL store need a PostgreSQL server: the one on
# 127.0.0.1:5432 (database `test`) when it answers, else one installed from Debian's packages
# here. The tests create and drop databases of their own on it (psql and pg_dump are used).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup-debian.sh
# The IMAP tests start their own Dovecot (Debian's dovecot-imapd) on a loopback port, with a
# certificate openssl makes for the TLS tests.
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
if ! command -v dovecot >/dev/null || ! command -v openssl >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dovecot-imapd openssl >/dev/null
fi
# The unit file's test asks systemd-analyze (Debian's systemd package) how exposed it is.
if ! command -v systemd-analyze >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq systemd >/dev/null
fi
# The browser tests drive Debian's Chromium through its WebDriver (chromium-driver).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# The Office tests compare clerk's text with docx2txt's and odt2txt's (Debian's packages).
if ! command -v docx2txt >/dev/null || ! command -v odt2txt >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docx2txt odt2txt >/dev/null
fi
# Office files are drawn for agents by LibreOffice (Writer, Calc, Impress, without their GUIs);
# the tests also use it as the producer and the oracle of those pages.
if ! command -v soffice >/dev/null || [ ! -e /usr/lib/libreoffice/program/libsdlo.so ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui >/dev/null
fi
if ! command -v psql >/dev/null || ! command -v pg_dump >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-client >/dev/null
fi
if [ -z "${CLERK_TEST_POSTGRES:-}" ]; then
  if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export CLERK_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test
  else
    echo "no PostgreSQL on 127.0.0.1:5432: installing one for the tests"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    $sudo service postgresql start
    $sudo su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'clerk'\"" 
    $sudo su postgres -c "createdb test" 2>/dev/null || true
    export CLERK_TEST_POSTGRES=postgres://postgres:clerk@127.0.0.1:5432/test
  fi
fi
cargo test --locked "$@"
# The benchmarks are run by their own commands (docs/benchmarks.md); here they are only built, so
# a change that breaks one is seen now, not when someone next measures.
cargo test --locked --benches --no-run
# The same integration suite again with every daemon storing in PostgreSQL (a database of its
# own on that server) instead of SQLite.
CLERK_TEST_STORE=postgres cargo test --locked --tests "$@"
