import { useEffect, useState } from 'preact/hooks';
import { completeLogin, login, logout, roleOf, session, userManager } from './auth';
import { ErrorBox, Link } from './components/ui';
import { useSignal } from './hooks';
import { lang, setLang, t, type Lang } from './i18n';
import { Aging } from './pages/Aging';
import { Attention } from './pages/Attention';
import { Collections } from './pages/Collections';
import { Customer } from './pages/Customer';
import { Review } from './pages/Review';
import { Runs } from './pages/Runs';
import { Search } from './pages/Search';
import { match, navigate, route } from './router';

/** The console: signs in, then shows the page of the path. */
export function App() {
  useSignal(lang);
  const path = useSignal(route);
  const user = useSignal(session);
  const [authError, setAuthError] = useState<unknown>(null);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    document.documentElement.lang = lang.get();
    if (location.pathname === '/callback') {
      completeLogin().then((to) => navigate(to, true), setAuthError);
    } else if (!session.get() && location.pathname !== '/signed-out') {
      login().catch(setAuthError);
    }
    // An expired session goes back through the login and returns to this page.
    const onExpired = () => {
      setExpired(true);
      login().catch(setAuthError);
    };
    userManager.events.addAccessTokenExpired(onExpired);
    return () => userManager.events.removeAccessTokenExpired(onExpired);
  }, []);

  useEffect(() => {
    document.title = t('app.title');
  }, [lang.get()]);

  if (path.startsWith('/signed-out')) {
    return (
      <main id="main" class="center">
        <h1>{t('app.title')}</h1>
        <p>{t('auth.signedOut')}</p>
        <button type="button" onClick={() => login('/')}>
          {t('auth.signIn')}
        </button>
      </main>
    );
  }
  if (!user) {
    return (
      <main id="main" class="center">
        <h1>{t('app.title')}</h1>
        {expired && <p role="status">{t('auth.expired')}</p>}
        <p aria-live="polite">{t('auth.signingIn')}</p>
        <ErrorBox error={authError} />
      </main>
    );
  }
  const role = roleOf(user);
  const clerk = role === 'billing';
  const links: [string, string][] = [['/', t('nav.search')]];
  if (clerk) {
    links.push(['/attention', t('nav.attention')], ['/review', t('nav.review')], ['/aging', t('nav.aging')], ['/runs', t('nav.runs')], ['/collections', t('nav.collections')]);
  }
  const current = path.split('?')[0];

  return (
    <>
      <a class="skip" href="#main">
        {t('app.skip')}
      </a>
      <header>
        <span class="brand">{t('app.title')}</span>
        <nav aria-label={t('nav.main')}>
          <ul>
            {links.map(([href, label]) => (
              <li key={href}>
                <Link href={href} aria-current={current === href ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="user">
          <span data-role={role ?? 'none'}>{t(role ? `auth.role.${role}` : 'auth.role.none')}</span>
          <LangSwitch />
          <button type="button" class="secondary small" onClick={logout}>
            {t('auth.signOut')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={current} />
      </main>
    </>
  );
}

function Page({ path }: { path: string }) {
  const customer = match('/customers/:id', path);
  if (customer) return <Customer id={customer.id} />;
  switch (path) {
    case '/attention':
      return <Attention />;
    case '/review':
      return <Review />;
    case '/aging':
      return <Aging />;
    case '/runs':
      return <Runs />;
    case '/collections':
      return <Collections />;
    default:
      return <Search />;
  }
}

function LangSwitch() {
  const current = useSignal(lang);
  return (
    <div role="group" aria-label={t('lang.label')} class="lang">
      {(['de', 'en'] as Lang[]).map((l) => (
        <button type="button" class="small secondary" lang={l} aria-pressed={current === l} onClick={() => setLang(l)}>
          {l === 'de' ? 'Deutsch' : 'English'}
        </button>
      ))}
    </div>
  );
}
