"""Plots latency (p50 and p99) against throughput for each series of a bench/results JSON file."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERIES = [
    ("accept", "POST /v1/sms/send", "-o"),
    ("insert", "raw insert ceiling", "--s"),
    ("noop", "GET /health (no-op route)", ":^"),
]


def main(src: str, dst: str) -> None:
    with open(src) as f:
        doc = json.load(f)
    profiles = doc["profiles"]
    fig, axes = plt.subplots(1, len(profiles), figsize=(7 * len(profiles), 5.5), squeeze=False)
    for ax, prof in zip(axes[0], profiles):
        for key, label, style in SERIES:
            levels = prof.get(key) or []
            if not levels:
                continue
            x = [lv["per_second"] for lv in levels]
            for pct, alpha in (("p50_ms", 0.45), ("p99_ms", 1.0)):
                y = [lv[pct] for lv in levels]
                line = ax.plot(x, y, style, alpha=alpha, label=f"{label} {pct[:3]}")[0]
                if pct == "p99_ms":
                    for lv, xi, yi in zip(levels, x, y):
                        ax.annotate(f"c={lv['concurrency']}", (xi, yi), textcoords="offset points",
                                    xytext=(4, 4), fontsize=7, color=line.get_color())
        e2e = prof.get("e2e") or {}
        if e2e.get("delivered_per_second"):
            ax.axvline(e2e["delivered_per_second"], color="grey", linestyle="-.", linewidth=1,
                       label=f"end to end delivered/s ({e2e['delivered_per_second']:.0f})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("throughput (requests or inserts per second)")
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"IRISX, profile {prof['profile']} ({doc['machine']['cpus']} cores)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
