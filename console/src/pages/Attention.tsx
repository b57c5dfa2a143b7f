import { useState } from 'preact/hooks';
import { enc, getVersioned, send } from '../api';
import { etagOf } from '../components/InvoiceActions';
import { Dialog, DialogButtons, ErrorBox, Field, Link, ListStatus, MoreButton } from '../components/ui';
import { formatDateTime } from '../format';
import { useClerk, usePages } from '../hooks';
import { has, t } from '../i18n';
import type { AttentionEntry, InvoiceOverview } from '../types';

type Work = 'resend' | 'block' | 'resolve';

/** The needs-attention list, worked off in place: re-send, block dunning, resolve, each with a reason. */
export function Attention() {
  const list = usePages<AttentionEntry>('/v1/needs-attention');
  const [work, setWork] = useState<{ entry: AttentionEntry; what: Work } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const clerk = useClerk();

  return (
    <section aria-labelledby="attention-title">
      <h1 id="attention-title">{t('attention.title')}</h1>
      <ListStatus list={list} done={done} empty={t('attention.empty')} />
      {list.data && list.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('attention.kind')}</th>
              <th scope="col">{t('invoice.number')}</th>
              <th scope="col">{t('attention.message')}</th>
              <th scope="col">{t('attention.since')}</th>
              {clerk && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((e) => (
              <tr key={`${e.kind}/${e.subject}`}>
                <td>{has(`kind.${e.kind}`) ? t(`kind.${e.kind}` as 'kind.delivery') : e.kind}</td>
                <td>{e.account_id && e.invoice_number ? <Link href={`/customers/${enc(e.account_id)}`}>{e.invoice_number}</Link> : (e.invoice_number ?? '–')}</td>
                <td>{e.message}</td>
                <td>{formatDateTime(e.since)}</td>
                {clerk && (
                <td class="actions">
                  {e.kind === 'delivery' && e.invoice_id && (
                    <button type="button" class="small" data-write onClick={() => setWork({ entry: e, what: 'resend' })}>
                      {t('invoice.resend')}
                    </button>
                  )}
                  {e.invoice_id && (
                    <button type="button" class="small" data-write onClick={() => setWork({ entry: e, what: 'block' })}>
                      {t('invoice.block')}
                    </button>
                  )}
                  <button type="button" class="small" data-write onClick={() => setWork({ entry: e, what: 'resolve' })}>
                    {t('attention.resolve')}
                  </button>
                </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton cursor={list.data?.next_cursor} onMore={list.more} />
      {work && (
        <WorkDialog
          entry={work.entry}
          what={work.what}
          onClose={(message) => {
            setWork(null);
            if (message) {
              setDone(message);
              list.reload();
            }
          }}
        />
      )}
    </section>
  );
}

function WorkDialog({ entry, what, onClose }: { entry: AttentionEntry; what: Work; onClose: (done: string | null) => void }) {
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const [error, setError] = useState<unknown>(null);
  const label = t(what === 'resend' ? 'invoice.resend' : what === 'block' ? 'invoice.block' : 'attention.resolve');

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      if (what === 'resolve') {
        await send('DELETE', `/v1/needs-attention/${enc(entry.kind)}/${enc(entry.subject)}`, { reason });
      } else {
        // Writes name the invoice's current revision: read it first.
        const id = enc(entry.invoice_id!);
        const invoice = await getVersioned<InvoiceOverview>(`/v1/invoices/${id}`);
        const ifMatch = invoice.etag ?? etagOf(invoice.body);
        if (what === 'resend') await send('POST', `/v1/invoices/${id}/resend`, { reason }, ifMatch);
        else await send('PUT', `/v1/invoices/${id}/dunning-block`, until ? { reason, until } : { reason }, ifMatch);
      }
      onClose(t('attention.done', { what: `${label} ${entry.invoice_number ?? entry.subject}` }));
    } catch (err) {
      setError(err);
    }
  }

  return (
    <Dialog title={`${label}: ${entry.invoice_number ?? entry.subject}`} onClose={() => onClose(null)}>
      <form onSubmit={submit}>
        <Field label={t('common.reason')} value={reason} onInput={setReason} required maxLength={500} />
        {what === 'block' && <Field label={t('common.until')} value={until} onInput={setUntil} type="date" />}
        <ErrorBox error={error} onReload={() => onClose(null)} />
        <DialogButtons submit={label} onCancel={() => onClose(null)} />
      </form>
    </Dialog>
  );
}
