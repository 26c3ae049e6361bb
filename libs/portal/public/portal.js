/* global document, window, FormData, setTimeout, XMLHttpRequest, fetch, DOMParser */
// NHS.UK frontend components (header menu, error summary focus, conditional radios…).
import { initAll } from '/assets/nhsuk/nhsuk-frontend.min.js';

initAll();

// Request form: show, as the researcher chooses, which columns the release will contain.
const form = document.getElementById('request-form');
const preview = document.getElementById('columns-preview');
if (form && preview) {
  const { mapping, titles } = JSON.parse(preview.dataset.mapping);
  const body = document.getElementById('columns-preview-body');
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const update = () => {
    const data = new FormData(form);
    const tier = data.get('requestedTier');
    let html = '';
    if (tier === 'aggregate') {
      const dims = data.getAll('dimensions');
      html = `<p><code>aggregate.csv.gz</code>: ${[...dims, 'patients'].map((d) => `<code>${esc(d)}</code>`).join(', ')}</p>`;
    } else if (tier) {
      for (const dataset of Object.keys(mapping)) {
        const fields = data.getAll(`fields_${dataset}`);
        if (!fields.length) continue;
        const cols = fields.map((f) => mapping[dataset][tier]?.[f] ?? f);
        html += `<p>${esc(titles[dataset])}, <code>${esc(dataset)}.csv.gz</code>: ${cols.map((c) => `<code>${esc(c)}</code>`).join(', ')}</p>`;
      }
    }
    body.innerHTML = html || '<p>Choose a tier and some fields.</p>';
    preview.hidden = false;
  };
  form.addEventListener('change', update);
  update();
}

// Release progress: while the release is queued or running, the status part of the page is fetched
// again and swapped in place (no full reload); when it ends, the page is loaded once more for the
// files, the exclusion report and the manifest. Without scripts, the page's "Refresh now" link does it.
const poll = () => {
  const status = document.getElementById('release-status');
  if (!status || !status.dataset.autoRefresh) return;
  setTimeout(async () => {
    try {
      const res = await fetch(window.location.href, {
        headers: { accept: 'text/html' },
        credentials: 'same-origin',
      });
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const fresh = doc.getElementById('release-status');
      if (!fresh) return window.location.reload();
      if (!fresh.dataset.autoRefresh) return window.location.reload();
      status.replaceWith(fresh);
    } catch {
      // A network hiccup: try again at the next tick.
    }
    poll();
  }, Number(status.dataset.autoRefresh));
};
poll();

// Consent cohort: with scripts, the file itself is sent (streamed, text/plain) with a progress bar;
// without them, the page's form takes the numbers pasted into a box.
const cohortForm = document.getElementById('cohort-form');
if (cohortForm) {
  for (const el of cohortForm.querySelectorAll('.app-js-only')) el.hidden = false;
  const input = document.getElementById('cohortFile');
  const progress = document.getElementById('cohort-progress');
  const bar = document.getElementById('cohort-progress-bar');
  const text = document.getElementById('cohort-progress-text');
  const group = document.getElementById('cohortFile-group');
  const error = document.getElementById('cohortFile-error');
  const errorText = document.getElementById('cohortFile-error-text');
  const summary = document.getElementById('cohort-error-summary');
  const summaryText = document.getElementById('cohort-error-summary-text');
  const title = document.title.replace(/^Error: /, '');
  // As the service's own error pages: a summary at the top (focused, its link to the field), the
  // message by the field, and "Error: " before the page's title.
  const showError = (message) => {
    group.classList.add('nhsuk-form-group--error');
    errorText.textContent = message;
    error.hidden = false;
    progress.hidden = true;
    summaryText.textContent = message;
    summary.hidden = false;
    document.title = `Error: ${title}`;
    summary.focus();
  };
  const clearError = () => {
    error.hidden = true;
    summary.hidden = true;
    group.classList.remove('nhsuk-form-group--error');
    document.title = title;
  };
  summaryText.addEventListener('click', (event) => {
    event.preventDefault();
    input.focus();
  });
  document.getElementById('cohort-upload').addEventListener('click', (event) => {
    event.preventDefault();
    const file = input.files && input.files[0];
    if (!file) return showError('Select the file of NHS numbers');
    clearError();
    progress.hidden = false;
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', cohortForm.dataset.upload);
    xhr.setRequestHeader('content-type', 'text/plain');
    xhr.setRequestHeader('x-csrf-token', cohortForm.elements._csrf.value);
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      text.textContent = `${pct}% sent (${e.loaded.toLocaleString('en-GB')} of ${e.total.toLocaleString('en-GB')} bytes)`;
    });
    xhr.addEventListener('load', () => {
      let answer = {};
      try {
        answer = JSON.parse(xhr.responseText);
      } catch {
        answer = {};
      }
      if (xhr.status === 200 && answer.redirect) window.location.assign(answer.redirect);
      else
        showError(
          (answer.errors && answer.errors[0] && answer.errors[0].text) ||
            'The file could not be sent. Try again.',
        );
    });
    xhr.addEventListener('error', () =>
      showError('The file could not be sent. Check your connection and try again.'),
    );
    text.textContent = 'Sending…';
    xhr.send(file);
  });
}
