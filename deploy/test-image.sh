#!/usr/bin/env bash
# Builds deploy/Containerfile on a machine that cannot pull from docker.io and
# checks the image: `stampede version`, the non-root user, tini as PID 1
# forwarding SIGTERM, and a short `stampede run` against the demo target.
#
# The Containerfile's base images are build arguments; this script makes
# local stand-ins for them instead of pulling the official ones:
#   - debian:bookworm-slim: a minbase bookworm root file system made by
#     mmdebstrap from deb.debian.org, imported with buildah;
#   - the Rust build stage: not needed, the image is built with
#     BINARY=prebuilt from a `cargo build --release` of this checkout (the
#     same binary the build stage would compile; the host must be bookworm
#     or have an older glibc).
# Then it builds the real Containerfile with `buildah bud` and runs the image
# with podman. Everything it starts listens on loopback only and is stopped
# by the script; nothing it sends leaves 127.0.0.1.
#
# Needs root, buildah, podman and mmdebstrap (apt-get install buildah podman
# mmdebstrap). Not part of the CI suite (minutes, and needs those tools).
#
#   deploy/test-image.sh            # build what is missing, then check
#   REBUILD=1 deploy/test-image.sh  # remake the stand-in base image too
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${STAMPEDE_IMAGE_WORK:-/var/tmp/stampede-image}
slim=localhost/stampede-standin/debian:bookworm-slim
image=localhost/stampede:test
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$work"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

for tool in buildah podman mmdebstrap cargo curl python3; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done

# The container runtime: the tools' defaults, except on a cgroup v1 (or
# hybrid) host, where crun cannot run and runc can (OCI_RUNTIME overrides).
runtime=${OCI_RUNTIME:-}
if [[ -z $runtime && ! -e /sys/fs/cgroup/cgroup.controllers ]] && command -v runc >/dev/null; then
    runtime=runc
fi
podman=(podman)
bud=(buildah bud)
if [[ -n $runtime ]]; then
    podman+=(--runtime "$runtime")
    bud+=(--runtime "$runtime")
fi
[[ -d /run/systemd/system ]] || podman+=(--cgroup-manager cgroupfs)
# Limits the container may have where raising them is not allowed (podman's
# defaults are far above this machine's); plenty for the short runs below.
limits=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

# 1. The stand-in for docker.io/library/debian:bookworm-slim.
if [[ -n ${REBUILD:-} ]] || ! buildah inspect --type image "$slim" >/dev/null 2>&1; then
    step "stand-in $slim (mmdebstrap --variant=minbase bookworm)"
    mmdebstrap --variant=minbase bookworm "$work/bookworm-minbase.tar" "$mirror"
    ctr=$(buildah from scratch)
    buildah add "$ctr" "$work/bookworm-minbase.tar" /
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd bash "$ctr"
    buildah commit --rm "$ctr" "$slim"
    rm -f "$work/bookworm-minbase.tar"
fi

# 2. The binary the build stage would compile.
step "cargo build --release -p stampede --bin stampede"
(cd "$repo" && cargo build --release --locked -p stampede --bin stampede)
mkdir -p "$repo/deploy/prebuilt"
cp "$repo/target/release/stampede" "$repo/deploy/prebuilt/stampede"
trap 'rm -rf "$repo/deploy/prebuilt"' EXIT

# 3. The real Containerfile. `--network host` lets its apt-get reach the
# Debian mirror through the host's network configuration.
step "buildah bud -f deploy/Containerfile"
"${bud[@]}" --pull=never --network host -f "$repo/deploy/Containerfile" \
    --build-arg RUNTIME_IMAGE="$slim" --build-arg BINARY=prebuilt \
    -t "$image" "$repo"

# 4. Checks.
step "stampede version"
version=$("${podman[@]}" run "${limits[@]}" --rm --network none "$image" version)
echo "$version"
want=$("$repo/target/release/stampede" version)
[[ $version == "$want" ]] || fail "the image says '$version', the binary '$want'"

step "non-root user"
user=$("${podman[@]}" run "${limits[@]}" --rm --network none --entrypoint id "$image")
echo "$user"
[[ $user == "uid=10001(stampede) gid=10001(stampede) groups=10001(stampede)" ]] \
    || fail "the image runs as '$user'"
entry=$("${podman[@]}" image inspect --format '{{json .Config.Entrypoint}}' "$image")
echo "entrypoint $entry"
[[ $entry == '["/usr/bin/tini","--","/usr/local/bin/stampede"]' ]] || fail "entrypoint $entry"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
target=stampede-test-target-$$
runner=stampede-test-run-$$
cleanup() {
    "${podman[@]}" rm -f -t 0 "$target" "$runner" >/dev/null 2>&1 || true
    rm -rf "$repo/deploy/prebuilt"
}
trap cleanup EXIT

# Polls a command for up to $1 seconds.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

step "demo target in the image on 127.0.0.1:$port"
"${podman[@]}" run "${limits[@]}" -d --name "$target" --network host "$image" \
    target --listen "127.0.0.1:$port" >/dev/null
wait_for 20 curl -sf "http://127.0.0.1:$port/" || fail "the target did not answer"

step "stampede run: 5 VUs, 3 s, against the target"
mkdir -p "$work/script"
cat >"$work/script/test.js" <<'EOF'
import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { vus: 5, duration: '3s', thresholds: { checks: ['rate==1'] } };
export default function () {
  sleep(0.1); // about 50 requests/s in all
  check(http.get(`${__ENV.TARGET}/`), { 'status 200': (r) => r.status === 200 });
}
EOF
"${podman[@]}" run "${limits[@]}" --rm --network host -v "$work/script:/scripts:ro,Z" "$image" \
    run --quiet --address "" -e "TARGET=http://127.0.0.1:$port" /scripts/test.js | tee "$work/run.txt"
grep -Eq 'checks_succeeded[. ]*: 100\.00%' "$work/run.txt" || fail "the run's checks did not all pass"
grep -Eq 'http_reqs[. ]*: [1-9]' "$work/run.txt" || fail "the run made no requests"

step "tini is PID 1 and forwards SIGTERM to a 60 s run"
sed -e "s/duration: '3s'/duration: '60s'/" "$work/script/test.js" >"$work/script/long.js"
"${podman[@]}" run "${limits[@]}" -d --name "$runner" --network host -v "$work/script:/scripts:ro,Z" "$image" \
    run --address "" -e "TARGET=http://127.0.0.1:$port" /scripts/long.js >/dev/null
started() { "${podman[@]}" logs "$runner" 2>&1 | grep -q '^running ('; }
running() { [[ $("${podman[@]}" inspect -f '{{.State.Running}}' "$runner") == true ]]; }
wait_for 30 started || fail "the long run did not start"
pid1=$("${podman[@]}" exec "$runner" cat /proc/1/cmdline | tr '\0' ' ')
echo "PID 1: $pid1"
[[ $pid1 == "/usr/bin/tini -- /usr/local/bin/stampede run "* ]] || fail "PID 1 is '$pid1'"
"${podman[@]}" kill --signal TERM "$runner" >/dev/null
wait_for 30 eval '! running' || fail "the run did not end within 30 s of SIGTERM"
code=$("${podman[@]}" inspect -f '{{.State.ExitCode}}' "$runner")
"${podman[@]}" logs "$runner" >"$work/term.txt" 2>&1
grep -E 'Stopping the test run gracefully|http_reqs' "$work/term.txt" || true
grep -q 'Stopping the test run gracefully' "$work/term.txt" \
    || fail "stampede did not see the SIGTERM (exit $code)"
grep -q 'http_reqs' "$work/term.txt" || fail "no summary after SIGTERM (exit $code)"
echo "exit code after SIGTERM: $code"

step "all checks passed: $image"
