import { ApiError } from './api';
import { t } from './i18n';

/**
 * What a person reads for a failed call: the API's own message and each
 * field at fault, or a sentence for the status when the API gave no body.
 */
export function describeError(err: unknown): { lines: string[]; stale: boolean } {
  if (!(err instanceof ApiError)) return { lines: [String((err as Error)?.message ?? err)], stale: false };
  const stale = err.status === 412;
  const lines: string[] = [];
  if (stale) lines.push(t('error.stale'));
  else if (err.status === 0) lines.push(t('error.network'));
  else if (err.status === 403) lines.push(t('error.forbidden'));
  else if (err.status === 404 && !err.body) lines.push(t('error.notFound'));
  else if (err.status === 503 && !err.body) lines.push(t('error.unavailable'));
  if (err.body && !stale) {
    lines.push(err.body.message);
    for (const e of err.body.errors ?? []) {
      const field = e.pointer.replace(/^\//, '').replace(/^path\//, '') || e.pointer;
      lines.push(t('error.field', { field, message: e.message }));
    }
  }
  if (lines.length === 0) lines.push(`HTTP ${err.status}`);
  return { lines, stale };
}
