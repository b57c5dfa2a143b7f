import { useState } from 'preact/hooks';
import { enc, get, qs } from '../api';
import { ErrorBox, Field, Link, Loading } from '../components/ui';
import { formatDate, formatMoney, today } from '../format';
import { useLoad } from '../hooks';
import { t } from '../i18n';
import { AGING_BUCKETS, type Aging as AgingData } from '../types';

/** The receivables aging as of any day: buckets, their total (= what is outstanding), a chart, and the same per customer. */
export function Aging() {
  // The day is part of the address, so a reload or a new sign-in shows the same aging.
  const [asOf, setAsOf] = useState(new URLSearchParams(location.search).get('as_of') ?? today());
  const [shown, setShown] = useState(asOf);
  const data = useLoad(() => get<AgingData>(`/v1/receivables/aging${qs({ as_of: shown })}`), [shown]);
  const a = data.data;
  const max = a ? Math.max(1e-9, ...AGING_BUCKETS.map((b) => Math.abs(Number(a.buckets[b].amount)))) : 1;
  return (
    <section aria-labelledby="aging-title">
      <h1 id="aging-title">{t('aging.title')}</h1>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          history.replaceState(null, '', `/aging${qs({ as_of: asOf })}`);
          setShown(asOf);
        }}
      >
        <Field label={t('aging.asOf')} type="date" value={asOf} onInput={setAsOf} required />
        <button type="submit">{t('aging.show')}</button>
      </form>
      {data.loading && <Loading />}
      <ErrorBox error={data.error} />
      {a && (
        <>
          <table>
            <caption>
              {t('aging.asOf')} {formatDate(a.as_of)}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('aging.bucket')}</th>
                <th scope="col" class="num">
                  {t('aging.count')}
                </th>
                <th scope="col" class="num">
                  {t('aging.amount')}
                </th>
              </tr>
            </thead>
            <tbody>
              {AGING_BUCKETS.map((b, i) => (
                <tr key={b}>
                  <th scope="row">{t(`aging.${b}`)}</th>
                  <td class="num">{a.counts[i]}</td>
                  <td class="num">{formatMoney(a.buckets[b])}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">{t('aging.total')}</th>
                <td class="num">{a.counts.reduce((x, y) => x + y, 0)}</td>
                <td class="num" data-total data-amount={a.total.amount}>
                  {formatMoney(a.total)}
                </td>
              </tr>
            </tfoot>
          </table>
          <figure class="chart">
            <figcaption>{t('aging.chart')}</figcaption>
            <svg viewBox="0 0 500 170" width="100%" height="170" role="img" aria-label={t('aging.chart')}>
              {AGING_BUCKETS.map((b, i) => {
                const h = (Math.abs(Number(a.buckets[b].amount)) / max) * 130;
                return (
                  <g key={b}>
                    <rect x={i * 100 + 15} y={140 - h} width="70" height={h} class={i === 0 ? 'bar-ok' : 'bar-late'} />
                    <text x={i * 100 + 50} y="160" text-anchor="middle" class="axis">
                      {t(`aging.${b}`)}
                    </text>
                  </g>
                );
              })}
            </svg>
          </figure>
          <CustomerTable aging={a} />
        </>
      )}
    </section>
  );
}

/** The aging per customer: who owes the old amounts. The footer is the seller's figures, which the rows add up to. */
function CustomerTable({ aging: a }: { aging: AgingData }) {
  return (
    <div class="scroll">
      <table class="aging-customers">
        <caption>{t('aging.perCustomer', { date: formatDate(a.as_of) })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('aging.customer')}</th>
            {AGING_BUCKETS.map((b) => (
              <th scope="col" class="num" key={b}>
                {t(`aging.${b}`)}
              </th>
            ))}
            <th scope="col" class="num">
              {t('aging.total')}
            </th>
          </tr>
        </thead>
        <tbody>
          {a.customers.length === 0 && (
            <tr>
              <td colSpan={AGING_BUCKETS.length + 2}>{t('aging.noCustomers')}</td>
            </tr>
          )}
          {a.customers.map((c) => (
            <tr key={c.account_id} data-customer={c.account_id}>
              <th scope="row">
                <Link href={`/customers/${enc(c.account_id)}`}>{c.name}</Link>
              </th>
              {AGING_BUCKETS.map((b) => (
                <td class="num" key={b}>
                  {formatMoney(c.buckets[b])}
                </td>
              ))}
              <td class="num" data-amount={c.total.amount}>
                {formatMoney(c.total)}
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">{t('aging.total')}</th>
            {AGING_BUCKETS.map((b) => (
              <td class="num" key={b}>
                {formatMoney(a.buckets[b])}
              </td>
            ))}
            <td class="num" data-customers-total data-amount={a.total.amount}>
              {formatMoney(a.total)}
            </td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
