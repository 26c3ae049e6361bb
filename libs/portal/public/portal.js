/* global document, window, FormData, setTimeout */
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

// Release progress: reload while the release is queued or running.
const status = document.getElementById('release-status');
if (status && status.dataset.autoRefresh) {
  setTimeout(() => window.location.reload(), Number(status.dataset.autoRefresh));
}
