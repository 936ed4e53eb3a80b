#!/usr/bin/env python3
"""Aggregate decode rate and time to first token of a running lm-serve, for 1, 2, 4 and 8
concurrent streams (issue 17). Start the server first, e.g.

  .build/release/lm-serve models/shakespeare-char-t2.bgpt --parallel 8 --port 8080 &
  tools/serve_bench.py --url http://127.0.0.1:8080 --tokens 128 --rounds 3

Each stream is a /v1/completions request with "stream": true, a fixed seed and max_tokens
--tokens. For each concurrency C the script runs --rounds rounds of C simultaneous streams and
prints a table: aggregate tokens/s (all tokens of a round / the round's wall time; median and best round),
and the median and worst time to first token over all streams of that concurrency.
Only the standard library is used; requests go to the given URL only.
"""
import argparse
import http.client
import json
import statistics
import threading
import time
import urllib.parse


def one_stream(host, port, prompt, tokens, seed, key, out, i):
    c = http.client.HTTPConnection(host, port, timeout=600)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    body = {"prompt": prompt, "max_tokens": tokens, "seed": seed, "stream": True, "stream_options": {"include_usage": True}}
    t0 = time.perf_counter()
    c.request("POST", "/v1/completions", body=json.dumps(body), headers=headers)
    r = c.getresponse()
    if r.status != 200:
        raise SystemExit(f"HTTP {r.status}: {r.read()[:200]!r}")
    first, count, buf = None, 0, b""
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            data = event[6:] if event.startswith(b"data: ") else b""
            if not data or data == b"[DONE]":
                continue
            obj = json.loads(data)
            if obj.get("usage"):
                count = obj["usage"]["completion_tokens"]
            elif first is None and obj["choices"] and obj["choices"][0]["text"]:
                first = time.perf_counter() - t0
    out[i] = (first if first is not None else time.perf_counter() - t0, count, time.perf_counter() - t0)
    c.close()


def main():
    ap = argparse.ArgumentParser(description="lm-serve throughput and time to first token")
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--tokens", type=int, default=128, help="max_tokens per stream")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--prompt", default="ROMEO:")
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--concurrency", type=int, nargs="*", default=[1, 2, 4, 8])
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    host, port = u.hostname, u.port or 80
    print(f"{'streams':>7} {'tokens/s':>10} {'best':>8} {'per stream':>11} {'TTFT median ms':>15} {'TTFT max ms':>12}")
    for conc in a.concurrency:
        rates, ttfts = [], []
        for rnd in range(a.rounds):
            out = [None] * conc
            ts = [threading.Thread(target=one_stream, args=(host, port, a.prompt, a.tokens, 1000 * rnd + i, a.api_key, out, i))
                  for i in range(conc)]
            t0 = time.perf_counter()
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            wall = time.perf_counter() - t0
            rates.append(sum(o[1] for o in out) / wall)
            ttfts += [o[0] for o in out]
        med = statistics.median(rates)
        print(f"{conc:>7} {med:>10.1f} {max(rates):>8.1f} {med / conc:>11.1f} {statistics.median(ttfts) * 1e3:>15.1f} {max(ttfts) * 1e3:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
