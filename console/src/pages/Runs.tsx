import { useEffect, useState } from 'preact/hooks';
import { enc, get, qs, send, type Page } from '../api';
import { ErrorBox, Field, Link, Loading } from '../components/ui';
import { formatDate, formatMoney, today } from '../format';
import { useClerk, useLoad } from '../hooks';
import { has, t } from '../i18n';
import type { Run, RunPreview } from '../types';

const POLL_MS = 1000;

/** Follow a run until it is no longer running. */
function useRunProgress(runId: string | null): { run: Run | null; error: unknown } {
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!runId) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const r = await get<Run>(`/v1/runs/${enc(runId)}`);
        if (!live) return;
        setRun(r);
        if (!finished(r)) timer = setTimeout(poll, POLL_MS);
      } catch (e) {
        if (live) setError(e);
      }
    };
    setRun(null);
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [runId]);
  return { run, error };
}

/** A run is planning, then billing its batches, then completed (billing_store::run). */
function finished(run: Run | null): boolean {
  return run?.status === 'completed';
}

function statusWord(status: string): string {
  const key = `runs.status.${status}`;
  return has(key) ? t(key) : status;
}

/** The invoice run: preview a day, see the differences, finalize exactly that preview, follow it. */
export function Runs() {
  const clerk = useClerk();
  const [date, setDate] = useState(today());
  const [previewId, setPreviewId] = useState<string | null>(null);
  const [startError, setStartError] = useState<unknown>(null);
  const previewRun = useRunProgress(previewId);
  const [preview, setPreview] = useState<RunPreview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [finalizeId, setFinalizeId] = useState<string | null>(null);
  const finalRun = useRunProgress(finalizeId);
  const recent = useLoad(() => get<Page<Run>>(`/v1/runs${qs({ limit: 5 })}`), [finalRun.run?.status]);

  useEffect(() => {
    if (!previewId || !finished(previewRun.run)) return;
    get<RunPreview>(`/v1/run-previews/${enc(previewId)}${qs({ limit: 200 })}`).then(setPreview, setPreviewError);
  }, [previewId, previewRun.run?.status]);

  async function start(e: Event) {
    e.preventDefault();
    setStartError(null);
    setPreview(null);
    setFinalizeId(null);
    try {
      const run = await send<Run>('POST', '/v1/run-previews', { run_date: date });
      setPreviewId(run.run_id);
    } catch (err) {
      setStartError(err);
    }
  }

  async function finalize() {
    setPreviewError(null);
    try {
      const run = await send<Run>('POST', `/v1/run-previews/${enc(previewId!)}/finalize`);
      setFinalizeId(run.run_id);
    } catch (err) {
      setPreviewError(err);
    }
  }

  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">{t('runs.title')}</h1>
      {clerk && (
        <form class="inline" onSubmit={start}>
          <Field label={t('runs.date')} type="date" value={date} onInput={setDate} required />
          <button type="submit" data-write>
            {t('runs.preview')}
          </button>
        </form>
      )}
      <ErrorBox error={startError} />
      {previewId && !preview && (
        <>
          <ErrorBox error={previewRun.error} />
          <RunProgress run={previewRun.run} />
        </>
      )}
      <ErrorBox error={previewError} />
      {preview && (
        <>
          <h2>
            {t('runs.preview')} {formatDate(preview.run_date)}
          </h2>
          <p>
            {t('runs.customer')}: {preview.summary.customers} · {t('runs.changed')}: {preview.summary.changed} · {t('runs.failures')}: {preview.summary.failures}
          </p>
          <table class="preview">
            <thead>
              <tr>
                <th scope="col">{t('runs.customer')}</th>
                <th scope="col" class="num">
                  {t('runs.previous')}
                </th>
                <th scope="col" class="num">
                  {t('runs.current')}
                </th>
                <th scope="col" class="num">
                  {t('runs.difference')}
                </th>
              </tr>
            </thead>
            <tbody>
              {preview.items.map((c) => (
                <tr key={c.account_id} class={c.changed ? 'changed' : undefined} data-changed={c.changed ? 'true' : 'false'}>
                  <th scope="row">
                    <Link href={`/customers/${enc(c.account_id)}`}>{c.customer_name}</Link>
                    {c.changed && <span class="tag">{t('runs.changed')}</span>}
                  </th>
                  <td class="num">{c.previous_total == null ? '–' : formatMoney({ amount: c.previous_total, currency: c.currency })}</td>
                  <td class="num">{formatMoney({ amount: c.total, currency: c.currency })}</td>
                  <td class="num">{c.difference == null ? '–' : formatMoney({ amount: c.difference, currency: c.currency })}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              {preview.summary.totals.map((s) => (
                <tr key={s.currency}>
                  <th scope="row">{t('aging.total')}</th>
                  <td class="num">{formatMoney({ amount: s.previous_total, currency: s.currency })}</td>
                  <td class="num">{formatMoney({ amount: s.total, currency: s.currency })}</td>
                  <td class="num">{formatMoney({ amount: s.difference, currency: s.currency })}</td>
                </tr>
              ))}
            </tfoot>
          </table>
          {preview.failures.length > 0 && (
            <>
              <h3>{t('runs.failures')}</h3>
              <ul>
                {preview.failures.map((f) => (
                  <li key={f.account_id}>
                    {f.account_id}: {f.reason}
                  </li>
                ))}
              </ul>
            </>
          )}
          {clerk && preview.finalizable && !finalizeId && (
            <button type="button" data-write onClick={finalize}>
              {t('runs.finalize')}
            </button>
          )}
        </>
      )}
      {finalizeId && (
        <>
          <h2>{t('runs.progress')}</h2>
          <ErrorBox error={finalRun.error} />
          <RunProgress run={finalRun.run} />
        </>
      )}
      <h2>{t('runs.recent')}</h2>
      {recent.loading && <Loading />}
      <ErrorBox error={recent.error} />
      {recent.data && recent.data.items.length === 0 && <p>{t('common.none')}</p>}
      {recent.data && recent.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('runs.date')}</th>
              <th scope="col">{t('runs.status')}</th>
              <th scope="col" class="num">
                {t('runs.invoices')}
              </th>
            </tr>
          </thead>
          <tbody>
            {recent.data.items.map((r) => (
              <tr key={r.run_id}>
                <td>
                  {formatDate(r.run_date)} ({r.mode})
                </td>
                <td>{statusWord(r.status)}</td>
                <td class="num">{r.outcome?.invoices ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RunProgress({ run }: { run: Run | null }) {
  if (!run) return <Loading />;
  const planned = run.planned_batches ?? 0;
  return (
    <div class="progress" role="status" aria-live="polite">
      <label>
        {t('runs.status')}: <span data-status={run.status}>{statusWord(run.status)}</span> — {t('runs.batches', { done: run.done_batches, planned })}
        <progress max={Math.max(planned, 1)} value={run.done_batches} />
      </label>
      {run.outcome && (
        <p>
          {t('runs.invoices')}: {run.outcome.invoices}
          {Object.entries(run.outcome.totals).map(([currency, amount]) => ` · ${formatMoney({ amount, currency })}`)}
        </p>
      )}
    </div>
  );
}
