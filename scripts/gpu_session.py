#!/usr/bin/env python3
"""gpu_session.py - the JSON side of scripts/gpu-run.sh (stdlib only: the
device's python3 and this machine's both run it).

  gpu_session.py fig KIND FILE... > FIG.json   key figures of receipts:
      eval R                   one `hxzoo eval` receipt
      eval-vs R REF            R's figures plus its relative differences to REF
      compress R               `hxzoo compress --json` receipt (totals)
      gpucheck R               build/gpu-check's report (status, checks, speedups)
      generate R               `hxzoo generate --json` output (defensive)
      torchppl R               scripts/gpu_torch_ppl.py's report
      throughput R             scripts/gpu_throughput.py's report
  gpu_session.py add STATE NAME STATUS SECONDS BUDGET REASON_FILE FIG_FILE
      append one phase record (STATUS pass|fail|skipped) to STATE (JSON lines)
  gpu_session.py write STATE META OUT   write the session report OUT from the
      phase records and META (a JSON object file), atomically
  gpu_session.py get FILE KEY.PATH     print one value of a JSON file (or nothing)
  gpu_session.py meta FILE KEY=VALUE...  set keys of a JSON object file (VALUE
      parsed as JSON when it parses, else kept as a string)
  gpu_session.py agree R REF PPL_REL [KLD_ABS KLD_REL TOP1_ABS]
      exit 0 when R's PPL (and base PPL) are within PPL_REL of REF's, and,
      when given, KLD within KLD_ABS + KLD_REL x REF's and top-1 within
      TOP1_ABS; prints the comparison either way
  gpu_session.py fig fixtures DIR LOG   scripts/gpu-eval.sh's receipts and lines
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def dig(o, path, default=None):
    for k in path.split("."):
        if isinstance(o, dict) and k in o:
            o = o[k]
        elif isinstance(o, list) and k.isdigit() and int(k) < len(o):
            o = o[int(k)]
        else:
            return default
    return o


def rel(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return a / b - 1
    return None


def fig_eval(r):
    if r is None:
        return {"error": "no receipt"}
    f = {"device": dig(r, "settings.device"), "dtype": dig(r, "settings.dtype"), "protocol": r.get("protocol"),
         "ppl": dig(r, "model.ppl"), "windows": dig(r, "tokens.windows_done"), "scored": dig(r, "tokens.scored_done"),
         "forward_tokens": dig(r, "tokens.forward"), "wall_time_s": r.get("wall_time_s"),
         "tokens_per_s": r.get("tokens_per_s"), "groups": r.get("groups"), "peak_rss_bytes": r.get("peak_rss_bytes")}
    if isinstance(r.get("base"), dict):
        f.update(base_ppl=dig(r, "base.ppl"), delta_pct=r.get("delta_pct"), kld_mean=r.get("kld_mean"),
                 top1_agreement=r.get("top1_agreement"))
    for k in ("max_windows",):
        if dig(r, "settings." + k) is not None:
            f[k] = dig(r, "settings." + k)
    return {k: v for k, v in f.items() if v is not None}


def fig_eval_vs(r, ref):
    f = fig_eval(r)
    g = fig_eval(ref)
    f["ref"] = {k: g.get(k) for k in ("device", "dtype", "ppl", "base_ppl", "kld_mean", "top1_agreement",
                                      "tokens_per_s") if k in g}
    for k in ("ppl", "base_ppl", "kld_mean", "tokens_per_s"):
        d = rel(f.get(k), g.get(k))
        if d is not None:
            f[k + "_rel_vs_ref"] = d
    if "top1_agreement" in f and "top1_agreement" in g:
        f["top1_diff_vs_ref"] = f["top1_agreement"] - g["top1_agreement"]
    return f


def fig_compress(r):
    if r is None:
        return {"error": "no receipt"}
    t = r.get("totals", {})
    return {k: t.get(k) for k in ("tensors", "src_bytes", "out_bytes", "ratio", "min_cosine", "mean_cosine",
                                  "shards", "seconds", "weights_per_second", "peak_rss_bytes") if k in t}


def fig_gpucheck(r):
    if r is None:
        return {"error": "no report"}
    f = {"status": r.get("status")}
    for k in ("reason", "device", "gpu", "name", "peak_bw_gbs", "copy_bw_gbs"):
        if isinstance(r.get(k), (str, int, float)):
            f[k] = r[k]
    checks = r.get("checks") or r.get("check")
    if isinstance(checks, list):
        f["checks"] = len(checks)
        f["checks_failed"] = sum(1 for c in checks if isinstance(c, dict) and c.get("ok") is False)
    speed = []

    def walk(o, where):
        if isinstance(o, dict):
            if "speedup" in o:
                speed.append({"where": where, "name": o.get("name") or o.get("kernel") or "",
                              "rows": o.get("rows"), "cols": o.get("cols"), "speedup": o.get("speedup"),
                              "hxq_frac_peak": o.get("hxq_frac_peak")})
            for k, v in o.items():
                walk(v, where + "." + k if where else k)
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{where}[{i}]")

    walk(r, "")
    if speed:
        f["speedups"] = speed[:40]
    for k in ("stack", "decode", "eval_window"):
        if isinstance(r.get(k), dict):
            f[k] = {a: b for a, b in r[k].items() if isinstance(b, (int, float, str))}
    return f


def fig_generate(r):
    if r is None:
        return {"error": "no JSON output"}
    if not isinstance(r, dict):
        return {"error": "the output is not a JSON object"}
    f = {k: v for k, v in r.items() if isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) < 200)}
    for k in ("decode_tokens_per_s", "prefill_tokens_per_s"):
        if k not in r:
            f.setdefault("missing", []).append(k)
    if isinstance(r.get("text"), str):
        f["text_head"] = r["text"][:160]
    return f


def fig_torchppl(r):
    if r is None:
        return {"error": "no report"}
    f = {k: r.get(k) for k in ("ids", "ids_sha256", "ids_match_hxzoo", "hxzoo_has_dtype", "torch", "transformers",
                               "gpu", "error") if r.get(k) is not None}
    f["runs"] = {x.get("impl"): {k: v for k, v in x.items() if k != "impl"} for x in r.get("runs", [])}
    for k, v in r.items():
        if "_vs_" in k:
            f[k] = v
    return f


def fig_throughput(r):
    if r is None:
        return {"error": "no report"}
    f = {k: v for k, v in r.items() if not isinstance(v, (list, dict))}
    f["runs"] = {x.get("impl"): {k: v for k, v in x.items() if k != "impl"} for x in r.get("runs", [])}
    return f


def agree(r, ref, ppl_rel, kld_abs=None, kld_rel=None, top1_abs=None):
    f, g = fig_eval(r), fig_eval(ref)
    bad, parts = [], []

    def cmp(k, tol_abs, tol_rel):
        a, b = f.get(k), g.get(k)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            bad.append(f"{k} missing")
            return
        ok = abs(a - b) <= tol_abs + tol_rel * abs(b)
        parts.append(f"{k} {a:.6g} vs {b:.6g} ({(a / b - 1) * 100 if b else 0:+.4f}%)")
        if not ok:
            bad.append(f"{k} {a:.6g} vs {b:.6g} beyond {tol_abs:g} + {tol_rel:g} relative")

    cmp("ppl", 0, ppl_rel)
    if "base_ppl" in g:
        cmp("base_ppl", 0, ppl_rel)
        if kld_abs is not None:
            cmp("kld_mean", kld_abs, kld_rel)
            cmp("top1_agreement", top1_abs, 0)
    print("; ".join(parts))
    if bad:
        print("disagree: " + "; ".join(bad))
    return not bad


def fig_fixtures(d, log):
    out = {"lines": []}
    if log and os.path.exists(log):
        with open(log, errors="replace") as f:
            out["lines"] = [l.strip() for l in f if l.startswith(("PASS", "FAIL", "NOTE", "skipped"))][:40]
    runs = {}
    for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not (fn.startswith("eval-") and fn.endswith(".json")) or fn.endswith("-cpu.json"):
            continue
        stem = fn[5:-5]
        name, _, tag = stem.rpartition("-")  # eval-NAME-DEV-DTYPE.json
        name, _, dev = name.rpartition("-")
        ref = os.path.join(d, f"eval-{name}-cpu.json")
        runs.setdefault(name, {})[f"{dev}-{tag}"] = fig_eval_vs(load(os.path.join(d, fn)), load(ref))
    out["runs"] = runs
    return out


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd = a[0]
    if cmd == "fig":
        kind, files = a[1], a[2:]
        r = [load(p) if os.path.isfile(p) else None for p in files]
        fn = {"eval": lambda: fig_eval(r[0]), "eval-vs": lambda: fig_eval_vs(r[0], r[1]),
              "compress": lambda: fig_compress(r[0]), "gpucheck": lambda: fig_gpucheck(r[0]),
              "generate": lambda: fig_generate(r[0]), "torchppl": lambda: fig_torchppl(r[0]),
              "throughput": lambda: fig_throughput(r[0]),
              "fixtures": lambda: fig_fixtures(files[0], files[1] if len(files) > 1 else None)}[kind]
        json.dump(fn(), sys.stdout, indent=1)
        print()
    elif cmd == "add":
        state, name, status, secs, budget, reason_f, fig_f = a[1:8]
        rec = {"name": name, "status": status, "seconds": round(float(secs), 2)}
        if budget:
            rec["budget_s"] = int(budget)
        reason = ""
        if reason_f and os.path.exists(reason_f):
            with open(reason_f, errors="replace") as f:
                reason = f.read().strip()
        if reason:
            rec["reason"] = reason[-1500:]
        fig = load(fig_f) if fig_f else None
        if fig is not None:
            rec["figures"] = fig
        elif fig_f and os.path.exists(fig_f):
            rec["figures_error"] = "unreadable figures file"
        with open(state, "a") as f:
            f.write(json.dumps(rec) + "\n")
    elif cmd == "write":
        state, meta_f, out = a[1:4]
        phases = []
        if os.path.exists(state):
            with open(state) as f:
                phases = [json.loads(l) for l in f if l.strip()]
        meta = load(meta_f) or {}
        rep = dict(meta)
        rep["phases"] = phases
        rep["summary"] = {s: [p["name"] for p in phases if p["status"] == s] for s in ("pass", "fail", "skipped")}
        rep["ok"] = not rep["summary"]["fail"]
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rep, f, indent=1)
            f.write("\n")
        os.replace(tmp, out)
    elif cmd == "meta":
        m = load(a[1]) or {}
        for kv in a[2:]:
            k, _, v = kv.partition("=")
            try:
                m[k] = json.loads(v)
            except ValueError:
                m[k] = v
        with open(a[1] + ".tmp", "w") as f:
            json.dump(m, f, indent=1)
        os.replace(a[1] + ".tmp", a[1])
    elif cmd == "agree":
        r, ref = load(a[1]), load(a[2])
        if r is None or ref is None:
            print("no receipt: " + (a[1] if r is None else a[2]))
            sys.exit(1)
        tol = [float(x) for x in a[3:]]
        sys.exit(0 if agree(r, ref, *tol) else 1)
    elif cmd == "get":
        v = dig(load(a[1]), a[2])
        if v is not None:
            print(v if not isinstance(v, (dict, list)) else json.dumps(v))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
