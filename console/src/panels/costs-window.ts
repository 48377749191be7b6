// The Costs panel's time window, kept in the URL (?window=), and what it asks the API for.

export const WINDOWS = [
  { key: 'today', label: 'Today' },
  { key: '24h', label: '24 hours' },
  { key: '7d', label: '7 days' },
] as const;

export type WindowKey = (typeof WINDOWS)[number]['key'];

const HOUR_MS = 3_600_000;
const DEFAULT_WINDOW: WindowKey = '24h';

/** The window a URL's query names; an unknown or missing one is the default. */
export function windowOf(query: Record<string, string | undefined>): WindowKey {
  return WINDOWS.find((w) => w.key === query.window)?.key ?? DEFAULT_WINDOW;
}

export const urlOf = (key: WindowKey) => (key === DEFAULT_WINDOW ? '/costs' : `/costs?window=${key}`);

/** Where the window starts at `now`: the browser's local midnight for today. */
export function windowStart(key: WindowKey, now: number): Date {
  if (key === 'today') {
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    return midnight;
  }
  return new Date(now - (key === '24h' ? 24 : 7 * 24) * HOUR_MS);
}

/** The start of each UTC hour from `from`'s to `now`'s: the chart's x axis, empty hours included. */
export function hoursBetween(from: Date, now: number): number[] {
  const hours: number[] = [];
  for (let hour = from.getTime() - (from.getTime() % HOUR_MS); hour <= now; hour += HOUR_MS) hours.push(hour);
  return hours;
}
