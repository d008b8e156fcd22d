// Per-isolate state for Workers entries. A Worker may do no I/O at startup (module top level), so what needs
// storage, such as the model package, is built on the first request and kept for the isolate's lifetime.
// Concurrent first requests share one build; a failed build is dropped, so the next request tries again.

/** `get(arg)` builds once per isolate with the first caller's argument (usually `env`) and shares it. */
export function perIsolate<A, T>(build: (arg: A) => Promise<T>): (arg: A) => Promise<T> {
  let pending: Promise<T> | null = null;
  return (arg: A) => {
    if (!pending) {
      const p = build(arg);
      pending = p;
      p.catch(() => {
        if (pending === p) pending = null;
      });
    }
    return pending;
  };
}
