/* global document, window, XMLHttpRequest, FormData */
// Upload forms: send the file with XHR so the page can show its progress (without scripts the form
// posts as usual and the browser shows its own). The service streams the file on as it arrives.
for (const form of document.querySelectorAll('form[data-upload]')) {
  const box = form.querySelector('.app-upload__progress');
  const bar = box && box.querySelector('progress');
  const status = box && box.querySelector('.app-upload__status');
  const button = form.querySelector('button');
  form.addEventListener('submit', (event) => {
    const input = form.querySelector('input[type=file]');
    if (!box || !input || !input.files || !input.files.length) return; // the service says what is missing
    event.preventDefault();
    const file = input.files[0];
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-Portal-Upload', 'xhr');
    xhr.responseType = 'json';
    box.hidden = false;
    if (button) button.disabled = true;
    const mb = (n) => (n / 1024 / 1024).toFixed(1);
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      bar.textContent = `${pct}%`;
      status.textContent = `${pct}% sent (${mb(e.loaded)} of ${mb(e.total)} MB)`;
    });
    xhr.upload.addEventListener('load', () => {
      bar.value = 100;
      status.textContent = 'File sent. Checking it: this can take a few minutes for a large file.';
    });
    const failed = () => {
      status.textContent = 'The file could not be sent. Check your connection and try again.';
      if (button) button.disabled = false;
    };
    xhr.addEventListener('error', failed);
    xhr.addEventListener('load', () => {
      const next = xhr.response && xhr.response.location;
      if (next) window.location.assign(next);
      else window.location.reload();
    });
    const data = new FormData();
    data.append('_csrf', form.querySelector('input[name=_csrf]').value);
    data.append('file', file, file.name);
    status.textContent = `Sending ${file.name}`;
    xhr.send(data);
  });
}
