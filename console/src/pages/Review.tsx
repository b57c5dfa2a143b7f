import { useState } from 'preact/hooks';
import { enc, get, qs, send, type Page } from '../api';
import { Dialog, DialogButtons, ErrorBox, Field, ListStatus, MoreButton } from '../components/ui';
import { formatDate, formatMoney } from '../format';
import { useClerk, usePages } from '../hooks';
import { t } from '../i18n';
import type { AttentionEntry, SearchHit } from '../types';

/**
 * The payment review list: bank entries nobody could match. A clerk assigns
 * one to an invoice: the payment is booked on it (what exceeds the open
 * amount becomes the customer's credit) and the entry leaves the list with
 * the reason.
 */
export function Review() {
  const list = usePages<AttentionEntry>('/v1/payments/review');
  const [assign, setAssign] = useState<AttentionEntry | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const clerk = useClerk();
  return (
    <section aria-labelledby="review-title">
      <h1 id="review-title">{t('review.title')}</h1>
      <ListStatus list={list} done={done} empty={t('review.empty')} />
      {list.data && list.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('review.valueDate')}</th>
              <th scope="col" class="num">
                {t('review.amount')}
              </th>
              <th scope="col">{t('review.remittance')}</th>
              <th scope="col">{t('attention.message')}</th>
              {clerk && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((e) => (
              <tr key={e.subject}>
                <td>{formatDate(e.bank_entry?.value_date)}</td>
                <td class="num">{formatMoney(e.bank_entry?.amount)}</td>
                <td>{e.bank_entry?.remittance ?? '–'}</td>
                <td>{e.message}</td>
                {clerk && (
                  <td>
                    <button type="button" class="small" data-write onClick={() => setAssign(e)}>
                      {t('review.assign')}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MoreButton cursor={list.data?.next_cursor} onMore={list.more} />
      {assign && (
        <AssignDialog
          entry={assign}
          onClose={(message) => {
            setAssign(null);
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

function AssignDialog({ entry, onClose }: { entry: AttentionEntry; onClose: (done: string | null) => void }) {
  const [number, setNumber] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const bank = entry.bank_entry!;

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      const hits = await get<Page<SearchHit>>(`/v1/search${qs({ q: number.trim(), limit: 1 })}`);
      const invoice = hits.items.find((h) => h.matched === 'invoice_number')?.invoice;
      if (!invoice) throw new Error(`${t('review.invoiceId')}: ${t('error.notFound')}`);
      await send(
        'POST',
        `/v1/invoices/${enc(invoice.invoice_id)}/payments`,
        { amount: bank.amount, value_date: bank.value_date, reference: `${bank.statement_id}#${bank.entry_id}`, reason },
        `"r${invoice.revision}"`,
      );
      await send('DELETE', `/v1/needs-attention/unmatched_payment/${enc(entry.subject)}`, { reason });
      onClose(t('attention.done', { what: `${formatMoney(bank.amount)} → ${invoice.invoice_number}` }));
    } catch (err) {
      setError(err);
    }
  }

  return (
    <Dialog title={`${t('review.assign')}: ${formatMoney(bank.amount)}`} onClose={() => onClose(null)}>
      <form onSubmit={submit}>
        <Field label={t('review.invoiceId')} value={number} onInput={setNumber} required />
        <Field label={t('common.reason')} value={reason} onInput={setReason} required maxLength={500} />
        <ErrorBox error={error} onReload={() => onClose(null)} />
        <DialogButtons submit={t('review.assign')} onCancel={() => onClose(null)} />
      </form>
    </Dialog>
  );
}
