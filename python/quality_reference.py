"""The quality reference of mlx-fuse-action: an MLX model's log-probabilities in llama-perplexity's
own `--kl-divergence-base` file format, and the score of an MLX model against such a file.

Uses only mlx_lm's public `load` and the loaded model's call, so it runs on every supported mlx-lm
(tested on 0.28.3 and 0.32.2). The file format and the chunking are llama-perplexity's
(ggml-org/llama.cpp tag v0.4.0 `tools/perplexity/perplexity.cpp`, `perplexity()` and
`kl_divergence()`):

    "_logits_"                 8 bytes
    n_ctx, n_vocab, n_chunk    int32 each
    tokens                     int32 × n_chunk·n_ctx (the evaluated ids, first tokens unreplaced)
    per chunk, per scored row  uint16 × nv, nv = 2·⌈n_vocab/2⌉ + 4: float32 scale, float32
                               min_log_prob, then n_vocab quantized log-probabilities (padding)

Each chunk of n_ctx tokens is evaluated on its own, its first token replaced by BOS when the
tokenizer adds one; only the second half is scored: rows first = n_ctx/2 … n_ctx-2, each predicting
the next token. A row keeps log-probabilities within 16 nats of the top one, as `log_softmax` there
does (`nearest_int(inv_scale·(logit − min_logit))`).

    python quality_reference.py reference --model DIR [--adapter-path DIR] --data DOCS.json
        --ctx N --eval-tokens N --out FILE [--tokens-out TOKENS.json]
    python quality_reference.py score --model DIR [--adapter-path DIR] --reference FILE

DOCS.json is {"documents": [{"text": ...} | {"messages": [...], "tools": ...}]}: text is encoded
with the tokenizer's special tokens and an EOS appended when missing, messages are rendered with the
chat template (mlx_lm.tuner.datasets' TextDataset and ChatDataset, without prompt masking). The
last line printed is one JSON object with the figures; a failure is one sentence on stderr, exit 2.
"""

import argparse
import json
import math
import sys

import numpy as np

MAGIC = b"_logits_"


class Failure(Exception):
    pass


def row_width(n_vocab):
    return 2 * ((n_vocab + 1) // 2) + 4


def load_model(model, adapter_path):
    from mlx_lm import load

    try:
        return load(model, adapter_path=adapter_path)
    except Exception as error:  # noqa: BLE001 - one sentence for the action
        raise Failure(
            f"mlx_lm could not load {model}"
            + (f" with the adapters in {adapter_path}" if adapter_path else "")
            + f" ({type(error).__name__}: {error})"
        ) from error


def bos_rule(tokenizer):
    """(add_bos, bos_id): whether encoding text starts with BOS, as llama.cpp's add_bos."""
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return False, None
    ids = tokenizer.encode("a")
    return (len(ids) > 0 and ids[0] == bos), bos


def encode_document(tokenizer, doc, index):
    """(text, add_special, ids, appended) of one document, as mlx-lm's training datasets do it."""
    if "text" in doc:
        text = doc["text"]
        ids = list(tokenizer.encode(text))
        extra = []
        eos = getattr(tokenizer, "eos_token_id", None)
        if eos is not None and (len(ids) == 0 or ids[-1] != eos):
            extra = [eos]
        return text, True, ids, extra
    if "messages" in doc:
        try:
            kwargs = {"tools": doc["tools"]} if doc.get("tools") is not None else {}
            text = tokenizer.apply_chat_template(doc["messages"], tokenize=False, **kwargs)
        except Exception as error:  # noqa: BLE001
            raise Failure(
                f"document {index + 1} of the eval data could not be rendered with the model's chat "
                f"template ({type(error).__name__}: {error})"
            ) from error
        # apply_chat_template(tokenize=True) encodes the rendered text without added specials
        return text, False, list(tokenizer.encode(text, add_special_tokens=False)), []
    raise Failure(f"document {index + 1} of the eval data has neither text nor messages")


def forward(model, ids):
    import mlx.core as mx

    logits = model(mx.array([ids]))
    logits = logits.astype(mx.float32)
    mx.eval(logits)
    return np.array(logits[0], dtype=np.float32)


def quantize_rows(logits):
    """llama-perplexity's log_softmax(n_vocab, logits, uint16 *log_prob, tok) for every row."""
    n_rows, n_vocab = logits.shape
    out = np.zeros((n_rows, row_width(n_vocab)), dtype=np.uint16)
    max_logit = logits.max(axis=1)
    min_logit = np.maximum(logits.min(axis=1), max_logit - np.float32(16))
    sum_exp = np.exp((logits - max_logit[:, None]).astype(np.float64)).sum(axis=1)
    log_sum_exp = np.log(sum_exp).astype(np.float32)
    min_log_prob = (min_logit - max_logit - log_sum_exp).astype(np.float32)
    scale = ((max_logit - min_logit) / np.float32(65535)).astype(np.float32)
    header = np.stack([scale, min_log_prob], axis=1).astype(np.float32)
    out[:, :4] = header.view(np.uint16).reshape(n_rows, 4)
    for r in range(n_rows):
        if scale[r] == 0:
            continue
        inv = np.float32(1) / scale[r]
        q = np.rint(inv * (logits[r] - min_logit[r])).astype(np.int64)
        q[logits[r] <= min_logit[r]] = 0
        out[r, 4 : 4 + n_vocab] = np.clip(q, 0, 65535).astype(np.uint16)
    return out, max_logit.astype(np.float64) + log_sum_exp.astype(np.float64)


def chunk_input(tokens, add_bos, bos_id):
    ids = list(tokens)
    if add_bos:
        ids[0] = bos_id
    return ids


def cmd_reference(args):
    with open(args.data, encoding="utf-8") as f:
        documents = json.load(f)["documents"]
    model, tokenizer = load_model(args.model, args.adapter_path)
    add_bos, bos_id = bos_rule(tokenizer)
    tokens, used = [], []
    for index, doc in enumerate(documents):
        text, add_special, ids, extra = encode_document(tokenizer, doc, index)
        used.append({"text": text, "addSpecial": add_special, "ids": ids})
        tokens.extend(ids + extra)
        if len(tokens) >= args.eval_tokens:
            break
    n_ctx = args.ctx
    n_chunk = min(args.eval_tokens, len(tokens)) // n_ctx
    if n_chunk < 1:
        raise Failure(
            f"the eval data gives {len(tokens)} tokens with this model's tokenizer, fewer than one "
            f"chunk of {n_ctx}"
        )
    tokens = tokens[: n_chunk * n_ctx]
    first = n_ctx // 2
    n_vocab = None
    nll_sum, count = 0.0, 0
    with open(args.out, "wb") as out:
        for c in range(n_chunk):
            chunk = tokens[c * n_ctx : (c + 1) * n_ctx]
            logits = forward(model, chunk_input(chunk, add_bos, bos_id))[first : n_ctx - 1]
            if n_vocab is None:
                n_vocab = logits.shape[1]
                out.write(MAGIC)
                out.write(np.array([n_ctx, n_vocab, n_chunk], dtype=np.int32).tobytes())
                out.write(np.array(tokens, dtype=np.int32).tobytes())
            rows, lse = quantize_rows(logits)
            targets = np.array(chunk[first + 1 : n_ctx])
            nll = lse - logits[np.arange(len(targets)), targets].astype(np.float64)
            nll_sum += float(nll.sum())
            count += len(targets)
            out.write(rows.tobytes())
    if args.tokens_out:
        with open(args.tokens_out, "w", encoding="utf-8") as f:
            json.dump({"addBos": add_bos, "bosId": bos_id, "documents": used}, f)
    return {
        "nCtx": n_ctx,
        "nVocab": n_vocab,
        "nChunk": n_chunk,
        "tokens": n_chunk * n_ctx,
        "scored": count,
        "addBos": add_bos,
        "bosId": bos_id,
        "ppl": math.exp(nll_sum / count),
    }


def read_reference(path):
    with open(path, "rb") as f:
        if f.read(8) != MAGIC:
            raise Failure(f"{path} is not a llama-perplexity log-probability file (no _logits_ header)")
        n_ctx, n_vocab, n_chunk = (int(x) for x in np.frombuffer(f.read(12), dtype=np.int32))
        tokens = np.frombuffer(f.read(4 * n_ctx * n_chunk), dtype=np.int32)
        rows = n_ctx - 1 - n_ctx // 2
        nv = row_width(n_vocab)
        data = np.frombuffer(f.read(), dtype=np.uint16)
    if tokens.size != n_ctx * n_chunk or data.size != n_chunk * rows * nv:
        raise Failure(f"{path} is truncated: it does not hold {n_chunk} chunks of {n_ctx} tokens")
    return n_ctx, n_vocab, n_chunk, tokens, data.reshape(n_chunk, rows, nv)


def base_log_probs(rows, n_vocab):
    header = np.ascontiguousarray(rows[:, :4]).view(np.float32)
    scale, min_log_prob = header[:, 0], header[:, 1]
    return scale[:, None] * rows[:, 4 : 4 + n_vocab].astype(np.float32) + min_log_prob[:, None]


def cmd_score(args):
    n_ctx, n_vocab, n_chunk, tokens, data = read_reference(args.reference)
    model, tokenizer = load_model(args.model, args.adapter_path)
    add_bos, bos_id = bos_rule(tokenizer)
    first = n_ctx // 2
    sums = {"nll": 0.0, "nll_base": 0.0, "kld": 0.0, "kld2": 0.0, "same": 0, "count": 0}
    kld_max = 0.0
    for c in range(n_chunk):
        chunk = tokens[c * n_ctx : (c + 1) * n_ctx].tolist()
        logits = forward(model, chunk_input(chunk, add_bos, bos_id))[first : n_ctx - 1]
        if logits.shape[1] != n_vocab:
            raise Failure(
                f"{args.model} has {logits.shape[1]} vocabulary entries and the reference "
                f"{args.reference} {n_vocab}: score a model of the same vocabulary"
            )
        targets = np.array(chunk[first + 1 : n_ctx])
        idx = np.arange(len(targets))
        x = logits.astype(np.float64)
        log_p = x - (x.max(axis=1) + np.log(np.exp(x - x.max(axis=1)[:, None]).sum(axis=1)))[:, None]
        base = base_log_probs(data[c], n_vocab).astype(np.float64)
        kept = base > -16
        kld = np.where(kept, np.exp(base) * (base - log_p), 0).sum(axis=1)
        sums["nll"] += float(-log_p[idx, targets].sum())
        sums["nll_base"] += float(-base[idx, targets].sum())
        sums["kld"] += float(kld.sum())
        sums["kld2"] += float((kld * kld).sum())
        sums["same"] += int((logits.argmax(axis=1) == base.argmax(axis=1)).sum())
        sums["count"] += len(targets)
        kld_max = max(kld_max, float(kld.max()))
    n = sums["count"]
    return {
        "nCtx": n_ctx,
        "nVocab": n_vocab,
        "nChunk": n_chunk,
        "count": n,
        "ppl": math.exp(sums["nll"] / n),
        "pplBase": math.exp(sums["nll_base"] / n),
        "meanKld": sums["kld"] / n,
        "maxKld": kld_max,
        "sameTop": sums["same"] / n,
    }


def main(argv):
    parser = argparse.ArgumentParser(prog="quality_reference.py")
    sub = parser.add_subparsers(dest="command", required=True)
    ref = sub.add_parser("reference")
    ref.add_argument("--model", required=True)
    ref.add_argument("--adapter-path")
    ref.add_argument("--data", required=True)
    ref.add_argument("--ctx", type=int, required=True)
    ref.add_argument("--eval-tokens", type=int, required=True)
    ref.add_argument("--out", required=True)
    ref.add_argument("--tokens-out")
    score = sub.add_parser("score")
    score.add_argument("--model", required=True)
    score.add_argument("--adapter-path")
    score.add_argument("--reference", required=True)
    args = parser.parse_args(argv)
    if args.command == "reference" and (args.ctx < 4 or args.eval_tokens < args.ctx):
        print("quality_reference: --ctx must be at least 4 and --eval-tokens at least --ctx", file=sys.stderr)
        return 2
    try:
        result = cmd_reference(args) if args.command == "reference" else cmd_score(args)
    except Failure as failure:
        print(f"quality_reference: {failure}.", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
