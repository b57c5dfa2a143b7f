import { useState } from 'preact/hooks';
import { enc, get, qs, type Page } from '../api';
import { InvoiceActions, PdfButton } from '../components/InvoiceActions';
import { TrendChart } from '../components/TrendChart';
import { Defined, ErrorBox, Loading } from '../components/ui';
import { formatDate, formatDecimal, formatMoney, formatShare } from '../format';
import { useClerk, useLoad } from '../hooks';
import { has, t, type MessageKey } from '../i18n';
import type { AccountOverview, InvoiceOverview } from '../types';

const PAGE = 50;

/** One customer: contracts, invoices, payments, dunning and how the customer pays. */
export function Customer({ id }: { id: string }) {
  const clerk = useClerk();
  const base = `/v1/accounts/${enc(id)}`;
  // One request for the whole page (the budget: at most 3); longer lists continue on demand.
  const data = useLoad(() => get<AccountOverview>(`${base}/overview${qs({ invoice_limit: PAGE })}`), [id]);
  const [more, setMore] = useState<{ items: InvoiceOverview[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);

  if (!data.data) {
    return (
      <article>
        <h1>{t('customer.title')}</h1>
        {data.loading ? <Loading /> : <ErrorBox error={data.error} onReload={data.reload} />}
      </article>
    );
  }
  const { account, contracts, invoices: firstInvoices, payments, dunning, payment_behaviour: behaviour } = data.data;
  const invoices = [...firstInvoices.items, ...(more?.items ?? [])];
  const cursor = more ? more.cursor : firstInvoices.next_cursor;

  async function loadMore() {
    try {
      const page = await get<Page<InvoiceOverview>>(`${base}/invoices${qs({ limit: PAGE, cursor })}`);
      setMore({ items: [...(more?.items ?? []), ...page.items], cursor: page.next_cursor });
    } catch (e) {
      setMoreError(e);
    }
  }
  function reload() {
    setMore(null);
    data.reload();
  }

  return (
    <article aria-labelledby="customer-name">
      <h1 id="customer-name">{account.name}</h1>
      <p class="muted">
        {t('search.crmId')}: {account.crm_id ?? '–'} · {account.address?.city ?? ''}
      </p>

      <p>
        {t('customer.dunningLevel')}: {dunning.highest_level}
        {dunning.blocked_invoices.length > 0 && <span class="tag">{t('invoice.blocked')}: {dunning.blocked_invoices.length}</span>}
        {dunning.disputed_invoices.length > 0 && <span class="tag">{t('invoice.disputed')}: {dunning.disputed_invoices.length}</span>}
      </p>

      <section aria-labelledby="behaviour-title">
        <h2 id="behaviour-title">{t('customer.behaviour')}</h2>
        <div class="behaviour">
          <dl class="facts">
            <Figure term="customer.avgFromIssue" value={formatDecimal(behaviour.average_days_to_pay_from_issue)} />
            <Figure term="customer.avgFromDue" value={formatDecimal(behaviour.average_days_to_pay_from_due)} />
            <Figure term="customer.onTime" value={formatShare(behaviour.share_paid_on_time)} />
            <Figure term="customer.avgOverdue" value={formatDecimal(behaviour.average_days_overdue)} />
            <Figure term="customer.openBalance" value={behaviour.open_balance.map((m) => formatMoney(m)).join(', ') || formatMoney({ amount: '0', currency: account.currency })} />
            <Figure term="customer.overdueBalance" value={behaviour.overdue_balance.map((m) => formatMoney(m)).join(', ') || formatMoney({ amount: '0', currency: account.currency })} />
            <Figure term="customer.dunningLevel" value={String(behaviour.highest_dunning_level)} />
          </dl>
          <TrendChart trend={behaviour.trend} />
        </div>
      </section>

      <section aria-labelledby="contracts-title">
        <h2 id="contracts-title">{t('customer.contracts')}</h2>
        {contracts.items.length === 0 ? (
          <p>{t('common.none')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('customer.contract')}</th>
                <th scope="col">{t('customer.nextBilling')}</th>
              </tr>
            </thead>
            <tbody>
              {contracts.items.map((c) => (
                <tr key={c.id}>
                  <td>{c.id}</td>
                  <td>{formatDate(c.next_due_date)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="invoices-title">
        <h2 id="invoices-title">{t('customer.invoices')}</h2>
        {invoices.length === 0 ? (
          <p>{t('common.none')}</p>
        ) : (
          <div class="scroll">
            <table class="invoices">
              <thead>
                <tr>
                  <th scope="col">{t('invoice.number')}</th>
                  <th scope="col">{t('invoice.status')}</th>
                  <th scope="col">{t('invoice.issued')}</th>
                  <th scope="col">{t('invoice.due')}</th>
                  <th scope="col" class="num">
                    {t('invoice.total')}
                  </th>
                  <th scope="col" class="num">
                    {t('invoice.open')}
                  </th>
                  <th scope="col">{t('invoice.dunning')}</th>
                  <th scope="col">{t('invoice.pdf')}</th>
                  {clerk && <th scope="col">{t('common.actions')}</th>}
                </tr>
              </thead>
              <tbody>
                {invoices.map((inv) => (
                  <tr key={inv.invoice_id} data-invoice={inv.invoice_number}>
                    <td>
                      {inv.invoice_number}
                      {inv.document_type === '381' && <span class="muted"> ({t('doctype.381')})</span>}
                    </td>
                    <td>
                      <span class={`status status-${inv.status}`}>{statusText(inv.status)}</span>
                    </td>
                    <td>{formatDate(inv.issue_date)}</td>
                    <td>{formatDate(inv.due_date)}</td>
                    <td class="num">{formatMoney(inv.total)}</td>
                    <td class="num">{formatMoney(inv.open_amount)}</td>
                    <td>
                      {inv.dunning_level > 0 ? t('invoice.level', { level: inv.dunning_level }) : '–'}
                      {inv.dunning_blocked && <span class="tag">{t('invoice.blocked')}</span>}
                      {inv.disputed && <span class="tag">{t('invoice.disputed')}</span>}
                    </td>
                    <td>
                      <PdfButton invoiceId={inv.invoice_id} number={inv.invoice_number} />
                    </td>
                    {clerk && (
                      <td>
                        <InvoiceActions invoice={inv} onChanged={reload} onReload={reload} />
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <ErrorBox error={moreError} />
        {cursor && (
          <button type="button" class="secondary" onClick={loadMore}>
            {t('common.more')}
          </button>
        )}
      </section>

      <section aria-labelledby="payments-title">
        <h2 id="payments-title">{t('customer.payments')}</h2>
        {payments.length === 0 ? (
          <p>{t('customer.noPayments')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('review.valueDate')}</th>
                <th scope="col">{t('invoice.number')}</th>
                <th scope="col" class="num">
                  {t('review.amount')}
                </th>
              </tr>
            </thead>
            <tbody>
              {payments.map((p) => (
                <tr key={p.payment.payment_id}>
                  <td>{formatDate(p.payment.value_date)}</td>
                  <td>{p.invoice_number}</td>
                  <td class="num">{formatMoney(p.payment.amount)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </article>
  );
}

function Figure({ term, value }: { term: MessageKey; value: string }) {
  return (
    <>
      <dt>
        <Defined term={t(term)} definition={t(`${term}.def` as MessageKey)} />
      </dt>
      <dd>{value}</dd>
    </>
  );
}

/** An invoice status in words (the API's own word for one the catalogue does not know). */
export function statusText(status: string): string {
  const key = `status.${status}`;
  return has(key) ? t(key) : status;
}
