import { useCallback, useEffect, useState } from 'preact/hooks';
import { roleOf, session } from './auth';
import { get, qs, type Page } from './api';
import type { Signal } from './signal';

/** Re-render when the signal changes. */
export function useSignal<T>(s: Signal<T>): T {
  const [value, setValue] = useState(s.get());
  useEffect(() => s.subscribe(setValue), [s]);
  return value;
}

/** Load once per `deps`; `reload()` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/**
 * A list read through the API's cursors, 50 items a page: `more()` appends
 * the next page to what is shown, `reload()` starts again from the first.
 */
export function usePages<T>(path: string) {
  const [cursor, setCursor] = useState<string | null>(null);
  const [items, setItems] = useState<T[]>([]);
  const page = useLoad(() => get<Page<T>>(`${path}${qs({ limit: 50, cursor })}`), [path, cursor]);
  useEffect(() => {
    if (page.data) setItems((shown) => (cursor === null ? page.data!.items : [...shown, ...page.data!.items]));
  }, [page.data]);
  const next = page.data?.next_cursor ?? null;
  return {
    ...page,
    data: page.data && { items: cursor === null ? page.data.items : items, next_cursor: next },
    more: () => next && setCursor(next),
    reload: () => (cursor === null ? page.reload() : setCursor(null)),
  };
}

/** Whether the signed-in user is a billing clerk: only clerks see write controls (the API enforces it anyway). */
export function useClerk(): boolean {
  return roleOf(useSignal(session)) === 'billing';
}
