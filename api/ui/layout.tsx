/** The frame every dashboard page shares: landmarks, navigation and the style sheet. */
import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import { statusText, statusTone } from './format';
import { DASHBOARD_CSS } from './style';

/** Pages named in the navigation; `aria-current` marks the one shown. */
export type NavPage = 'stacks' | 'deploy' | 'hosts' | 'login';

export interface LayoutProps {
  title: string;
  page: NavPage;
  /** Base URL of the Temporal web UI, linked from the navigation. */
  temporalUiUrl?: string;
  /** Module scripts under /ui/assets, by file name. */
  scripts?: string[];
  children?: Child;
}

const NAV_LINKS: { page: NavPage; href: string; label: string }[] = [
  { page: 'stacks', href: '/ui/stacks', label: 'Stacks' },
  { page: 'deploy', href: '/ui/deploy', label: 'Deploy' },
  { page: 'hosts', href: '/ui/hosts', label: 'Hosts' },
];

/**
 * Renders a whole page. The doctype keeps browsers out of quirks mode, which changes the box model
 * and the sizing of tables and form controls.
 */
export function Layout(props: LayoutProps) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <PageDocument {...props} />
    </>
  );
}

function PageDocument(props: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {/* No icon, so the browser does not request /favicon.ico. */}
        <link rel="icon" href="data:," />
        <title>{`${props.title} - Graphium`}</title>
        {/* A constant style sheet; no request data reaches it. */}
        <style>{raw(DASHBOARD_CSS)}</style>
        {(props.scripts ?? []).map((script) => (
          <script type="module" src={`/ui/assets/${script}`}></script>
        ))}
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="site">
          <a class="brand" href="/ui">
            Graphium
          </a>
          {props.page === 'login' ? null : (
            <nav aria-label="Main">
              <ul>
                {NAV_LINKS.map((link) => (
                  <li>
                    <a href={link.href} aria-current={link.page === props.page ? 'page' : undefined}>
                      {link.label}
                    </a>
                  </li>
                ))}
                <li>
                  <a href="/docs">API reference</a>
                </li>
                {props.temporalUiUrl ? (
                  <li>
                    <a href={props.temporalUiUrl}>Temporal UI</a>
                  </li>
                ) : null}
              </ul>
            </nav>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <footer class="site">
          <p>Graphium deploys stacks of containers across Docker hosts as Temporal workflows.</p>
        </footer>
      </body>
    </html>
  );
}

/** Renders a status as text in a coloured badge, so it reads the same without colour. */
export function StatusBadge(props: { status: string; label?: string; id?: string }) {
  const text = statusText(props.status);
  return (
    <span id={props.id} class={`status tone-${statusTone(props.status)}`} data-status={props.status}>
      {props.label ? `${props.label}: ${text}` : text}
    </span>
  );
}

/** Renders an empty region for errors from scripts, which screen readers announce as they appear. */
export function ProblemRegion(props: { id: string }) {
  return <div id={props.id} class="problem" role="alert"></div>;
}

/** Renders an empty region for success messages from scripts, announced politely. */
export function NoticeRegion(props: { id: string }) {
  return <div id={props.id} class="notice" role="status"></div>;
}
