#!/usr/bin/env bash
# The Debian package as an admin installs it, in a clean Debian root (debootstrap; no container
# runtime runs here, so the root is entered with chroot and the service started as its unit says):
# the package builds (cargo deb), installs with apt and its dependencies, makes the user and the
# folders; the unit's ExecStart, run as the unit's user, starts the daemon on the installed
# settings; /readyz answers; `clerk users add admin` run by root from another folder finds the
# installed settings and store (and leaves every file the service's); an example definition
# copied into place and a reload make a sample invoice go through; the admin signs in.
# Run as root: `bash tests/install.sh`. Downloads Debian's packages (a base system once, kept in
# /var/tmp/clerk-debootstrap/base.tar; clerk's dependencies each time).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests/install.sh needs root (debootstrap, chroot)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap >/dev/null; }
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
bash tests/setup-debian.sh

echo "== the package"
cargo build --release --locked --bins
cargo deb --no-build --output target/debian/clerk.deb >/dev/null
dpkg-deb --info target/debian/clerk.deb | grep -E "Package|Depends|Recommends"

echo "== a clean Debian root"
cache=/var/tmp/clerk-debootstrap
mkdir -p "$cache"
if [ ! -s "$cache/base.tar" ]; then
  rm -rf "$cache/base"
  debootstrap --variant=minbase bookworm "$cache/base" http://deb.debian.org/debian >/dev/null
  tar -C "$cache/base" -cf "$cache/base.tar.part" . && mv "$cache/base.tar.part" "$cache/base.tar"
  rm -rf "$cache/base"
fi
root=$(mktemp -d /var/tmp/clerk-root.XXXXXX)
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  for m in proc dev/pts dev; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$cache/base.tar"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

echo "== apt install ./clerk.deb"
cp target/debian/clerk.deb "$root/tmp/clerk.deb"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends /tmp/clerk.deb >/dev/null
in_root id clerk
test "$(in_root stat -c '%U:%G %a' /var/lib/clerk)" = "clerk:clerk 750"
test "$(in_root stat -c '%U:%G %a' /etc/clerk/clerk.toml)" = "root:clerk 640"
test -z "$(ls -A "$root/etc/clerk/definitions")" || { echo "the definitions folder must start empty" >&2; exit 1; }
test -s "$root/usr/share/doc/clerk/examples/definitions/invoice.yml"

echo "== the service, as its unit starts it"
unit="$root/lib/systemd/system/clerk.service"
[ -e "$unit" ] || unit="$root/usr/lib/systemd/system/clerk.service"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
port=7420
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  # Something here has the package's port already: the admin's way, a setting.
  port=17420
  sed -i "s/127.0.0.1:7420/127.0.0.1:$port/" "$root/etc/clerk/clerk.toml"
fi
chroot --userspec="$user:$user" "$root" env -i PATH=/usr/bin:/bin HOME="$workdir" sh -c "cd $workdir && exec $exec_start" \
  >"$root/tmp/clerk.log" 2>&1 &
daemon=$!
ready=""
for _ in $(seq 1 120); do
  if ready=$(curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null); then break; fi
  kill -0 "$daemon" 2>/dev/null || { cat "$root/tmp/clerk.log"; echo "the daemon stopped" >&2; exit 1; }
  sleep 0.5
done
echo "readyz: $ready"
[[ "$ready" == ready:* ]] || { cat "$root/tmp/clerk.log"; exit 1; }

echo "== the first admin, by root from another folder"
password=$(in_root sh -c 'cd /root && printf "an admin password 2026" | clerk users add admin --role admin --password-stdin')
echo "$password"
leftover=$(in_root find /var/lib/clerk ! -user clerk -print)
[ -z "$leftover" ] || { echo "files the service cannot write: $leftover" >&2; exit 1; }

echo "== a document through"
cp "$root/usr/share/doc/clerk/examples/definitions/invoice.yml" "$root/etc/clerk/definitions/"
kill -HUP "$daemon"
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/readyz" | grep -q "ready: 1 document types" && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz"
cp samples/invoice-acme.pdf "$root/tmp/invoice-acme.pdf"
in_root install -o clerk -g clerk -m 0640 /tmp/invoice-acme.pdf /var/lib/clerk/inbox/invoice-acme.pdf
status=""
for _ in $(seq 1 120); do
  status=$(in_root sh -c 'cd / && clerk documents list' | awk '$NF == "invoice-acme.pdf" {print $2, $3}')
  [[ "$status" == "recognised invoice" ]] && break
  sleep 0.5
done
echo "invoice-acme.pdf: $status"
[[ "$status" == "recognised invoice" ]] || { in_root clerk documents list; cat "$root/tmp/clerk.log" | tail -20; exit 1; }
signed=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"name":"admin","password":"an admin password 2026"}' "http://127.0.0.1:$port/api/v1/session")
[ "$signed" = 200 ] || { echo "sign-in answered $signed" >&2; exit 1; }
echo "install: 1 passed, 0 failed"
