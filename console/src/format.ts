import { lang } from './i18n';

/** Money as the API sends it: a decimal string and its currency. */
export interface Money {
  amount: string;
  currency: string;
}

/**
 * The locale numbers and dates are written in: the browser's own locale for
 * the language shown (de-AT stays de-AT), else the language itself.
 */
export function locale(languages: readonly string[] = navigator.languages ?? []): string {
  const l = lang.get();
  return languages.find((x) => x.toLowerCase().split('-')[0] === l) ?? l;
}

/**
 * An amount in the user's locale. The decimal string is split, not parsed
 * into a float, so no cent is lost on large amounts.
 */
export function formatMoney(m: Money | null | undefined, loc = locale()): string {
  if (!m) return '–';
  const negative = m.amount.startsWith('-');
  const [whole, frac = ''] = m.amount.replace('-', '').split('.');
  const fmt = new Intl.NumberFormat(loc, { style: 'currency', currency: m.currency });
  const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
  const parts = fmt.formatToParts(negative ? -1 : 1);
  const fraction = frac.padEnd(digits, '0').slice(0, Math.max(digits, frac.length));
  const group = new Intl.NumberFormat(loc, { useGrouping: true }).format(BigInt(whole || '0'));
  return parts
    .map((p) => {
      if (p.type === 'integer') return group;
      if (p.type === 'fraction') return fraction;
      return p.value;
    })
    .join('');
}

/** A `YYYY-MM-DD` date in the user's locale (read as a calendar day, not shifted by time zone). */
export function formatDate(day: string | null | undefined, loc = locale()): string {
  if (!day) return '–';
  const [y, m, d] = day.split('-').map(Number);
  return new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** A timestamp in the user's locale and time zone. */
export function formatDateTime(at: string | null | undefined, loc = locale()): string {
  if (!at) return '–';
  return new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(at));
}

/** A `YYYY-MM` month, short, in the user's locale. */
export function formatMonth(month: string, loc = locale()): string {
  const [y, m] = month.split('-').map(Number);
  return new Intl.DateTimeFormat(loc, { month: 'short', year: '2-digit', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** A share 0..1 (decimal string) as a percentage in the user's locale. */
export function formatShare(share: string | null | undefined, loc = locale()): string {
  if (share == null) return '–';
  return new Intl.NumberFormat(loc, { style: 'percent', maximumFractionDigits: 1 }).format(Number(share));
}

/** A decimal figure (days) in the user's locale. */
export function formatDecimal(value: string | null | undefined, loc = locale()): string {
  if (value == null) return '–';
  return new Intl.NumberFormat(loc, { maximumFractionDigits: 1 }).format(Number(value));
}

/** Today's date as `YYYY-MM-DD` in the browser's time zone. */
export function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
