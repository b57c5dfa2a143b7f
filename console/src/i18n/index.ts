import { signal } from '../signal';
import { de } from './de';
import { en, type MessageKey } from './en';

export type Lang = 'de' | 'en';
const catalogues: Record<Lang, Record<MessageKey, string>> = { de, en };

/** The browser's preferred language among those the console speaks. */
export function preferredLang(languages: readonly string[]): Lang {
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0];
    if (base === 'de' || base === 'en') return base;
  }
  return 'en';
}

/** The language shown: the user's switch (kept for this tab), else the browser's. */
export const lang = signal<Lang>(
  (sessionStorage.getItem('lang') as Lang | null) ?? preferredLang(navigator.languages ?? [navigator.language]),
);

export function setLang(next: Lang) {
  sessionStorage.setItem('lang', next);
  document.documentElement.lang = next;
  lang.set(next);
}

/** The text for `key` in the current language, `{name}` replaced from `params`. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = catalogues[lang.get()][key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** Whether the catalogue has `key` (for words the API sends, such as statuses). */
export function has(key: string): key is MessageKey {
  return key in en;
}

export type { MessageKey };
