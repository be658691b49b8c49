"""Load test for `gpt serve` (a script, not CI): N concurrent clients for a while, a share of them
malformed or disconnecting mid-stream. Passes when no response is a 5xx, every well-formed request
completes (200, whole text or a stream ending in [DONE]) or is refused with 429, and the server's
memory is flat after the first minute (the largest RSS later is within 5% of the RSS at 60 s).
Standard library only.

usage: python3 Scripts/load_test.py --model DIR|FILE.gguf [--clients 64] [--seconds 120] [--bad 0.1]
       [--parallel 16] [--max-queue 32] [--gpt .build/release/gpt]
"""
import argparse
import http.client
import json
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--gpt", default=".build/release/gpt")
parser.add_argument("--clients", type=int, default=64)
parser.add_argument("--seconds", type=float, default=120)
parser.add_argument("--bad", type=float, default=0.1)
parser.add_argument("--parallel", type=int, default=16)
parser.add_argument("--max-queue", type=int, default=32)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

server = subprocess.Popen(
    [args.gpt, "serve", "--model", args.model, "--port", "0", "--parallel", str(args.parallel),
     "--max-queue", str(args.max_queue)],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
port = None
for line in server.stderr:
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if match:
        port = int(match.group(1))
        break
if port is None:
    sys.exit("error: gpt serve did not start")
threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()


def rss_kib():
    with open(f"/proc/{server.pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1])


connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
connection.request("GET", "/v1/models")
meta = json.loads(connection.getresponse().read())["data"][0]["meta"]
context, vocabulary = meta["n_ctx"], meta["n_vocab"]

lock = threading.Lock()
outcomes = Counter()
problems = []
tokens = [0]
deadline = time.monotonic() + args.seconds
memory = []  # (seconds since start, RSS KiB)
started = time.monotonic()


def record(kind, outcome, problem=None):
    with lock:
        outcomes[(kind, outcome)] += 1
        if problem and len(problems) < 20:
            problems.append(f"{kind}: {problem}")


def good_request(rng):
    prompt = [rng.randrange(vocabulary) for _ in range(rng.randint(1, min(16, context // 4)))]
    body = {"prompt": prompt, "max_tokens": rng.randint(4, min(64, context - len(prompt))),
            "temperature": rng.choice([0, 0.8, 1.2]), "seed": rng.randrange(1000), "stream": rng.random() < 0.7}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    response = c.getresponse()
    text = response.read().decode("utf-8", "replace")
    if response.status == 429:
        # As a well-behaved client does: wait as long as Retry-After says.
        time.sleep(float(response.getheader("Retry-After", "1")))
        return record("good", "429")
    if response.status != 200:
        return record("good", f"{response.status}", f"status {response.status}: {text[:200]}")
    if body["stream"]:
        if not text.endswith("data: [DONE]\n\n"):
            return record("good", "broken stream", text[-200:])
        with lock:
            tokens[0] += text.count('"finish_reason":null')
    else:
        with lock:
            tokens[0] += json.loads(text)["usage"]["completion_tokens"]
    record("good", "200")


BAD = [
    ("malformed json", "POST", "/v1/completions", "{not json"),
    ("wrong type", "POST", "/v1/completions", '{"prompt": "a", "temperature": "hot"}'),
    ("out of range", "POST", "/v1/completions", '{"prompt": [1], "max_tokens": 100000000}'),
    ("bad token", "POST", "/v1/completions", '{"prompt": [-5]}'),
    ("unknown route", "POST", "/v1/nothing", "{}"),
    ("bad chat", "POST", "/v1/chat/completions", '{"messages": [{"role": "robot"}]}'),
]


def bad_request(rng):
    if rng.random() < 0.4:
        # Disconnect mid-stream: send a long streaming request, read a little, hang up.
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        body = json.dumps({"prompt": [1, 2, 3], "max_tokens": min(200, context - 3), "stream": True, "ignore_eos": True})
        s.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        head = s.recv(200).decode("latin-1")
        s.close()
        status = head.split(" ")[1] if head.startswith("HTTP/1.1 ") else "none"
        if status.startswith("5"):
            return record("disconnect", status, head[:120])
        return record("disconnect", status)
    name, method, path, body = rng.choice(BAD)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body, {"Content-Type": "application/json"})
    response = c.getresponse()
    response.read()
    status = response.status
    record(name, str(status), None if 400 <= status < 500 else f"expected 4xx, got {status}")


def client(index):
    rng = random.Random(args.seed * 1000 + index)
    while time.monotonic() < deadline:
        try:
            (bad_request if rng.random() < args.bad else good_request)(rng)
        except Exception as error:  # a client-side failure is a finding too
            record("client", type(error).__name__, str(error))


def sample_memory():
    while time.monotonic() < deadline:
        memory.append((time.monotonic() - started, rss_kib()))
        time.sleep(2)


threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)] + [threading.Thread(target=sample_memory)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
metrics = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
metrics.request("GET", "/metrics")
scrape = metrics.getresponse().read().decode()
server.terminate()
exit_status = server.wait(timeout=60)

elapsed = time.monotonic() - started
print(f"load: {args.clients} clients for {args.seconds:.0f} s against {args.model} (--parallel {args.parallel} --max-queue {args.max_queue}), {args.bad:.0%} bad")
for (kind, outcome), count in sorted(outcomes.items()):
    print(f"  {kind:16} {outcome:14} {count}")
good = sum(c for (k, o), c in outcomes.items() if k == "good")
print(f"generated tokens: {tokens[0]} ({tokens[0] / elapsed:.1f}/s); well-formed requests: {good}, refused with 429: {outcomes[('good', '429')]}")
at_minute = next((kib for t, kib in memory if t >= 60), memory[-1][1] if memory else 0)
later = max((kib for t, kib in memory if t >= 60), default=at_minute)
first = memory[0][1] if memory else 0
print(f"memory (RSS): {first / 1024:.0f} MiB at start, {at_minute / 1024:.0f} MiB at 60 s, largest after: {later / 1024:.0f} MiB")
for line in scrape.splitlines():
    if line.startswith(("gpt_requests_total", "gpt_generated_tokens_total", "gpt_cancelled_requests_total")):
        print("  " + line)
print(f"server exit status after SIGTERM: {exit_status}")

failures = [f"{k} → {o}" for (k, o), c in outcomes.items() if o.startswith("5") or o == "broken stream" or k == "client"
            or (k == "good" and o not in ("200", "429"))]
if later > at_minute * 1.05:
    failures.append(f"memory grew after the first minute: {at_minute} → {later} KiB")
if exit_status != 0:
    failures.append(f"the server exited with {exit_status}")
for problem in problems:
    print("  problem: " + problem)
if failures:
    print("FAILED: " + "; ".join(failures))
    sys.exit(1)
print("passed: no 5xx, every well-formed request completed or got 429, memory flat after the first minute")
