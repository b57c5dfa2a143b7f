import { bearer, login } from './auth';
import { config } from './config';

/** The API's error shape (docs/openapi.yaml, `Error`). */
export interface ApiErrorBody {
  code: string;
  message: string;
  errors: { pointer: string; message: string }[];
}

/** A failed API call: the status and, when the API answered, its error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | null,
  ) {
    super(body?.message ?? `HTTP ${status}`);
  }
}

/** A page of a list (`{items, next_cursor}`). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** A read with its `ETag` (the revision every write must name in `If-Match`). */
export interface Versioned<T> {
  body: T;
  etag: string | null;
}

/** Counts the API requests of this page view (the budget in docs/performance.md). */
export const requestLog: string[] = [];

async function call<T>(method: string, path: string, body?: unknown, ifMatch?: string | null): Promise<Versioned<T>> {
  const token = bearer();
  if (!token) {
    // Expired or never signed in: log in and come back to this page.
    await login();
    throw new ApiError(401, null);
  }
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  requestLog.push(`${method} ${path}`);
  let res: Response;
  try {
    res = await fetch(config.apiBase + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  if (res.status === 401) {
    await login();
    throw new ApiError(401, null);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, isErrorBody(json) ? json : null);
  return { body: json as T, etag: res.headers.get('ETag') };
}

function isErrorBody(x: unknown): x is ApiErrorBody {
  return typeof x === 'object' && x !== null && 'code' in x && 'message' in x;
}

export async function get<T>(path: string): Promise<T> {
  return (await call<T>('GET', path)).body;
}

export function getVersioned<T>(path: string): Promise<Versioned<T>> {
  return call<T>('GET', path);
}

export async function send<T>(method: 'POST' | 'PUT' | 'DELETE' | 'PATCH', path: string, body?: unknown, ifMatch?: string | null): Promise<T> {
  return (await call<T>(method, path, body, ifMatch)).body;
}

/** Query string from the defined parameters. */
export function qs(params: Record<string, string | number | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
