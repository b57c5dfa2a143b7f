import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { describeError } from './errors';
import { formatDate, formatMoney } from './format';
import { de } from './i18n/de';
import { en } from './i18n/en';
import { has, preferredLang, setLang, t } from './i18n';
import { match } from './router';

describe('message catalogues', () => {
  it('have the same keys in both languages and no empty text', () => {
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    for (const [k, v] of [...Object.entries(de), ...Object.entries(en)]) expect(v.trim(), k).not.toBe('');
  });
  it('use the same placeholders in both languages', () => {
    const names = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const k of Object.keys(en) as (keyof typeof en)[]) expect(names(de[k]), k).toEqual(names(en[k]));
  });
  it('pick the browser language the console speaks, else English', () => {
    expect(preferredLang(['de-AT', 'en'])).toBe('de');
    expect(preferredLang(['fr-FR', 'en-GB'])).toBe('en');
    expect(preferredLang(['fr-FR'])).toBe('en');
  });
  it('switch language and fill parameters', () => {
    setLang('de');
    expect(t('runs.batches', { done: 2, planned: 4 })).toBe('2 von 4 Paketen');
    setLang('en');
    expect(t('runs.batches', { done: 2, planned: 4 })).toBe('2 of 4 batches');
    expect(has('status.paid')).toBe(true);
    expect(has('status.unheard_of')).toBe(false);
  });
});

describe('amounts and dates in the user locale', () => {
  it('write German and English amounts without losing cents', () => {
    expect(formatMoney({ amount: '1234567.89', currency: 'EUR' }, 'de-DE')).toBe('1.234.567,89\u00a0€');
    expect(formatMoney({ amount: '1234567.89', currency: 'EUR' }, 'en-GB')).toBe('€1,234,567.89');
    expect(formatMoney({ amount: '-10.5', currency: 'EUR' }, 'de-DE')).toBe('-10,50\u00a0€');
    expect(formatMoney({ amount: '90071992547409.99', currency: 'EUR' }, 'en-GB')).toBe('€90,071,992,547,409.99');
  });
  it('write a calendar day as that day in any time zone', () => {
    expect(formatDate('2026-05-30', 'de-DE')).toBe('30.05.2026');
    expect(formatDate('2026-05-30', 'en-GB')).toBe('30 May 2026');
    expect(formatDate(null, 'en-GB')).toBe('–');
  });
});

describe('errors in words', () => {
  it('name every field at fault from the API error shape', () => {
    setLang('en');
    const err = new ApiError(400, { code: 'invalid', message: 'the request is invalid', errors: [{ pointer: '/reason', message: 'must not be empty' }] });
    const { lines, stale } = describeError(err);
    expect(stale).toBe(false);
    expect(lines).toEqual(['the request is invalid', 'Field reason: must not be empty']);
  });
  it('offer the reload on a stale revision (412)', () => {
    const { lines, stale } = describeError(new ApiError(412, { code: 'stale_revision', message: 'x', errors: [] }));
    expect(stale).toBe(true);
    expect(lines[0]).toContain('Reload');
  });
  it('say what a 403 means', () => {
    setLang('de');
    expect(describeError(new ApiError(403, { code: 'forbidden', message: 'forbidden', errors: [] })).lines[0]).toBe('Ihre Rolle darf das nicht.');
  });
});

describe('routes', () => {
  it('match a customer path and decode its id', () => {
    expect(match('/customers/:id', '/customers/acc%201?x=1')).toEqual({ id: 'acc 1' });
    expect(match('/customers/:id', '/runs')).toBeNull();
  });
});
