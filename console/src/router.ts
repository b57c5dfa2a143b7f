import { signal } from './signal';

/** The current path; the console is one page, moved by history. */
export const route = signal(location.pathname + location.search);

export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  route.set(to);
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => route.set(location.pathname + location.search));

/** The path's segments after matching `pattern` (`/customers/:id`), or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const [p] = path.split('?');
  const a = pattern.split('/');
  const b = p.split('/');
  if (a.length !== b.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) out[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return out;
}
