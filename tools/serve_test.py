#!/usr/bin/env python3
"""End-to-end tests of lm-serve (issue 17), run by Tests/ServeTests/ServeHTTPTests.swift.

Each test starts lm-serve on a free loopback port (--port 0; the server prints the address it
picked), talks to it, and stops it. References come from lm-run with the same prompt, seed and
sampling settings: a seeded request must give exactly lm-run's text, whatever else runs.

  tools/serve_test.py --serve .build/debug/lm-serve --run .build/debug/lm-run \
      --model models/shakespeare-char-t2.bgpt [--only NAME ...]

Prints one line per test and a closing "N passed, N failed"; exits 1 if any failed.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

ARGS = None
LM_RUN_CACHE = {}


# ---------------------------------------------------------------------------------------------
# Server process and HTTP helpers


class Server:
    """lm-serve on 127.0.0.1:<free port>; stop() sends SIGTERM and returns the exit status."""

    def __init__(self, *extra, model=None):
        cmd = [ARGS.serve, model or ARGS.model, "--port", "0", "--threads", "1"] + [str(x) for x in extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.stderr_lines = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        deadline = time.time() + 120
        line = b""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(rb"on http://([0-9.]+):(\d+)", line)
            if m:
                self.host, self.port = m.group(1).decode(), int(m.group(2))
                return
        self.proc.kill()
        raise AssertionError(f"lm-serve did not start: {line!r} {''.join(self.stderr_lines)[-2000:]}")

    def _drain_stderr(self):
        for raw in self.proc.stderr:
            self.stderr_lines.append(raw.decode("utf-8", "replace"))

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"

    def request(self, method, path, body=None, headers=None, raw=None, timeout=300):
        """Returns (status, headers dict lower-case, body bytes)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.read()
        hd = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hd, out

    def post(self, path, body, **kw):
        s, h, b = self.request("POST", path, body, **kw)
        return s, h, (json.loads(b) if b and h.get("content-type", "").startswith("application/json") else b)

    def metrics(self):
        s, _, b = self.request("GET", "/metrics")
        assert s == 200, s
        out = {}
        for line in b.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("lm-serve did not exit after the signal")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sse_events(resp):
    """Yields each `data:` payload of a text/event-stream response (bytes, [DONE] included)."""
    buf = b""
    while True:
        chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(1)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if line.startswith(b"data: "):
                    yield line[6:]


def stream_post(server, path, body, headers=None):
    """POSTs a streaming request; returns (status, list of data payloads as bytes)."""
    c = http.client.HTTPConnection(server.host, server.port, timeout=300)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c.request("POST", path, body=json.dumps(body).encode(), headers=h)
    r = c.getresponse()
    if r.status != 200:
        out = r.read()
        c.close()
        return r.status, [out]
    assert r.getheader("Content-Type", "").startswith("text/event-stream"), r.getheader("Content-Type")
    events = list(sse_events(r))
    c.close()
    return r.status, events


def streamed_text(events, chat=False):
    """Concatenated text of streamed chunks, the finish reason, and each chunk's text."""
    assert events and events[-1] == b"[DONE]", events[-3:]
    pieces, finish = [], None
    for e in events[:-1]:
        # Each chunk is valid UTF-8 JSON on its own: whole characters only.
        obj = json.loads(e.decode("utf-8", "strict"))
        assert "error" not in obj, obj
        if not obj["choices"]:
            continue
        ch = obj["choices"][0]
        piece = (ch["delta"].get("content") or "") if chat else ch["text"]
        pieces.append(piece)
        if ch.get("finish_reason"):
            finish = ch["finish_reason"]
    return "".join(pieces), finish, pieces


def lm_run(prompt, seed, n, temperature=1.0, top_k=None, top_p=None, min_p=None, repeat_penalty=None, model=None):
    """lm-run's generated text (its output minus the echoed prompt and the final newline)."""
    model = model or ARGS.model
    key = (prompt, seed, n, temperature, top_k, top_p, min_p, repeat_penalty, model)
    if key in LM_RUN_CACHE:
        return LM_RUN_CACHE[key]
    cmd = [ARGS.run, model, "--num-samples", "1", "-n", str(n), "--seed", str(seed), "--temperature", str(temperature),
           "--threads", "1"]
    for flag, v in (("--top-k", top_k), ("--top-p", top_p), ("--min-p", min_p), ("--repeat-penalty", repeat_penalty)):
        if v is not None:
            cmd += [flag, str(v)]
    cmd += ["--prompt", prompt]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode("utf-8")
    assert out.endswith("\n"), out[-20:]
    out = out[:-1]
    assert out.startswith(prompt), (prompt, out[:80])
    out = out[len(prompt):]
    LM_RUN_CACHE[key] = out
    return out


def openai_client(server, key="none"):
    import openai
    return openai.OpenAI(base_url=server.base + "/v1", api_key=key, max_retries=0, timeout=300)


def model_id():
    return os.path.basename(ARGS.model).removesuffix(".bgpt")


# ---------------------------------------------------------------------------------------------
# Tests


def test_openai_completion():
    """The openai client: a completion and a streamed one equal lm-run's text for the seed."""
    with Server("--parallel", "2") as s:
        client = openai_client(s)
        settings = dict(temperature=0.8, top_p=0.95, seed=42)
        extra = {"top_k": 40, "repeat_penalty": 1.1, "min_p": 0.02}
        ref = lm_run("ROMEO:", 42, 40, temperature=0.8, top_k=40, top_p=0.95, min_p=0.02, repeat_penalty=1.1)
        r = client.completions.create(model=model_id(), prompt="ROMEO:", max_tokens=40, extra_body=extra, **settings)
        assert r.choices[0].text == ref, (r.choices[0].text, ref)
        assert r.choices[0].finish_reason in ("length", "stop")
        assert r.usage.prompt_tokens == len("ROMEO:") and r.usage.completion_tokens == 40, r.usage
        assert r.model == model_id() and r.object == "text_completion" and r.id
        pieces = []
        for chunk in client.completions.create(model=model_id(), prompt="ROMEO:", max_tokens=40, stream=True,
                                               extra_body=extra, **settings):
            pieces.append(chunk.choices[0].text)
        assert "".join(pieces) == ref, ("".join(pieces), ref)
        assert s.stop() == 0


def lm_run_chat(system, user, seed, n, temperature, top_k):
    """lm-run --chat's reply to one user message (its output minus the final newline)."""
    cmd = [ARGS.run, ARGS.model, "--chat", "--system", system, "-n", str(n), "--seed", str(seed), "--temperature", str(temperature),
           "--top-k", str(top_k), "--threads", "1"]
    out = subprocess.run(cmd, input=(user + "\n").encode(), capture_output=True, check=True).stdout.decode("utf-8")
    assert out.endswith("\n"), out
    return out[:-1]


def test_openai_chat():
    """The openai client: a chat completion and a streamed one equal lm-run --chat's reply; past
    the model's context (64), where the server slides the window, they equal lm-run's text for the
    prompt the chat template renders (the shipped model has none: the plain default)."""
    with Server("--ctx-size", "256") as s:
        client = openai_client(s)
        msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "KING:"}]
        ref = lm_run_chat("Be brief.", "KING:", 7, 24, 0.7, 20)
        r = client.chat.completions.create(model=model_id(), messages=msgs, max_tokens=24, temperature=0.7, seed=7,
                                           extra_body={"top_k": 20})
        assert r.choices[0].message.content == ref, (r.choices[0].message.content, ref)
        assert r.choices[0].message.role == "assistant" and r.object == "chat.completion"
        assert r.usage.prompt_tokens == len("system: Be brief.\nuser: KING:\nassistant:"), r.usage
        text, roles = "", []
        for chunk in client.chat.completions.create(model=model_id(), messages=msgs, max_tokens=24, temperature=0.7, seed=7,
                                                    extra_body={"top_k": 20}, stream=True):
            if chunk.choices:
                roles.append(chunk.choices[0].delta.role)
                text += chunk.choices[0].delta.content or ""
        assert text == ref and roles[0] == "assistant", (text, ref, roles[:2])
        # Past the context.
        long_msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Speak, KING:"}]
        ref = lm_run("system: Be brief.\nuser: Speak, KING:\nassistant:", 7, 40, temperature=0.7, top_k=20)
        r = client.chat.completions.create(model=model_id(), messages=long_msgs, max_tokens=40, temperature=0.7, seed=7,
                                           extra_body={"top_k": 20})
        assert r.choices[0].message.content == ref, (r.choices[0].message.content, ref)
        # Chat logprobs: one entry per token, with bytes.
        st, _, out = s.post("/v1/chat/completions", {"messages": msgs, "max_tokens": 5, "seed": 7, "logprobs": True,
                                                     "top_logprobs": 2})
        content = out["choices"][0]["logprobs"]["content"]
        assert st == 200 and len(content) == 5 and all(len(c["top_logprobs"]) == 2 and c["bytes"] for c in content), out
        assert s.stop() == 0


def test_stop_strings():
    """Stop strings cut the text at their first occurrence, also across chunk boundaries."""
    ref = lm_run("KING:", 3, 50, temperature=1.0)
    # A two-character stop string that occurs in the reference after a few characters.
    cut = None
    for i in range(2, len(ref) - 2):
        cand = ref[i:i + 2]
        if cand.strip() == cand and ref.find(cand) == i:
            cut = cand
            break
    assert cut, ref
    want = ref[:ref.find(cut)]
    with Server() as s:
        body = {"prompt": "KING:", "max_tokens": 50, "seed": 3, "stop": [cut, "\u00e9\u00e9\u00e9"]}
        st, _, r = s.post("/v1/completions", body)
        assert st == 200, r
        assert r["choices"][0]["text"] == want and r["choices"][0]["finish_reason"] == "stop", (r, want)
        st, events = stream_post(s, "/v1/completions", dict(body, stream=True))
        text, finish, pieces = streamed_text(events)
        assert text == want and finish == "stop", (text, want, finish)
        # Never a piece of the stop string in the stream.
        assert cut not in "".join(pieces)
        assert s.stop() == 0


def test_errors():
    """Bad input gets a 400 naming the field (or 413, 404), never a crash or a hang."""
    with Server("--max-tokens-cap", "32", "--max-body-bytes", "4096") as s:
        m = model_id()
        cases = [
            (b"{not json", None),
            (b"[1, 2]", None),
            ({"prompt": "a", "max_tokens": 0}, "max_tokens"),
            ({"prompt": "a", "max_tokens": 33}, "max_tokens"),
            ({"prompt": "a", "max_tokens": "5"}, "max_tokens"),
            ({"prompt": "a", "max_tokens": 2.5}, "max_tokens"),
            ({"prompt": "a", "temperature": -0.1}, "temperature"),
            ({"prompt": "a", "temperature": "hot"}, "temperature"),
            ({"prompt": "a", "top_p": 0}, "top_p"),
            ({"prompt": "a", "top_p": 1.5}, "top_p"),
            ({"prompt": "a", "top_k": -1}, "top_k"),
            ({"prompt": "a", "min_p": 1}, "min_p"),
            ({"prompt": "a", "repeat_penalty": 0}, "repeat_penalty"),
            ({"prompt": "a", "seed": -1}, "seed"),
            ({"prompt": "a", "seed": 18446744073709551616}, "seed"),
            ({"prompt": "a", "seed": 1.5}, "seed"),
            ({"prompt": "a", "stop": ["a", "b", "c", "d", "e"]}, "stop"),
            ({"prompt": "a", "stop": [""]}, "stop"),
            ({"prompt": "a", "stop": [1]}, "stop"),
            ({"prompt": "a", "stream": "yes"}, "stream"),
            ({"prompt": "a", "model": "gpt-4"}, "model"),
            ({"prompt": ""}, "prompt"),
            ({"prompt": []}, "prompt"),
            ({}, "prompt"),
            ({"prompt": 5}, "prompt"),
            ({"prompt": [1, 2, 1000000]}, "prompt"),
            ({"prompt": [1, -1]}, "prompt"),
            ({"prompt": [[1, 2], [3]]}, "prompt"),
            ({"prompt": "a", "logprobs": 21}, "logprobs"),
            ({"prompt": "a" * 60, "max_tokens": 10}, "max_tokens"),
            ({"prompt": "a", "n": 2}, "n"),
        ]
        for body, field in cases:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            st, h, out = s.request("POST", "/v1/completions", raw=raw)
            assert st == 400, (body, st, out)
            err = json.loads(out)["error"]
            assert err["type"] == "invalid_request_error" and err["message"], err
            assert err["param"] == field, (body, err)
            if field:
                assert field in err["message"], err
        chat_cases = [
            ({"messages": []}, "messages"),
            ({"messages": "hi"}, "messages"),
            ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
            ({"messages": [{"content": "x"}]}, "messages[0].role"),
            ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
            ({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}, "top_logprobs"),
        ]
        for body, field in chat_cases:
            st, _, out = s.post("/v1/chat/completions", body)
            assert st == 400 and out["error"]["param"] == field, (body, st, out)
        # Too large a body: 413, with or without a Content-Length that says so.
        st, _, out = s.request("POST", "/v1/completions", raw=json.dumps({"prompt": "a" * 5000}).encode())
        assert st == 413, st
        st, _, _ = s.request("GET", "/nowhere")
        assert st == 404
        for path, body, field in (("/tokenize", {"content": 3}, "content"), ("/detokenize", {"tokens": [99999]}, "tokens"),
                                  ("/detokenize", {"tokens": "x"}, "tokens")):
            st, _, out = s.post(path, body)
            assert st == 400 and out["error"]["param"] == field, (path, st, out)
        # The server still works.
        st, _, out = s.post("/v1/completions", {"prompt": "a", "max_tokens": 3, "seed": 1})
        assert st == 200 and out["usage"]["completion_tokens"] >= 1, out
        assert s.stop() == 0


def test_api_key():
    """With --api-key every route but /health needs the bearer key; otherwise a bare 401."""
    with Server("--api-key", "s3cret-key") as s:
        for path, method in (("/v1/models", "GET"), ("/metrics", "GET"), ("/v1/completions", "POST"), ("/tokenize", "POST")):
            for hdr in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-key"},
                        {"Authorization": "Bearer s3cret-ke"}, {"Authorization": "Bearer s3cret-keyy"}):
                st, h, out = s.request(method, path, body={"prompt": "a", "content": "a"}, headers=hdr)
                assert st == 401, (path, hdr, st)
                assert b"s3cret" not in out and b"wrong" not in out
        st, _, _ = s.request("GET", "/health")
        assert st == 200
        ok = {"Authorization": "Bearer s3cret-key"}
        st, _, out = s.request("GET", "/v1/models", headers=ok)
        assert st == 200 and json.loads(out)["data"][0]["id"] == model_id()
        client = openai_client(s, key="s3cret-key")
        assert client.completions.create(model=model_id(), prompt="A", max_tokens=2, seed=1).choices[0].text is not None
        import openai
        try:
            openai_client(s, key="nope").models.list()
            raise AssertionError("a wrong key was accepted")
        except openai.AuthenticationError:
            pass
        assert s.stop() == 0


def test_endpoints():
    """/v1/models, /health, /tokenize and /detokenize; special-token text stays text."""
    with Server() as s:
        st, _, out = s.request("GET", "/v1/models")
        d = json.loads(out)
        assert st == 200 and d["object"] == "list" and d["data"][0]["id"] == model_id()
        st, _, out = s.request("GET", "/health")
        assert st == 200 and json.loads(out)["status"] == "ok"
        st, _, out = s.post("/tokenize", {"content": "To be"})
        assert st == 200 and len(out["tokens"]) == 5, out
        st, _, back = s.post("/detokenize", {"tokens": out["tokens"]})
        assert st == 200 and back["content"] == "To be", back
        # Logprobs: one entry per token, the chosen token's text adds up to the text, alternatives
        # most likely first; greedy decoding picks the most likely one.
        st, _, out = s.post("/v1/completions", {"prompt": "KING:", "max_tokens": 8, "temperature": 0, "logprobs": 3})
        lp = out["choices"][0]["logprobs"]
        assert st == 200 and len(lp["tokens"]) == 8 == out["usage"]["completion_tokens"], out
        assert "".join(lp["tokens"]) == out["choices"][0]["text"]
        for tok, val, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"]):
            vals = list(top.values())
            assert len(top) == 3 and vals == sorted(vals, reverse=True) and val <= 0, top
            assert abs(top[tok] - val) < 1e-6 and abs(vals[0] - val) < 1e-6, (tok, val, top)
        assert s.stop() == 0


def test_special_tokens_are_text():
    """Text such as <|endoftext|> or </s> is encoded as ordinary text, never a special id."""
    model = ARGS.bpe_model
    if not model:
        print("  (no --bpe-model given)")
        return
    with Server(model=model) as s:
        for text in ("<|endoftext|>", "</s>", "<s>", "<unk>", "<|im_start|>"):
            st, _, out = s.post("/tokenize", {"content": "a" + text})
            assert st == 200, out
            # Every id decodes back to the same text: nothing was swallowed into a control token.
            st, _, back = s.post("/detokenize", {"tokens": out["tokens"]})
            assert back["content"] == "a" + text, (text, out, back)
        assert s.stop() == 0


def test_queue_full():
    """One slot, no queue: a second request while the first runs gets 503 with Retry-After."""
    with Server("--parallel", "1", "--queue", "0", "--ctx-size", "4096") as s:
        c, _ = open_stream(s, {"prompt": "A", "max_tokens": 2000, "seed": 1})  # holds the only slot
        st, h, out = s.post("/v1/completions", {"prompt": "B", "max_tokens": 2})
        assert st == 503 and "retry-after" in h, (st, h, out)
        c.close()
        assert s.stop() == 0


def test_disconnect_frees_slot():
    """A client that goes away mid-stream frees its slot: the next request is served at once."""
    with Server("--parallel", "1", "--ctx-size", "100000", "--max-tokens-cap", "100000") as s:
        sock = socket.create_connection((s.host, s.port), timeout=60)
        body = json.dumps({"prompt": "A", "max_tokens": 90000, "stream": True, "seed": 5}).encode()
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        got = b""
        while got.count(b"data: ") < 3:
            more = sock.recv(4096)
            assert more, got
            got += more
        assert s.metrics().get("lm_busy_slots") == 1.0
        sock.close()
        deadline = time.time() + 30
        while time.time() < deadline and s.metrics().get("lm_busy_slots") != 0.0:
            time.sleep(0.05)
        assert s.metrics().get("lm_busy_slots") == 0.0, "the slot was not freed"
        st, _, out = s.post("/v1/completions", {"prompt": "B", "max_tokens": 3, "seed": 1}, timeout=60)
        assert st == 200, out
        assert s.stop() == 0


def test_metrics():
    """/metrics counts requests by status, prompt and generated tokens."""
    with Server() as s:
        before = s.metrics()
        st, _, out = s.post("/v1/completions", {"prompt": "ROMEO:", "max_tokens": 9, "seed": 2, "temperature": 0})
        assert st == 200
        s.post("/v1/completions", {"prompt": ""})
        after = s.metrics()
        gen = out["usage"]["completion_tokens"]
        assert after["lm_generated_tokens_total"] - before.get("lm_generated_tokens_total", 0) == gen, (before, after)
        assert after["lm_prompt_tokens_total"] - before.get("lm_prompt_tokens_total", 0) == 6
        assert after['lm_requests_total{status="200"}'] >= 1 + before.get('lm_requests_total{status="200"}', 0)
        assert after['lm_requests_total{status="400"}'] == 1
        assert after["lm_busy_slots"] == 0 and after["lm_queue_depth"] == 0 and after["lm_slots"] == 1
        assert "lm_tokens_per_second" in after
        assert s.stop() == 0


def test_load():
    """64 concurrent streaming clients × 32 tokens against 4 slots: all complete, each equals its
    seeded lm-run reference, so no token crossed between streams."""
    prompts = ["ROMEO:", "JULIET:", "KING:", "First Citizen:", "To be", "HAMLET:", "O", "Enter"]
    refs = {}
    for i in range(8):
        refs[i] = lm_run(prompts[i], 100 + i, 32, temperature=0.9, top_k=50)
    assert len(set(refs.values())) == 8, "references should differ"
    with Server("--parallel", "4", "--queue", "64") as s:
        results = [None] * 64
        errors = []

        def client(j):
            try:
                i = j % 8
                st, events = stream_post(s, "/v1/completions", {"prompt": prompts[i], "max_tokens": 32, "seed": 100 + i,
                                                                "temperature": 0.9, "top_k": 50, "stream": True})
                assert st == 200, (st, events)
                results[j] = streamed_text(events)[0]
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"client {j}: {e!r}")

        threads = [threading.Thread(target=client, args=(j,)) for j in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert not errors, errors[:3]
        for j in range(64):
            assert results[j] == refs[j % 8], (j, results[j], refs[j % 8])
        m = s.metrics()
        # The character model has no eos: every stream draws its 32 tokens.
        assert m["lm_generated_tokens_total"] == 64 * 32 and m['lm_requests_total{status="200"}'] >= 64, m
        assert s.stop() == 0


def open_stream(server, body):
    """Starts a streaming completion and reads its first event; returns the connection and the
    iterator over the remaining events."""
    c = http.client.HTTPConnection(server.host, server.port, timeout=300)
    c.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=True)), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200, r.status
    it = sse_events(r)
    next(it)
    return c, it


def test_sigterm():
    """SIGTERM/SIGINT: new requests are refused, running streams finish (or are cancelled at
    --timeout), exit status 0."""
    with Server("--timeout", "30") as s:
        _, it = open_stream(s, {"prompt": "A", "max_tokens": 40, "seed": 1})
        s.proc.send_signal(signal.SIGTERM)
        rest = list(it)
        assert rest and rest[-1] == b"[DONE]", rest[-2:]
        text, finish, _ = streamed_text([b'{"choices": []}'] + rest)
        assert finish == "length", finish
        assert s.proc.wait(timeout=60) == 0
    # A stream longer than --timeout is cancelled at the deadline, and the exit status is still 0.
    with Server("--timeout", "2", "--ctx-size", "1000000", "--max-tokens-cap", "1000000") as s:
        _, it = open_stream(s, {"prompt": "A", "max_tokens": 900000, "seed": 1})
        t0 = time.time()
        s.proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        try:
            st, _, _ = s.request("POST", "/v1/completions", body={"prompt": "B", "max_tokens": 2}, timeout=30)
            assert st == 503, st
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            pass
        rest = list(it)
        assert time.time() - t0 < 20, "not cancelled at the deadline"
        assert rest[-1] == b"[DONE]" and b"shutting down" in rest[-2], rest[-2:]
        assert s.proc.wait(timeout=60) == 0


def test_bad_model():
    """A missing or damaged model file: one error line, non-zero exit."""
    for path, content in (("/nonexistent/m.bgpt", None), ("damaged.bgpt", b"BGPT" + b"\0" * 100)):
        if content is not None:
            path = os.path.join(ARGS.tmp, path)
            with open(path, "wb") as f:
                f.write(content)
        p = subprocess.run([ARGS.serve, path, "--port", "0"], capture_output=True, timeout=60)
        lines = p.stderr.decode().strip().splitlines()
        assert p.returncode != 0 and len(lines) == 1 and lines[0].startswith("Error: ") and path in lines[0], (p.returncode, lines)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--bpe-model", default=None)
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--only", nargs="*", default=None)
    ARGS = ap.parse_args()
    passed = failed = 0
    for t in TESTS:
        name = t.__name__[5:]
        if ARGS.only and name not in ARGS.only:
            continue
        t0 = time.time()
        try:
            t()
            passed += 1
            print(f"ok   {name} ({time.time() - t0:.1f} s)", flush=True)
        except Exception:  # noqa: BLE001 - every failure is printed
            failed += 1
            print(f"FAIL {name} ({time.time() - t0:.1f} s)", flush=True)
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
