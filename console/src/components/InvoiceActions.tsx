import { useEffect, useState } from 'preact/hooks';
import { enc, get, send } from '../api';
import { formatMoney } from '../format';
import { t, type MessageKey } from '../i18n';
import type { CreditNoteIssued, DocumentLinks, InvoiceDetail, InvoiceLine, InvoiceOverview } from '../types';
import { Dialog, DialogButtons, ErrorBox, Field } from './ui';

/** The `If-Match` of an invoice read in a list: its revision as the API's ETag. */
export function etagOf(invoice: { revision: number }): string {
  return `"r${invoice.revision}"`;
}

/** Open the archived PDF of an invoice or credit note through its presigned link. */
export function PdfButton({ invoiceId, number }: { invoiceId: string; number: string }) {
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);
  async function open() {
    setError(null);
    try {
      const links = await get<DocumentLinks>(`/v1/invoices/${enc(invoiceId)}/documents`);
      const pdf = links.documents.find((d) => d.kind === 'pdf');
      if (!pdf) return setMissing(true);
      window.open(pdf.url, '_blank', 'noopener');
    } catch (e) {
      setError(e);
    }
  }
  return (
    <>
      <button type="button" class="link" onClick={open} aria-label={t('invoice.pdfOf', { number })}>
        {t('invoice.pdf')}
      </button>
      {missing && <span class="muted"> {t('invoice.noPdf')}</span>}
      <ErrorBox error={error} />
    </>
  );
}

type Action = 'cancel' | 'credit' | 'block' | 'unblock' | 'dispute' | 'resolve' | 'resend';

const LABELS: Record<Action, MessageKey> = {
  cancel: 'invoice.cancel',
  credit: 'invoice.creditNote',
  block: 'invoice.block',
  unblock: 'invoice.unblock',
  dispute: 'invoice.dispute',
  resolve: 'invoice.resolveDispute',
  resend: 'invoice.resend',
};

/** The clerk's actions on one invoice, each asking for its reason in a dialog. */
export function InvoiceActions({ invoice, onChanged, onReload }: { invoice: InvoiceOverview; onChanged: () => void; onReload: () => void }) {
  const [open, setOpen] = useState<Action | null>(null);
  if (invoice.document_type === '381') return null;
  const live = invoice.status !== 'cancelled';
  const actions: Action[] = [];
  if (live) {
    actions.push('cancel', 'credit');
    actions.push(invoice.dunning_blocked ? 'unblock' : 'block');
    actions.push(invoice.disputed ? 'resolve' : 'dispute');
  }
  actions.push('resend');
  return (
    <div class="actions">
      {actions.map((a) => (
        <button type="button" class="small" data-write onClick={() => setOpen(a)} aria-label={`${t(LABELS[a])} ${invoice.invoice_number}`}>
          {t(LABELS[a])}
        </button>
      ))}
      {open && (
        <ActionDialog
          action={open}
          invoice={invoice}
          onClose={(changed) => {
            setOpen(null);
            if (changed) onChanged();
          }}
          onReload={onReload}
        />
      )}
    </div>
  );
}

function ActionDialog({ action, invoice, onClose, onReload }: { action: Action; invoice: InvoiceOverview; onClose: (changed: boolean) => void; onReload: () => void }) {
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const [release, setRelease] = useState(false);
  const [net, setNet] = useState('');
  const [rate, setRate] = useState('19');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [issued, setIssued] = useState<CreditNoteIssued | null>(null);
  const [byLines, setByLines] = useState(false);
  const [lines, setLines] = useState<InvoiceLine[] | null>(null);
  const [chosen, setChosen] = useState<Record<number, string>>({});
  const id = enc(invoice.invoice_id);
  useEffect(() => {
    if (action !== 'credit' || !byLines || lines) return;
    get<InvoiceDetail>(`/v1/invoices/${id}`).then((d) => setLines(d.document.content.lines), setError);
  }, [byLines]);
  const ifMatch = etagOf(invoice);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      switch (action) {
        case 'cancel':
          setIssued(await send<CreditNoteIssued>('POST', `/v1/invoices/${id}/cancellation`, { reason, release_periods: release }, ifMatch));
          return;
        case 'credit':
          setIssued(
            await send<CreditNoteIssued>(
              'POST',
              `/v1/invoices/${id}/credit-notes`,
              {
                reason,
                selection: byLines
                  ? { kind: 'lines', lines: Object.entries(chosen).map(([position, quantity]) => (quantity ? { position: Number(position), quantity: quantity.replace(',', '.') } : { position: Number(position) })) }
                  : { kind: 'amount', net: { amount: net.replace(',', '.'), currency: invoice.total.currency }, category: 'S', rate },
              },
              ifMatch,
            ),
          );
          return;
        case 'block':
          await send('PUT', `/v1/invoices/${id}/dunning-block`, until ? { reason, until } : { reason }, ifMatch);
          break;
        case 'unblock':
          await send('DELETE', `/v1/invoices/${id}/dunning-block`, { reason }, ifMatch);
          break;
        case 'dispute':
          await send('PUT', `/v1/invoices/${id}/dispute`, { reason }, ifMatch);
          break;
        case 'resolve':
          await send('DELETE', `/v1/invoices/${id}/dispute`, { reason }, ifMatch);
          break;
        case 'resend':
          await send('POST', `/v1/invoices/${id}/resend`, { reason }, ifMatch);
          break;
      }
      onClose(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const title = `${t(LABELS[action])}: ${invoice.invoice_number}`;
  if (issued) {
    return (
      <Dialog title={title} onClose={() => onClose(true)}>
        <h3>{t('invoice.resulting')}</h3>
        <dl class="facts">
          <dt>{t('invoice.resultNumber')}</dt>
          <dd>{issued.credit_note_number}</dd>
          <dt>{t('invoice.resultAmount')}</dt>
          <dd>{formatMoney(issued.amount)}</dd>
          <dt>{t('invoice.resultOpen')}</dt>
          <dd>{formatMoney(issued.open_after)}</dd>
          <dt>{t('invoice.resultCredit')}</dt>
          <dd>{formatMoney(issued.customer_credit)}</dd>
        </dl>
        <p>
          <PdfButton invoiceId={issued.credit_note_id} number={issued.credit_note_number} />
        </p>
        <button type="button" onClick={() => onClose(true)}>
          {t('common.close')}
        </button>
      </Dialog>
    );
  }
  return (
    <Dialog title={title} onClose={() => onClose(false)}>
      <form onSubmit={submit}>
        {action === 'credit' && (
          <fieldset class="plain">
            <legend>{t('invoice.creditBy')}</legend>
            <label class="check">
              <input type="radio" name="credit-by" checked={!byLines} onChange={() => setByLines(false)} /> {t('invoice.creditByAmount')}
            </label>
            <label class="check">
              <input type="radio" name="credit-by" checked={byLines} onChange={() => setByLines(true)} /> {t('invoice.creditByLines')}
            </label>
          </fieldset>
        )}
        {action === 'credit' && !byLines && (
          <>
            <Field label={t('invoice.net')} value={net} onInput={setNet} required inputMode="decimal" pattern="[0-9]+([.,][0-9]{1,2})?" />
            <Field label={t('invoice.rate')} value={rate} onInput={setRate} required inputMode="decimal" />
          </>
        )}
        {action === 'credit' && byLines && lines && (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('invoice.line')}</th>
                <th scope="col" class="num">
                  {t('invoice.net')}
                </th>
                <th scope="col">{t('invoice.quantity')}</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l) => (
                <tr key={l.position}>
                  <td>
                    <label class="check">
                      <input
                        type="checkbox"
                        checked={l.position in chosen}
                        onChange={(e) => {
                          const next = { ...chosen };
                          if ((e.target as HTMLInputElement).checked) next[l.position] = '';
                          else delete next[l.position];
                          setChosen(next);
                        }}
                      />
                      {l.position}. {l.item.description}
                    </label>
                  </td>
                  <td class="num">{formatMoney(l.net_amount)}</td>
                  <td>
                    <input
                      aria-label={`${t('invoice.quantity')} ${l.position}`}
                      inputMode="decimal"
                      size={6}
                      placeholder={l.item.quantity}
                      disabled={!(l.position in chosen)}
                      value={chosen[l.position] ?? ''}
                      onInput={(e) => setChosen({ ...chosen, [l.position]: (e.target as HTMLInputElement).value })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Field label={t('common.reason')} value={reason} onInput={setReason} required maxLength={500} />
        {action === 'block' && <Field label={t('common.until')} value={until} onInput={setUntil} type="date" />}
        {action === 'cancel' && (
          <div class="check">
            <input id="release" type="checkbox" checked={release} onChange={(e) => setRelease((e.target as HTMLInputElement).checked)} />
            <label for="release">{t('invoice.releasePeriods')}</label>
          </div>
        )}
        <ErrorBox
          error={error}
          onReload={() => {
            onClose(false);
            onReload();
          }}
        />
        <DialogButtons submit={t(LABELS[action])} onCancel={() => onClose(false)} busy={busy} />
      </form>
    </Dialog>
  );
}
