// A new developer key's secret, shown once: by the sign-up page and by the administrators' keys panel alike.
import { h, notice } from './lib.js';

/** A new key's secret, shown only this once, with a button to copy it. */
export function secretNotice(key, dailyLimit) {
  const secret = h('input', { type: 'text', id: 'new-key', readonly: true, value: key, 'aria-describedby': 'new-key-help' });
  const copied = h('span', { class: 'small', role: 'status' });
  return notice(
    'ok',
    h('p', {}, h('strong', {}, 'Your key, shown only this once: '), 'copy it now. Only a hash is kept on the server.'),
    h('label', { for: 'new-key' }, 'Your new key'),
    h(
      'div',
      { class: 'secret' },
      secret,
      h('button', {
        type: 'button',
        onclick: async () => {
          secret.select();
          try {
            await navigator.clipboard.writeText(key);
            copied.textContent = 'Copied.';
          } catch {
            copied.textContent = 'Select the key and copy it.';
          }
        },
      }, 'Copy'),
    ),
    copied,
    h('p', { id: 'new-key-help', class: 'small' }, `Daily limit: ${dailyLimit} new images. Use it as `, h('code', {}, `${location.origin}/devkey/${key}/medium/isbn/0385472579`), '.'),
  );
}
