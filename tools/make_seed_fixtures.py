"""Trains tiny models with the seed projects' own PyTorch code and writes converter fixtures.

usage: python tools/make_seed_fixtures.py BITGPT_CHECKOUT BABYGPT_CHECKOUT [OUT_DIR]
       (OUT_DIR default: Tests/ConvertTests/Fixtures/seeds; needs PyTorch on CPU;
        SEED_CASES=babygpt_llama,... writes only those cases; SEED_CORPUS=FILE replaces the Shakespeare text)

Cases (one folder each, described like the shared fixtures: case.json, checkpoint, meta.pkl, logits.npy):
- bitgpt_float: bananya-ml/BitGPT `gpt/train.py` + `gpt/gpt.py` GPTLanguageModel (the float baseline),
  trained and saved by the unmodified-as-far-as-possible `gpt/train.py`, char-level.
- babygpt_main: soumyadip1995/BabyGPT `train/babygpt_trainer.py` BabyGPTmodel, trained and saved by that
  script (bare state_dict).
- babygpt_llama: BabyGPT `train/llama_trainer.py`. The script saves nothing; its state_dict is saved here so
  that the converter's refusal can be tested. Its case.json records, measured, why no causal runtime can
  reproduce it (the attention output is transposed and reshaped twice, mixing positions).

The upstream scripts are read from the given checkouts and run in this process. Every change made to them
is a textual replacement applied at run time, listed in case.json under source.patches; modules a script
imports but the fixture does not use are stubbed (also listed). Seeded with 1337 (by the projects' scripts, or
here where a script sets no seed); byte-identical reruns across PyTorch builds are not promised.
"""
import importlib.machinery
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "shakespeare.txt")
PROMPT = "Ham.\nTo be, or not to be, that is the question:\n"
GREEDY = 50
CORPUS_CHARS = 200_000  # the first 200k characters of the Shakespeare plays


def corpus():
    path = os.environ.get("SEED_CORPUS", DATA)
    with open(path, encoding="utf-8") as f:
        return f.read()[:CORPUS_CHARS]


def commit_of(checkout):
    return subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def patched_source(path, patches):
    """The script's text with each (old, new, why) replacement applied; every `old` must occur."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    for old, new, why in patches:
        if old not in src:
            raise SystemExit(f"{path}: patch target not found ({why}): {old!r}")
        src = src.replace(old, new)
    return src


def stub_modules(names):
    """Installs empty modules (tqdm as the identity) for imports the fixture does not exercise."""
    for n in names:
        m = types.ModuleType(n)
        m.__spec__ = importlib.machinery.ModuleSpec(n, None)
        if n == "tqdm":
            m.tqdm = lambda it, *a, **k: it
        sys.modules[n] = m


def run_script(path, src, argv, cwd):
    """Runs `src` as __main__ of `path` in `cwd` with `argv`; returns its globals."""
    old_argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = [path] + argv
    os.chdir(cwd)
    try:
        ns = {"__name__": "__main__", "__file__": path}
        exec(compile(src, path, "exec"), ns)
        return ns
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)


def dump_json(obj, path):
    """Indented JSON with lists of numbers kept on one line (as the shared fixtures' case.json)."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    text = re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def write_case(out, name, checkpoint_name, stoi, logits, greedy, gaps, case):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    itos = {i: c for c, i in stoi.items()}
    with open(os.path.join(d, "meta.pkl"), "wb") as f:
        pickle.dump({"vocab_size": len(stoi), "itos": itos, "stoi": stoi}, f)
    np.save(os.path.join(d, "logits.npy"), logits.astype("<f4"))
    case = {
        "checkpoint": checkpoint_name,
        "tokenizer": "meta.pkl",
        "convert_args": case.pop("convert_args", []),
        "prompt": PROMPT,
        "prompt_ids": [stoi[c] for c in PROMPT],
        "logits": "logits.npy",
        "greedy_ids": greedy,
        "greedy_text": "".join(itos[i] for i in greedy),
        "greedy_is_chars": True,
        "min_top2_gap": float(min(gaps)),
        **case,
    }
    dump_json(case, os.path.join(d, "case.json"))
    print(f"{name}: wrote {d} (min top-2 gap {case['min_top2_gap']:.4f})")


def top2_gaps(model_logits_fn, ids, block):
    """Argmax continuation (context cropped to the last `block` ids) and the top-2 gap at each step."""
    seq, gaps = list(ids), []
    for _ in range(GREEDY):
        last = model_logits_fn(seq[-block:])[-1]
        v = torch.topk(last, 2).values
        gaps.append(float(v[0] - v[1]))
        seq.append(int(torch.argmax(last)))
    return seq[len(ids):], gaps


def bitgpt_float(checkout, out):
    """BitGPT gpt/train.py, char-level (the project's setup before commit 18b4af6), 2 layers, 4 heads, n_embd 32."""
    script = os.path.join(checkout, "gpt", "train.py")
    patches = [
        ("parser.add_argument('--n-head',type=float", "parser.add_argument('--n-head',type=int",
         "P1 train.py argparse --n-head type=float -> int (float sizes crash nn.Embedding/nn.Linear)"),
        ("parser.add_argument('--n-layer',type=float", "parser.add_argument('--n-layer',type=int", "P1 train.py argparse --n-layer type=float -> int"),
        ("parser.add_argument('--n-embd',type=float", "parser.add_argument('--n-embd',type=int", "P1 train.py argparse --n-embd type=float -> int"),
        ("n_layer = args.n_embd", "n_layer = args.n_layer", "P2 train.py 'n_layer = args.n_embd' -> 'args.n_layer' (else one layer per embedding channel)"),
        ("vocab_size: int = 50304", "vocab_size: int = len(sorted(set(text)))",
         "P4 train.py tokenizer: tiktoken GPT-2 BPE (vocab 50304) -> the project's earlier char-level codec (vocab = len(sorted(set(text))))"),
        ('enc = tiktoken.get_encoding("gpt2")',
         "chars = sorted(set(text)); stoi = {c: i for i, c in enumerate(chars)}; itos = {i: c for i, c in enumerate(chars)}", "P4 (codec tables)"),
        ('encode = lambda s: enc.encode(s, allowed_special={"<|endoftext|>"})', "encode = lambda s: [stoi[c] for c in s]", "P4 (encode)"),
        ("decode = lambda l: enc.decode(l)", "decode = lambda l: ''.join(itos[i] for i in l)", "P4 (decode)"),
    ]
    stubs = ["tqdm", "wandb", "tiktoken"]
    stub_modules(stubs)
    sys.path.insert(0, os.path.join(checkout, "gpt"))
    from gpt import GPTLanguageModel  # noqa: E402  the project's own model class
    args = ["--batch-size", "12", "--block-size", "64", "--max-iters", "300", "--eval-iters", "5", "--eval-interval", "100",
            "--n-head", "4", "--n-layer", "2", "--n-embd", "32", "--lr", "3e-3", "--warmup-iters", "20", "--lr-decay-iters", "300"]
    with tempfile.TemporaryDirectory() as work:
        os.makedirs(os.path.join(work, "data"))
        os.makedirs(os.path.join(work, "models"))  # train.py writes models/astrogpt.pt but does not create models/
        with open(os.path.join(work, "data", "astro.txt"), "w", encoding="utf-8") as f:
            f.write(corpus())
        ns = run_script(script, patched_source(script, patches), args, work)
        ckpt_path = os.path.join(work, "models", "astrogpt.pt")
        d = os.path.join(out, "bitgpt_float")
        os.makedirs(d, exist_ok=True)
        with open(ckpt_path, "rb") as src, open(os.path.join(d, "astrogpt.pt"), "wb") as dst:
            dst.write(src.read())
    ck = torch.load(os.path.join(d, "astrogpt.pt"), map_location="cpu", weights_only=False)
    model = GPTLanguageModel(ck["config"])
    model.load_state_dict(ck["model"])
    model.eval()
    stoi = ns["stoi"]
    ids = [stoi[c] for c in PROMPT]
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0][0].numpy()
        torch.manual_seed(0)
        gen = model.generate(torch.tensor([ids]), GREEDY, top_k=1)[0].tolist()[len(ids):]
        greedy, gaps = top2_gaps(lambda s: model(torch.tensor([s]))[0][0], ids, 64)
    assert gen == greedy, "generate(top_k=1) and the argmax loop disagree"
    params = sum(p.numel() for p in model.parameters())
    write_case(out, "bitgpt_float", "astrogpt.pt", stoi, logits, greedy, gaps, {
        "tolerance": 1e-4,
        "source": {
            "repo": "bananya-ml/BitGPT", "commit": commit_of(checkout),
            "model_class": "gpt/gpt.py GPTLanguageModel (config gpt.GPTConfig)",
            "script": "gpt/train.py " + " ".join(args) + " (run from a folder holding data/astro.txt = the first 200k characters of the Shakespeare plays)",
            "patches": [p[2] for p in patches] + [f"S stub modules (imported, unused with these flags): {', '.join(stubs)}; tqdm as the identity"],
            "vocab": "BitGPT saves no vocabulary; meta.pkl holds the char codec of the patched train.py",
            "logits": "GPTLanguageModel rebuilt from ckpt['config'], load_state_dict(ckpt['model']), eval(), model(x) (every position)",
            "greedy": "model.generate(x, 50, top_k=1) (project's generate; context cropped to the last block_size=64 tokens); equals a plain argmax loop",
            "config": {k: ck["model_args"][k] for k in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size", "dropout")},
            "params": params,
        },
    })


def babygpt_main(checkout, out):
    """BabyGPT train/babygpt_trainer.py: 4 layers (run 4 times each), 4 heads, n_embd 16, block 64."""
    script = os.path.join(checkout, "train", "babygpt_trainer.py")
    d = os.path.join(out, "babygpt_main")
    os.makedirs(d, exist_ok=True)
    save = os.path.join(d, "model.pth")
    with tempfile.TemporaryDirectory() as work:
        text_path = os.path.join(work, "corpus.txt")
        with open(text_path, "w", encoding="utf-8") as f:
            f.write(corpus())
        patches = [
            (r'r"C:\Users\Soumyadip Nandi\Downloads\policy\language\data\ALL_eminem.txt"', repr(text_path),
             "P1 data: the hard-coded Windows path to ALL_eminem.txt -> the first 200k characters of the Shakespeare plays"),
            ("'C:/Users/Soumyadip Nandi/Downloads/policy/language/model.pth'", repr(save),
             "P2 save/load path: the hard-coded Windows model.pth -> the fixture folder"),
            ("block_size = 4,", "block_size = 64,", "P3 config block_size 4 -> 64 (so the 48-character prompt fits)"),
            ("max_iters = 10000", "max_iters = 300", "P4 max_iters 10000 -> 300"),
            ("eval_iters = 200", "eval_iters = 5", "P5 eval_iters 200 -> 5"),
            ("eval_interval = 500", "eval_interval = 100", "P6 eval_interval 500 -> 100"),
            ("max_new_tokens=500", "max_new_tokens=20", "P7 closing sample 500 -> 20 tokens (sampled, not used by the fixture)"),
        ]
        ns = run_script(script, patched_source(script, patches), [], work)
    model, config = ns["model"], ns["config"]
    model.eval()
    stoi = ns["string2integer"]
    ids = [stoi[c] for c in PROMPT]
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0][0].numpy()
        greedy, gaps = top2_gaps(lambda s: model(torch.tensor([s]))[0][0], ids, config.block_size)
    sd = torch.load(save, map_location="cpu")
    check = type(model)(config)
    check.load_state_dict(sd)
    check.eval()
    with torch.no_grad():
        again = check(torch.tensor([ids]))[0][0].numpy()
    assert np.array_equal(again, logits), "the saved state_dict does not reproduce the trained model"
    params = sum(p.numel() for p in model.parameters())
    write_case(out, "babygpt_main", "model.pth", stoi, logits, greedy, gaps, {
        "convert_args": ["--n-heads", str(config.n_head)],
        "tolerance": 1e-4,
        "source": {
            "repo": "soumyadip1995/BabyGPT", "commit": commit_of(checkout),
            "model_class": "train/babygpt_trainer.py BabyGPTmodel (config GPTConfig, bias False)",
            "script": "train/babygpt_trainer.py (module-level script, run in-process with the patches below)",
            "patches": [p[2] for p in patches],
            "vocab": "BabyGPT saves no vocabulary; meta.pkl holds the script's string2integer/integer2string over sorted(set(text))",
            "quirks": ["FeedForward applies GELU after the down-projection (Linear, Linear, GELU)",
                       "forward runs the whole blocks Sequential once per block: n_layer passes over the n_layer blocks, weights shared",
                       "ln_f eps 1e-12 (block LayerNorms 1e-5)",
                       "the bare state_dict records no head count: give --n-heads"],
            "logits": "the trained model object in eval(), model(x) (every position); the saved state_dict reloaded into a fresh BabyGPTmodel gives identical logits",
            "greedy": "argmax loop with generate()'s crop (idx[:, -block_size:]); the project's generate() samples with multinomial and has no top-k",
            "config": {"n_layer": config.n_layer, "n_head": config.n_head, "n_embd": config.n_embd,
                       "block_size": config.block_size, "vocab_size": config.vocab_size, "bias": config.bias},
            "params": params,
        },
    })


def babygpt_llama(checkout, out):
    """BabyGPT train/llama_trainer.py: a few steps, its state_dict, and the measured position mixing."""
    script = os.path.join(checkout, "train", "llama_trainer.py")
    d = os.path.join(out, "babygpt_llama")
    os.makedirs(d, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        text_path = os.path.join(work, "corpus.txt")
        with open(text_path, "w", encoding="utf-8") as f:
            f.write(corpus())
        patches = [
            (r'r"C:\Users\Soumyadip Nandi\Downloads\policy\BabyGPT\data\ALL_eminem.txt"', repr(text_path),
             "P1 data: the hard-coded Windows path to ALL_eminem.txt -> the first 200k characters of the Shakespeare plays"),
            ("block_size = 4,", "block_size = 16,", "P2 config block_size 4 -> 16"),
            ("max_iters = 11000", "max_iters = 30", "P3 max_iters 11000 -> 30"),
            ("eval_iters = 200", "eval_iters = 2", "P4 eval_iters 200 -> 2"),
            ("max_new_tokens=500", "max_new_tokens=5", "P5 closing sample 500 -> 5 tokens"),
        ]
        torch.manual_seed(1337)  # the script sets no seed
        ns = run_script(script, patched_source(script, patches), [], work)
    model, config = ns["model"], ns["config"]
    model.eval()
    torch.save(model.state_dict(), os.path.join(d, "llama.pth"))
    stoi = ns["string2integer"]
    ids = [stoi[c] for c in PROMPT][:16]
    with torch.no_grad():
        full = model(torch.tensor([ids]))[0][0]
        prefix = model(torch.tensor([ids[:8]]))[0][0]
    mixing = float((full[:8] - prefix).abs().max())
    case = {
        "checkpoint": "llama.pth",
        "expect_refusal": "transposed and reshaped twice",
        "source": {
            "repo": "soumyadip1995/BabyGPT", "commit": commit_of(checkout),
            "model_class": "train/llama_trainer.py BabyGPTmodel (config LLaMAConfig)",
            "patches": [p[2] for p in patches] + ["A the script saves no checkpoint: torch.save(model.state_dict()) added after training",
                                                 "H the script sets no seed: torch.manual_seed(1337) before it runs"],
            "why_refused": ("Attention.forward re-assembles the heads with transpose(1, 2).view(B, T, C) twice; for T > 1 the second one "
                            "permutes the (T, C) output across positions, so a position's output depends on later positions and on the "
                            "sequence length (measured below), which no causal, cached runtime can reproduce"),
            "prefix_logits_max_abs_diff": mixing,
            "prefix_check": "logits of the first 8 positions, computed from 16 tokens vs from those 8 alone (a causal model gives 0)",
            "config": {"n_layer": config.n_layer, "n_head": config.n_head, "dim": config.dim,
                       "block_size": config.block_size, "vocab_size": config.vocab_size},
        },
    }
    assert mixing > 1e-3, "expected the double transpose to mix positions"
    dump_json(case, os.path.join(d, "case.json"))
    print(f"babygpt_llama: wrote {d} (prefix logits differ by {mixing:.4f})")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    bitgpt, babygpt = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "..", "Tests", "ConvertTests", "Fixtures", "seeds")
    torch.set_num_threads(2)
    only = set(filter(None, os.environ.get("SEED_CASES", "").split(",")))
    for name, make, checkout in [("bitgpt_float", bitgpt_float, bitgpt), ("babygpt_main", babygpt_main, babygpt),
                                 ("babygpt_llama", babygpt_llama, babygpt)]:
        if not only or name in only:
            make(checkout, out)


if __name__ == "__main__":
    main()
