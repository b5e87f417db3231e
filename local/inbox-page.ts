import type { LocalEmail } from './email.js';

/**
 * The inbox a person reads during a rehearsal. HTML bodies render in a sandboxed frame, like a mail
 * client: the email's scripts and forms do not run, and its links open in a new, unsandboxed tab
 * (so the page a link leads to, e.g. an approval confirmation, works normally).
 */
export function renderInboxPage(emails: readonly LocalEmail[]): string {
  const newestFirst = [...emails].reverse();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Local inbox (${emails.length})</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
  article { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; padding: 0.5rem 1rem 1rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0 0 0.8rem; }
  dt { color: #666; }
  dd { margin: 0; }
  iframe { width: 100%; height: 24rem; border: 1px solid #ddd; resize: vertical; }
  pre { white-space: pre-wrap; background: #f6f6f6; padding: 0.8rem; }
</style>
</head>
<body>
<h1>Local inbox</h1>
<p>${emails.length} message${emails.length === 1 ? '' : 's'} sent by the rehearsal, newest first. Reload for new mail.</p>
${newestFirst.map(renderEmail).join('\n')}
</body>
</html>
`;
}

function renderEmail(email: LocalEmail): string {
  const body =
    email.html !== undefined
      ? `<iframe title="${escapeHtml(email.subject)}" sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="${escapeHtml(`<base target="_blank">${email.html}`)}"></iframe>`
      : `<pre>${escapeHtml(email.text ?? '')}</pre>`;
  return `<article>
<h2>${escapeHtml(email.subject)}</h2>
<dl>
<dt>From</dt><dd>${escapeHtml(email.from)}</dd>
<dt>To</dt><dd>${escapeHtml(email.to.join(', '))}</dd>
<dt>Sent</dt><dd>${escapeHtml(email.at)}</dd>
</dl>
${body}
</article>`;
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
