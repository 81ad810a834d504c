#!/usr/bin/env bash
# Regenerates the Go code of Kiln's own protos (proto/**/*.proto). The
# generator versions are pinned so that the committed output is reproducible.
#   scripts/genproto.sh          rewrite the generated files in proto/
#   scripts/genproto.sh --check  change nothing; fail if they are stale
set -euo pipefail
cd "$(dirname "$0")/.."

bin="$(go env GOPATH)/bin"
want_go=v1.36.11
want_grpc=v1.5.1
if ! "$bin/protoc-gen-go" --version 2>/dev/null | grep -q "$want_go"; then
  go install "google.golang.org/protobuf/cmd/protoc-gen-go@$want_go"
fi
if ! "$bin/protoc-gen-go-grpc" --version 2>/dev/null | grep -q "${want_grpc#v}"; then
  go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$want_grpc"
fi
command -v protoc >/dev/null || { echo "protoc missing: run scripts/install-deps.sh" >&2; exit 1; }

generate() {
  find proto -name '*.proto' -print0 | xargs -0 \
    protoc -I proto \
      --plugin=protoc-gen-go="$bin/protoc-gen-go" \
      --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
      --go_out="$1" --go_opt=paths=source_relative \
      --go-grpc_out="$1" --go-grpc_opt=paths=source_relative
}

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  stale=0
  while IFS= read -r -d '' f; do
    diff -u "proto/${f#"$tmp"/}" "$f" || stale=1
  done < <(find "$tmp" -name '*.go' -print0)
  if [ "$stale" -ne 0 ]; then
    echo "Generated proto code is stale: run scripts/genproto.sh (make proto) and commit it." >&2
    exit 1
  fi
  echo "Generated proto code is up to date."
  exit 0
fi

generate proto
