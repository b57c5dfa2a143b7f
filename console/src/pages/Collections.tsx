import { useState } from 'preact/hooks';
import { enc, send } from '../api';
import { ErrorBox, ListStatus, MoreButton } from '../components/ui';
import { formatDate, formatDateTime, formatMoney } from '../format';
import { useClerk, usePages } from '../hooks';
import { t } from '../i18n';
import type { CollectionDownload, CollectionFile } from '../types';

/**
 * The SEPA direct-debit files (pain.008) the collection step wrote, one per
 * scheme and collection date. A clerk downloads a file to hand it to the
 * bank; the first download marks it handed over, so the list shows what
 * still has to go.
 */
export function Collections() {
  const list = usePages<CollectionFile>('/v1/collection-files');
  const [links, setLinks] = useState<Record<string, CollectionDownload>>({});
  const [failure, setFailure] = useState<unknown>(null);
  const clerk = useClerk();

  async function download(file: CollectionFile) {
    setFailure(null);
    try {
      const got = await send<CollectionDownload>('POST', `/v1/collection-files/${enc(file.batch_id)}/download`, {});
      setLinks((known) => ({ ...known, [file.batch_id]: got }));
      list.reload();
    } catch (e) {
      setFailure(e);
    }
  }

  return (
    <section aria-labelledby="collections-title">
      <h1 id="collections-title">{t('collections.title')}</h1>
      <p class="muted">{t('collections.hint')}</p>
      <ListStatus list={list} done={null} empty={t('collections.empty')} />
      <ErrorBox error={failure} />
      {list.data && list.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('collections.date')}</th>
              <th scope="col">{t('collections.scheme')}</th>
              <th scope="col" class="num">
                {t('collections.count')}
              </th>
              <th scope="col" class="num">
                {t('collections.sum')}
              </th>
              <th scope="col">{t('collections.handedOver')}</th>
              {clerk && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((f) => {
              const link = links[f.batch_id];
              return (
                <tr key={f.batch_id}>
                  <td>{formatDate(f.collection_date)}</td>
                  <td>{f.scheme}</td>
                  <td class="num">{f.file?.transactions ?? f.members}</td>
                  <td class="num">{f.file ? formatMoney(f.file.control_sum) : '–'}</td>
                  <td>{f.handed_over ? formatDateTime(f.handed_over.at) : t('collections.notYet')}</td>
                  {clerk && (
                    <td>
                      {!f.file ? (
                        t('collections.notWritten')
                      ) : link ? (
                        <a href={link.url} download>
                          {t('collections.save', { until: formatDateTime(link.expires_at) })}
                        </a>
                      ) : (
                        <button type="button" class="small" data-write onClick={() => download(f)}>
                          {t('collections.download')}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <MoreButton cursor={list.data?.next_cursor} onMore={list.more} />
    </section>
  );
}
