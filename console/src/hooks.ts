import { useCallback, useEffect, useState } from 'preact/hooks';
import { roleOf, session } from './auth';
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

/** Whether the signed-in user is a billing clerk: only clerks see write controls (the API enforces it anyway). */
export function useClerk(): boolean {
  return roleOf(useSignal(session)) === 'billing';
}
