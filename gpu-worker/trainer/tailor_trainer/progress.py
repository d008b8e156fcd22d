"""Progress for long jobs: a one-line bar on a terminal, plain lines in logs, and optionally JSON lines on
stdout (`--progress-json`) that the orchestrator streams into the job row."""
from __future__ import annotations

import json
import sys
import time


class Progress:
    json_lines = False  # set by the CLI flag

    def __init__(self, label: str, total: int, every_s: float = 2.0):
        self.label, self.total, self.every_s = label, total, every_s
        self.t0 = self.last = time.time()
        self.tty = sys.stderr.isatty()

    def update(self, done: int, **fields) -> None:
        now = time.time()
        if done < self.total and now - self.last < self.every_s:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else 0.0
        shown = {k: v for k, v in fields.items() if v is not None}
        if Progress.json_lines:
            print(json.dumps({"event": "progress", "stage": self.label, "done": done, "total": self.total,
                              "eta_s": round(eta, 1), **shown}), flush=True)
        width = 30
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())
        line = f"{self.label} [{bar}] {done}/{self.total} eta {eta:5.0f}s {extra}"
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if done >= self.total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
