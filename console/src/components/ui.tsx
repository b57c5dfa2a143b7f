import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { describeError } from '../errors';
import { t } from '../i18n';
import { navigate } from '../router';

/** An in-app link: moves without reloading (the tokens live in memory). */
export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props['aria-current']}
      onClick={(e: MouseEvent) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** A failed call in words; a stale revision (412) offers the reload. */
export function ErrorBox({ error, onReload }: { error: unknown; onReload?: () => void }) {
  if (!error) return null;
  const { lines, stale } = describeError(error);
  return (
    <div class="error" role="alert">
      <strong>{t('error.title')}</strong>
      {lines.map((l) => (
        <p>{l}</p>
      ))}
      {stale && onReload && (
        <button type="button" onClick={onReload}>
          {t('error.reload')}
        </button>
      )}
    </div>
  );
}

export function Loading() {
  return (
    <p class="muted" aria-live="polite" data-loading>
      {t('common.loading')}
    </p>
  );
}

/** A modal dialog on the native <dialog> element (focus trap and Escape by the browser). */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={id} onClose={props.onClose} onCancel={props.onClose}>
      <h2 id={id}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** A figure's name with its definition one hover (or focus) away. */
export function Defined(props: { term: string; definition: string }) {
  const id = useId();
  return (
    <span class="defined" tabIndex={0} aria-describedby={id}>
      {props.term}
      <span role="tooltip" id={id} class="tooltip">
        {props.definition}
      </span>
    </span>
  );
}

/** A labelled text field. */
export function Field(props: {
  label: string;
  value: string;
  onInput: (v: string) => void;
  type?: 'text' | 'search' | 'date';
  required?: boolean;
  name?: string;
  maxLength?: number;
  inputMode?: 'decimal' | 'text';
  pattern?: string;
  'aria-describedby'?: string;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        type={(props.type ?? 'text') as 'text'}
        name={props.name}
        required={props.required}
        maxLength={props.maxLength}
        inputMode={props.inputMode}
        pattern={props.pattern}
        aria-describedby={props['aria-describedby']}
        value={props.value}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
    </div>
  );
}

/**
 * What a worked-off list shows around its table: the last thing done, the
 * loading state, a failed read in words, or that the list is empty.
 */
export function ListStatus(props: { list: { loading: boolean; error?: unknown; reload: () => void; data?: { items: unknown[] } }; done: string | null; empty: string }) {
  const { list } = props;
  return (
    <>
      {props.done && (
        <p role="status" class="ok">
          {props.done}
        </p>
      )}
      {list.loading && <Loading />}
      <ErrorBox error={list.error} onReload={list.reload} />
      {list.data && list.data.items.length === 0 && <p>{props.empty}</p>}
    </>
  );
}

/** The next page of a list, through the API's cursor. */
export function MoreButton({ cursor, onMore }: { cursor: string | null | undefined; onMore: (cursor: string) => void }) {
  if (!cursor) return null;
  return (
    <button type="button" class="secondary" onClick={() => onMore(cursor)}>
      {t('common.more')}
    </button>
  );
}

/** A dialog form's two buttons: do it, or leave without a change. */
export function DialogButtons(props: { submit: string; onCancel: () => void; busy?: boolean }) {
  return (
    <div class="buttons">
      <button type="submit" disabled={props.busy}>
        {props.submit}
      </button>
      <button type="button" class="secondary" onClick={props.onCancel}>
        {t('common.cancel')}
      </button>
    </div>
  );
}
