#!/usr/bin/env bash
# The workspace's `rust-version` is a true bound, checked without a toolchain of that version
# (none can be installed here: rustup's dist server is not a package registry, and Debian's
# rustc is 1.63). What the code itself uses is pinned by hand and by clippy:
#   - language: let-chains (`if let .. && let ..`, edition 2024) are stable since 1.88;
#   - library: clippy's `incompatible_msrv` lint (on in `cargo clippy -D warnings`) refuses any
#     std API newer than `rust-version`.
# This script checks the rest: no crate in the library's dependency graph (every adapter,
# normal and build dependencies) declares a `rust-version` above the workspace's.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$msrv" ] || { echo "no rust-version in Cargo.toml"; exit 1; }

cargo metadata --format-version 1 --features billing/lago,billing/killbill,billing/billabear |
    MSRV="$msrv" python3 -c '
import json, os, sys

def version(v):
    return tuple(int(p) for p in (v or "0").split(".")[:3]) + (0,) * 3

meta = json.load(sys.stdin)
msrv = os.environ["MSRV"]
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = next(p["id"] for p in meta["packages"] if p["name"] == "billing")
seen, stack = set(), [root]
while stack:
    pid = stack.pop()
    if pid in seen:
        continue
    seen.add(pid)
    for dep in nodes[pid]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
            stack.append(dep["pkg"])
deps = seen - set(meta["workspace_members"])
above = sorted(
    (packages[p]["name"], packages[p]["version"], packages[p]["rust_version"])
    for p in deps
    if version(packages[p].get("rust_version"))[:3] > version(msrv)[:3]
)
bound, name = max((version(packages[p].get("rust_version")), packages[p]["name"]) for p in deps)
dotted = ".".join(str(n) for n in bound[:3])
print(f"rust-version {msrv}: {len(deps)} dependencies of the library; the highest bound any of "
      f"them declares is {dotted} ({name})")
if above:
    for name, ver, rv in above:
        print(f"  {name} {ver} needs Rust {rv}")
    sys.exit(1)
'
