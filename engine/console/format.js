// Words and numbers as the console shows them.

export const STATES = ["deliverable", "undeliverable", "risky", "unknown"];

const whole = new Intl.NumberFormat("en");

export function count(n) {
  return whole.format(n || 0);
}

export function plural(n, one, many = one + "s") {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** Seconds as "45 s", "3 min 20 s", "2 h 5 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function rate(perSecond) {
  if (!perSecond || !Number.isFinite(perSecond)) return "—";
  return perSecond >= 10 ? `${whole.format(Math.round(perSecond))}/s` : `${perSecond.toFixed(1)}/s`;
}

/** A Unix time (seconds) in the reader's local time. */
export function when(unixSeconds) {
  if (!unixSeconds) return "—";
  return new Date(unixSeconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

export function ms(value) {
  if (value === null || value === undefined) return "—";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}
