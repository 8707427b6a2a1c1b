#!/usr/bin/env bash
# check-image.sh IMAGE VERSION COMMIT: checks the image that `make image` built, without running it (containers
# cannot run on our machines): its configuration (user 65532, the exec-form entrypoint, the OCI labels stamped with
# VERSION and COMMIT) and its files (the static artprune binary and the CA bundle, and nothing else: no shell).
# CONTAINER_CMD is the container tool with its global flags ("podman --storage-driver vfs", "docker").
set -euo pipefail
image=${1:?usage: check-image.sh IMAGE VERSION COMMIT}
version=${2:?usage: check-image.sh IMAGE VERSION COMMIT}
commit=${3:?usage: check-image.sh IMAGE VERSION COMMIT}
read -r -a ctr <<<"${CONTAINER_CMD:-podman --storage-driver vfs}"
fail=0
bad() { echo "image check: $*" >&2; fail=1; }

config=$("${ctr[@]}" image inspect "$image" | jq '.[0].Config')
want() { # want JQ-EXPR EXPECTED WHAT
  local got
  got=$(jq -c "$1" <<<"$config")
  [ "$got" = "$2" ] || bad "$3: got $got, want $2"
}
want '.User' '"65532:65532"' 'user'
want '.Entrypoint' '["/usr/local/bin/artprune"]' 'entrypoint'
want '.Cmd' '["--help"]' 'command'
want '.Labels["org.opencontainers.image.title"]' '"artprune"' 'title label'
want '.Labels["org.opencontainers.image.version"]' "\"$version\"" 'version label'
want '.Labels["org.opencontainers.image.revision"]' "\"$commit\"" 'revision label'

tmp=$(mktemp -d)
cid=$("${ctr[@]}" create "$image")
trap '"${ctr[@]}" rm -f "$cid" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
"${ctr[@]}" export "$cid" >"$tmp/fs.tar"
files=$(tar -tf "$tmp/fs.tar" | sed 's#^\./##; s#/$##' | grep -v '^$' | sort)
want_files=$(printf '%s\n' etc etc/ssl etc/ssl/certs etc/ssl/certs/ca-certificates.crt usr usr/local usr/local/bin usr/local/bin/artprune | sort)
# Container tools add mount points of their own to an exported container; they are empty.
extra=$(comm -23 <(echo "$files") <(echo "$want_files") | grep -Ev '^(dev|proc|sys|run|etc/hosts|etc/hostname|etc/resolv.conf|run/.containerenv|\.dockerenv)(/|$)' || true)
missing=$(comm -13 <(echo "$files") <(echo "$want_files") || true)
[ -z "$extra" ] || bad "unexpected files in the image: $(echo $extra)"
[ -z "$missing" ] || bad "files missing from the image: $(echo $missing)"
for sh in bin/sh bin/bash bin/busybox; do
  if grep -qx "$sh" <<<"$files"; then bad "the image holds a shell: /$sh"; fi
done

tar -xf "$tmp/fs.tar" -C "$tmp" usr/local/bin/artprune
settings=$(go version -m "$tmp/usr/local/bin/artprune")
grep -q 'CGO_ENABLED=0' <<<"$settings" || bad "the binary was not built with CGO_ENABLED=0 (it would need a C library that the image lacks)"
"$tmp/usr/local/bin/artprune" version | grep -q -- "$version" || bad "artprune version does not print $version"

if [ "$fail" -ne 0 ]; then
  exit 1
fi
echo "image check: $image ok (user 65532, entrypoint, labels, static binary and CA bundle only, no shell)"
