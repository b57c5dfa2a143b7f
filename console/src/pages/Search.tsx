import { useState } from 'preact/hooks';
import { enc, get, qs, type Page } from '../api';
import { ErrorBox, Field, Link, Loading } from '../components/ui';
import { t } from '../i18n';
import type { SearchHit } from '../types';

/** Find a customer by the start of its name, its CRM id or an invoice number. */
export function Search() {
  const [q, setQ] = useState(new URLSearchParams(location.search).get('q') ?? '');
  const [state, setState] = useState<{ items?: SearchHit[]; error?: unknown; loading?: boolean }>({});

  async function search(e: Event) {
    e.preventDefault();
    const term = q.trim();
    if (!term) return;
    history.replaceState(null, '', `/${qs({ q: term })}`);
    setState({ loading: true });
    try {
      const page = await get<Page<SearchHit>>(`/v1/search${qs({ q: term, limit: 50 })}`);
      setState({ items: page.items });
    } catch (error) {
      setState({ error });
    }
  }

  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title">{t('search.title')}</h1>
      <form role="search" class="inline" onSubmit={search}>
        <Field label={t('search.label')} value={q} onInput={setQ} name="q" type="search" required aria-describedby="search-hint" />
        <button type="submit">{t('search.submit')}</button>
      </form>
      <p id="search-hint" class="muted">
        {t('search.hint')}
      </p>
      {state.loading && <Loading />}
      <ErrorBox error={state.error} />
      {state.items && state.items.length === 0 && <p>{t('search.noResults')}</p>}
      {state.items && state.items.length > 0 && (
        <table>
          <caption>{t('search.results')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('customer.title')}</th>
              <th scope="col">{t('search.crmId')}</th>
              <th scope="col">{t('search.city')}</th>
            </tr>
          </thead>
          <tbody>
            {state.items.map(({ account: a, invoice, matched }) => (
              <tr key={`${matched}-${a.id}-${invoice?.invoice_id ?? ''}`}>
                <td>
                  <Link href={`/customers/${enc(a.id)}`}>{a.name}</Link>
                  {invoice && <span class="muted"> ({invoice.invoice_number})</span>}
                </td>
                <td>{a.crm_id ?? '–'}</td>
                <td>{a.address?.city ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
