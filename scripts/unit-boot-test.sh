#!/usr/bin/env bash
# Runs deploy/jacket.service under a real systemd: a minimal Debian bookworm with systemd (debootstrap, cached) is
# booted with systemd-nspawn (private network, the root file system volatile), with this checkout at /opt/jacket and
# the unit, the sysusers file and an environment file installed as README "Deploying Jacket" says. A probe unit inside
# starts Jacket, takes the generated token from the journal, uploads a cover, stops the service with an upload in
# flight, and starts it again; this script checks what it found.
#
#   scripts/unit-boot-test.sh        (root; Debian packages systemd-container debootstrap; run by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${JACKET_IMAGE_TEST_CACHE:-/var/cache/jacket-image-test}
NODE_BIN=$REPO/node_modules/.bin/node

fail() { printf 'unit boot test: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root"
for tool in systemd-nspawn debootstrap; do command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (Debian packages: systemd-container debootstrap)"; done
[ -x "$NODE_BIN" ] || fail "node_modules has no Node 24: run npm ci"
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock 9

ROOTFS=$CACHE/bookworm-systemd
if [ ! -x "$ROOTFS/lib/systemd/systemd" ]; then
  if [ ! -d "$CACHE/bookworm" ]; then
    rm -rf "$CACHE/bookworm.partial"
    debootstrap --variant=minbase bookworm "$CACHE/bookworm.partial" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap failed"; }
    mv "$CACHE/bookworm.partial" "$CACHE/bookworm"
  fi
  rm -rf "$ROOTFS.partial"
  cp -a "$CACHE/bookworm" "$ROOTFS.partial"
  chroot "$ROOTFS.partial" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd systemd-sysv curl >/dev/null && apt-get clean' \
    || fail "installing systemd in the test root failed"
  mv "$ROOTFS.partial" "$ROOTFS"
fi

WORK=$(mktemp -d /tmp/jacket-unit-boot.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/probe" "$WORK/units/multi-user.target.wants"
# The settings file an operator writes (README "Deploying Jacket").
printf 'HOST=127.0.0.1\nPORT=8080\nLOG_LEVEL=info\n' >"$WORK/jacket.env"
# A cover, and a bigger one that takes a few seconds to send at the probe's limited rate.
"$NODE_BIN" --input-type=module -e "
  import sharp from 'sharp';
  import { randomBytes } from 'node:crypto';
  const noise = (size) => sharp(randomBytes(size * size * 3), { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 0 }).toFile('$WORK/probe/' + size + '.png');
  await noise(120); await noise(260);
"

cat >"$WORK/probe/probe.sh" <<'EOF'
#!/bin/sh
# Inside the booted test root: each finding is one "name value" line in /probe/result.
set -u
out=/probe/result
: >"$out"
say() { echo "$1 $2" >>"$out"; }
ready() { for _ in $(seq 1 100); do curl -fs -o /dev/null http://127.0.0.1:8080/readyz && return 0; sleep 0.2; done; return 1; }

systemctl start jacket
ready && say ready yes || say ready no
pid=$(systemctl show -p MainPID --value jacket)
say main-exe "$(readlink /proc/$pid/exe)"
say main-user "$(stat -c %U /proc/$pid)"
say no-new-privs "$(awk '/^NoNewPrivs/ {print $2}' /proc/$pid/status)"
say seccomp "$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status)"
say data-dir "$(tr '\0' '\n' </proc/$pid/environ | sed -n 's/^JACKET_DATA_DIR=//p')"
# README: the token generated on the first start is in the journal (the line after the announcement; the journal
# keeps no empty lines).
token=$(journalctl -u jacket -o cat | awk '/shown only this once/ { found = 1; next } found && NF { print $1; exit }')
[ -n "$token" ] && say token yes || say token no
first=$(curl -fsS -H "Authorization: Bearer $token" -F data=@/probe/120.png http://127.0.0.1:8080/b/upload2 | sed -n 's/.*"id": *\([0-9]*\).*/\1/p')
say first-upload "${first:-none}"
say served "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080/b/id/$first-M.jpg?default=false")"
say catalogue-owner "$(stat -c %U /var/lib/jacket/catalogue.sqlite 2>/dev/null || echo missing)"
say writes-outside "$(su -s /bin/sh jacket -c 'touch /opt/jacket/x' 2>/dev/null && echo yes || echo no)"

# systemctl stop with an upload in flight: about 4 s of sending at 50 kB/s.
curl -sS --limit-rate 50k -o /probe/inflight.json -w '%{http_code}' -H "Authorization: Bearer $token" -H 'X-Request-Id: inflight-upload' \
  -F data=@/probe/260.png http://127.0.0.1:8080/b/upload2 >/probe/inflight.status 2>/probe/inflight.err &
curl_pid=$!
sleep 1
systemctl stop jacket
wait $curl_pid
say inflight-status "$(cat /probe/inflight.status)"
say stop-result "$(systemctl show -p Result --value jacket)"
say stop-exit "$(systemctl show -p ExecMainStatus --value jacket)"
# The server logged the in-flight upload's completion after the shutdown began.
say inflight-after-shutdown "$(journalctl -u jacket -o cat | awk '/"reqId":"inflight-upload"/ && /incoming request/ && !s { started = 1 } /shutting down/ { s = 1 } /shut down cleanly/ { exit } s && started && /"reqId":"inflight-upload"/ && /"statusCode":200/ { done = 1 } END { print done ? "yes" : "no" }')"
inflight=$(sed -n 's/.*"id": *\([0-9]*\).*/\1/p' /probe/inflight.json)

systemctl start jacket
ready && say ready-again yes || say ready-again no
say served-again "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080/b/id/$first.jpg?default=false") $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080/b/id/${inflight:-0}.jpg?default=false")"
say tokens-generated "$(journalctl -u jacket -o cat | grep -c 'shown only this once')"
systemctl stop jacket
say done yes
journalctl -u jacket -o cat >/probe/journal.txt
EOF
chmod +x "$WORK/probe/probe.sh"

cat >"$WORK/units/jacket-probe.service" <<'EOF'
[Unit]
Description=Probe deploy/jacket.service
After=multi-user.target systemd-sysusers.service
[Service]
Type=oneshot
ExecStart=/probe/probe.sh
ExecStopPost=/bin/systemctl --no-block poweroff
EOF
ln -s ../jacket-probe.service "$WORK/units/multi-user.target.wants/jacket-probe.service"

started=$(date +%s)
timeout 180 systemd-nspawn -q --register=no --keep-unit --private-network --volatile=overlay -D "$ROOTFS" \
  --bind-ro="$REPO:/opt/jacket" \
  --bind-ro="$REPO/deploy/jacket.service:/etc/systemd/system/jacket.service" \
  --bind-ro="$REPO/deploy/jacket.sysusers:/etc/sysusers.d/jacket.conf" \
  --bind-ro="$WORK/jacket.env:/etc/jacket/jacket.env" \
  --bind-ro="$WORK/units:/usr/local/lib/systemd/system" \
  --bind="$WORK/probe:/probe" \
  --boot --console=pipe >"$WORK/console.log" 2>&1 || { cat "$WORK/console.log" >&2; fail "the test root did not boot and power off"; }
echo "booted, probed and powered off in $(($(date +%s) - started)) s"

[ -f "$WORK/probe/result" ] || fail "the probe left no result"
cat "$WORK/probe/result"
expect() {
  local got
  got=$(sed -n "s/^$1 //p" "$WORK/probe/result")
  [ "$got" = "$2" ] || { sed -n '1,200p' "$WORK/probe/journal.txt" >&2 2>/dev/null || true; fail "$1: expected '$2', got '$got'"; }
}
expect ready yes
expect main-exe /opt/jacket/node_modules/node/bin/node
expect main-user jacket
expect no-new-privs 1
expect seccomp 2
expect data-dir /var/lib/jacket
expect token yes
grep -Eq '^first-upload [0-9]+$' "$WORK/probe/result" || fail "the first upload got no id"
expect served 200
expect catalogue-owner jacket
expect writes-outside no
expect inflight-status 200
expect stop-result success
expect stop-exit 0
expect inflight-after-shutdown yes
expect ready-again yes
expect served-again "200 200"
expect tokens-generated 1
expect done yes
echo "unit boot test: deploy/jacket.service runs, stops cleanly with an upload in flight, and keeps its data"
