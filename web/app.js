// Small progressive enhancements; every page works without this file.
document.querySelectorAll('[data-confirm]').forEach((form) => {
  form.addEventListener('submit', (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

// Time zone fields start empty (sign-up) or at the default UTC (profile):
// offer this device's zone, which the therapist can still change.
const timeZoneField = document.querySelector(
  'form[action="/sign-up"] input[name="time_zone"], form[action="/profile"] input[name="time_zone"]',
);
if (timeZoneField && (timeZoneField.value === '' || timeZoneField.value === 'UTC')) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) timeZoneField.value = zone;
}
