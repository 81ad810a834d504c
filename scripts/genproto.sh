#!/usr/bin/env bash
# Regenerates the Go code of Kiln's own protos (proto/**/*.proto). The
# generator versions are pinned so that the committed output is reproducible.
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

find proto -name '*.proto' -print0 | xargs -0 \
  protoc -I proto \
    --plugin=protoc-gen-go="$bin/protoc-gen-go" \
    --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
    --go_out=proto --go_opt=paths=source_relative \
    --go-grpc_out=proto --go-grpc_opt=paths=source_relative
