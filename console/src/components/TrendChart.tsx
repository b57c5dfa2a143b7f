import { formatMonth } from '../format';
import { t } from '../i18n';
import type { TrendMonth } from '../types';

/**
 * The 12-month payment trend as inline SVG: per month a bar of invoices
 * settled with its on-time part filled. The same figures stand in a table
 * for screen readers.
 */
export function TrendChart({ trend }: { trend: TrendMonth[] }) {
  const w = 36;
  const h = 120;
  const max = Math.max(1, ...trend.map((m) => m.settled));
  return (
    <figure class="chart">
      <figcaption>{t('customer.trend')}</figcaption>
      <svg viewBox={`0 0 ${trend.length * w} ${h + 20}`} role="img" aria-label={t('customer.trend')} width="100%" height={h + 20}>
        {trend.map((m, i) => {
          const all = (m.settled / max) * h;
          const ok = (m.on_time / max) * h;
          return (
            <g key={m.month}>
              <rect x={i * w + 6} y={h - all} width={w - 12} height={all} class="bar-all" />
              <rect x={i * w + 6} y={h - ok} width={w - 12} height={ok} class="bar-ok" />
              <text x={i * w + w / 2} y={h + 14} text-anchor="middle" class="axis">
                {formatMonth(m.month).slice(0, 3)}
              </text>
            </g>
          );
        })}
      </svg>
      <table class="sr-only">
        <thead>
          <tr>
            <th scope="col">{t('common.date')}</th>
            <th scope="col">{t('customer.trendSettled')}</th>
            <th scope="col">{t('customer.trendOnTime')}</th>
          </tr>
        </thead>
        <tbody>
          {trend.map((m) => (
            <tr key={m.month}>
              <td>{formatMonth(m.month)}</td>
              <td>{m.settled}</td>
              <td>{m.on_time}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="legend">
        <span class="swatch bar-all" aria-hidden="true" /> {t('customer.trendSettled')} <span class="swatch bar-ok" aria-hidden="true" /> {t('customer.trendOnTime')}
      </p>
    </figure>
  );
}
