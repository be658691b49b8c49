#!/usr/bin/env bash
# Data-parallel training across two "hosts" on one machine: two network namespaces (h1, h2) joined by a
# veth pair, each with its own hostname, Open MPI's remote daemon started in h2 through a launcher
# agent that runs `ip netns exec` instead of ssh, and MPI restricted to TCP over the veth — so the
# multi-machine path (no shared memory between the ranks; gradients through MPI all-reduce over TCP)
# is exercised. Compares the run's losses with one process accumulating the same global batch.
#
#   sudo Scripts/mpi_two_hosts.sh [gpt binary]     (needs root, iproute2, util-linux's unshare, Open MPI)
#
# Prints the largest relative difference between the two runs' losses (and fails above 1e-5), then
# `gpt bench train --preset gpt2-small` over the two hosts (about a minute more).
#
# Not part of CI (it changes the machine's network namespaces); it removes what it made on exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
gpt="$(realpath "${1:-$root/.build/release/gpt}")"
work="$(mktemp -d /tmp/gpt-two-hosts.XXXXXX)"
[ "$(id -u)" -eq 0 ] || { echo "error: run as root (it creates network namespaces)" >&2; exit 64; }
for tool in ip unshare mpirun; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install iproute2 util-linux openmpi-bin)" >&2; exit 1; }
done

cleanup() {
    ip netns del gpt-h1 2>/dev/null || true
    ip netns del gpt-h2 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add gpt-h1
ip netns add gpt-h2
ip link add gpt-veth1 type veth peer name gpt-veth2
ip link set gpt-veth1 netns gpt-h1
ip link set gpt-veth2 netns gpt-h2
ip -n gpt-h1 addr add 10.77.0.1/24 dev gpt-veth1
ip -n gpt-h2 addr add 10.77.0.2/24 dev gpt-veth2
for ns in gpt-h1 gpt-h2; do
    ip -n "$ns" link set lo up
done
ip -n gpt-h1 link set gpt-veth1 up
ip -n gpt-h2 link set gpt-veth2 up

# Open MPI's launcher agent ("ssh host command…"): host 10.77.0.2 is namespace gpt-h2, named host2.
cat > "$work/agent" <<'AGENT'
#!/usr/bin/env bash
host="$1"; shift
while [ "${1:-}" != "${1#-}" ]; do shift; done   # options meant for ssh
case "$host" in
    10.77.0.2|host2) exec ip netns exec gpt-h2 unshare --uts /bin/sh -c "hostname host2; $*" ;;
    *) exec /bin/sh -c "$*" ;;
esac
AGENT
chmod +x "$work/agent"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$work/hosts"

small=(--layers 2 --heads 2 --embedding-size 64 --context-length 64 --batch-size 8 --max-iters 200
       --eval-interval 100 --eval-iters 8 --seed 7 --threads 1)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(--hostfile "$work/hosts" -np 2 --map-by node --bind-to none
     --mca plm_rsh_agent "$work/agent" --mca btl tcp,self
     --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24)

echo "two hosts (namespaces gpt-h1, gpt-h2 over a veth pair):" >&2
ip netns exec gpt-h1 unshare --uts /bin/sh -c "hostname host1; exec mpirun $(printf '%q ' "${mpi[@]}") \
    $(printf '%q ' "$gpt") train --out $work/two-hosts --log $work/two-hosts.jsonl $(printf '%q ' "${small[@]}")" \
    2> "$work/two-hosts.err" | tail -2
grep "data-parallel" "$work/two-hosts.err" >&2
echo "one process, --grad-accum 2:" >&2
"$gpt" train --out "$work/one" --log "$work/one.jsonl" "${small[@]}" --grad-accum 2 2>/dev/null | tail -1

# Losses side by side: the largest relative difference.
python3 - "$work/one.jsonl" "$work/two-hosts.jsonl" <<'PY'
import json, sys
def losses(path):
    out = []
    for line in open(path):
        record = json.loads(line)
        out += [record[k] for k in ("loss", "val_loss") if k in record]
    return out
a, b = losses(sys.argv[1]), losses(sys.argv[2])
assert len(a) == len(b) and a, f"{len(a)} and {len(b)} losses"
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
print(f"{len(a)} losses; largest relative difference {worst:.2e} ({'within' if worst <= 1e-5 else 'OUTSIDE'} 1e-5)")
sys.exit(0 if worst <= 1e-5 else 1)
PY

# The same two hosts on GPT-2-small shapes: tokens/s, the step's breakdown and the exchange over TCP.
echo "gpt bench train --preset gpt2-small over the two hosts:" >&2
ip netns exec gpt-h1 unshare --uts /bin/sh -c "hostname host1; exec mpirun $(printf '%q ' "${mpi[@]}") \
    $(printf '%q ' "$gpt") bench train --preset gpt2-small --steps 3 --warmup 1 --threads 1" 2>/dev/null \
    | grep -E "tokens/s|ranks:|exchange:|step:"
rm -rf "$work"
