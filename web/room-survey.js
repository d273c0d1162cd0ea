// The optional satisfaction survey shown when a session ends. The server
// sends a one-use ticket in its `ended` message to each person who was in
// the room; the answer goes with that ticket and nothing else (no cookies),
// so it is anonymous. See docs/surveys.md.
const $ = (id) => document.getElementById(id);
const MAX_COMMENT = 500;

export function offerSurvey(ticket) {
  const form = $('survey');
  if (!form || !ticket || !form.hidden) return;
  const error = $('survey-error');
  const comment = $('survey-comment');
  const count = $('survey-count');
  const send = form.querySelector('button[type="submit"]');
  const showError = (text) => {
    error.textContent = text || '';
    error.hidden = !text;
  };
  const done = (text) => {
    form.hidden = true;
    const note = $('survey-done');
    note.textContent = text;
    note.hidden = false;
    note.focus();
  };
  const rating = (name) => {
    const picked = form.querySelector(`input[name="${name}"]:checked`);
    return picked ? Number(picked.value) : null;
  };

  comment.addEventListener('input', () => {
    count.textContent = comment.value ? `${comment.value.length} of ${MAX_COMMENT} characters` : '';
  });
  $('survey-skip').addEventListener('click', () => done('No survey this time. You can close this page.'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError('');
    const quality = rating('quality');
    const experience = rating('experience');
    if (!quality || !experience) {
      showError('Please choose a rating for both questions, or skip the survey.');
      form.querySelector(`input[name="${quality ? 'experience' : 'quality'}"]`).focus();
      return;
    }
    const text = comment.value.trim();
    if (text.length > MAX_COMMENT) {
      showError(`Please shorten the comment to ${MAX_COMMENT} characters.`);
      comment.focus();
      return;
    }
    send.disabled = true;
    try {
      const response = await fetch('/api/v1/surveys', {
        method: 'POST',
        credentials: 'omit',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ticket, quality, experience, comment: text || null }),
      });
      if (response.ok) {
        done('Thank you. Your answers were sent. You can close this page.');
        return;
      }
      const body = await response.json().catch(() => null);
      const message = body && body.error ? body.error.message : 'That did not work. Please try again.';
      // A used, expired or unknown ticket will not work on a second try.
      if ([403, 409, 410].includes(response.status)) done(message);
      else showError(message);
    } catch (err) {
      showError('The answers could not be sent. Please check your connection and try again.');
    }
    send.disabled = false;
  });
  form.hidden = false;
}
