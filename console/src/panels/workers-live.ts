import { useEffect, useRef } from 'preact/hooks';

/**
 * Gathers values keyed by id (the latest wins) and hands them to `apply` once per animation frame: a fleet's
 * heartbeats arriving one by one cost one render a frame, not one per event. A hidden tab has no frames; its
 * batch stays one entry per id until the tab shows again.
 */
export function useFrameBatch<T>(apply: (batch: ReadonlyMap<string, T>) => void): (id: string, value: T) => void {
  const pending = useRef(new Map<string, T>());
  const frame = useRef<number | null>(null);
  const latest = useRef(apply);
  latest.current = apply;
  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );
  const push = useRef((id: string, value: T) => {
    pending.current.set(id, value);
    frame.current ??= requestAnimationFrame(() => {
      frame.current = null;
      const batch = pending.current;
      pending.current = new Map();
      latest.current(batch);
    });
  });
  return push.current;
}
