import { useEffect, useState } from 'preact/hooks';

/** The time, re-read every `everyMs`: for displays that tick ("12 s ago"). It only re-renders; it never queries. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
