import type { Money } from './format';

/** What the console reads of the staff API (docs/openapi.yaml); fields it does not show are left out. */
export interface Account {
  id: string;
  crm_id: string | null;
  name: string;
  address?: { city?: string };
  currency: string;
  revision: number;
}

export interface Contract {
  id: string;
  account_id: string;
  next_due_date: string | null;
  version: number;
}

export interface InvoiceOverview {
  invoice_id: string;
  invoice_number: string;
  account_id: string;
  document_type: string;
  status: string;
  issue_date: string;
  due_date: string;
  total: Money;
  open_amount: Money;
  dunning_level: number;
  dunning_blocked: boolean;
  disputed: boolean;
  revision: number;
}

export interface Payment {
  payment_id: string;
  amount: Money;
  value_date: string;
  rule?: string;
  invoice_number?: string;
}

export interface TrendMonth {
  month: string;
  settled: number;
  on_time: number;
  average_days_from_due: string | null;
}

export interface PaymentBehaviour {
  account_id: string;
  as_of: string;
  invoices: number;
  settled: number;
  average_days_to_pay_from_issue: string | null;
  average_days_to_pay_from_due: string | null;
  share_paid_on_time: string | null;
  average_days_overdue: string | null;
  open_balance: Money[];
  overdue_balance: Money[];
  highest_dunning_level: number;
  trend: TrendMonth[];
}

export interface DocumentLinks {
  invoice_id: string;
  documents: { kind: string; content_type: string; url: string; expires_at: string }[];
}

export interface CreditNoteIssued {
  credit_note_id: string;
  credit_note_number: string;
  amount: Money;
  open_after: Money;
  customer_credit: Money | null;
  released_contracts: string[];
  revision: number;
}

export interface BankEntry {
  statement_id: string;
  entry_id: string;
  amount: Money;
  value_date: string;
  remittance: string | null;
}

export interface AttentionEntry {
  kind: string;
  subject: string;
  invoice_id: string | null;
  invoice_number: string | null;
  account_id: string | null;
  code: string;
  message: string;
  since: string;
  bank_entry?: BankEntry;
}

export const AGING_BUCKETS = ['current', 'days_1_30', 'days_31_60', 'days_61_90', 'over_90'] as const;

export interface Aging {
  as_of: string;
  currency: string;
  buckets: Record<(typeof AGING_BUCKETS)[number], Money>;
  counts: number[];
  total: Money;
  /** The same figures per customer with something open, largest total first; they add up to the seller's. */
  customers: CustomerAging[];
}

/** One customer's row of the aging. */
export interface CustomerAging {
  account_id: string;
  name: string;
  buckets: Record<(typeof AGING_BUCKETS)[number], Money>;
  counts: number[];
  total: Money;
}

export interface Run {
  run_id: string;
  run_date: string;
  mode: string;
  status: string;
  planned_batches: number | null;
  done_batches: number;
  outcome?: { customers: number; invoices: number; totals: Record<string, string>; failures: unknown[] } | null;
}

/** The customer page in one read (`GET /v1/accounts/{id}/overview`). */
export interface AccountOverview {
  account: Account;
  contracts: { items: Contract[]; next_cursor: string | null };
  invoices: { items: InvoiceOverview[]; next_cursor: string | null };
  payments: { invoice_id: string; invoice_number: string; payment: Payment }[];
  dunning: { highest_level: number; blocked_invoices: string[]; disputed_invoices: string[] };
  payment_behaviour: PaymentBehaviour;
}

export interface SearchHit {
  matched: 'invoice_number' | 'crm_id' | 'name';
  account: Account;
  invoice: InvoiceOverview | null;
}

export interface PreviewCustomer {
  account_id: string;
  customer_name: string;
  currency: string;
  total: string;
  previous_total: string | null;
  difference: string | null;
  changed: boolean;
}

export interface RunPreview {
  run: Run;
  run_date: string;
  finalizable: boolean;
  finalize_run_id: string | null;
  summary: { customers: number; changed: number; failures: number; totals: { currency: string; total: string; previous_total: string; difference: string }[] };
  failures: { account_id: string; code: string; reason: string }[];
  items: PreviewCustomer[];
  next_cursor: string | null;
}

/** A line of an issued invoice (`document.content.lines` of `GET /v1/invoices/{id}`). */
export interface InvoiceLine {
  position: number;
  item: { description: string; quantity: string };
  net_amount: Money;
}

export interface InvoiceDetail extends InvoiceOverview {
  document: { content: { lines: InvoiceLine[] } };
}

/** A SEPA collection file (pain.008) as `GET /v1/collection-files` lists it. */
export interface CollectionFile {
  batch_id: string;
  scheme: 'CORE' | 'B2B';
  collection_date: string;
  state: 'open' | 'sealed' | 'collected';
  members: number;
  file: { message_id: string; transactions: number; control_sum: Money } | null;
  handed_over: { at: string; by: string } | null;
  downloads: number;
}

/** A short-lived link to a collection file's bytes. */
export interface CollectionDownload {
  file: CollectionFile;
  url: string;
  expires_at: string;
}
