// "Verify my trail": fetch the stored envelopes and the key history, verify them here, name the first broken version.
import { $, el } from './dom.js';
import { api } from './api.js';
import { verifyStream } from './verify.js';

export async function initVerify(ctx) {
  $('verify-run').onclick = async () => {
    const out = $('verify-result');
    out.className = '';
    out.textContent = 'Checking…';
    ctx.say('', 'info');
    try {
      const result = await verifyStream(await api(`/patients/${ctx.patientId}/envelopes`));
      if (result.verified) {
        out.className = 'ok';
        out.replaceChildren(el('p', {}, `Verified in your browser: all ${result.events} events link up, every hash matches the stored bytes, ` +
          `and every signature checks out (signed by ${result.endorsedBy.join(', ')}).`));
      } else {
        out.className = 'broken';
        out.replaceChildren(
          el('p', {}, `Broken at version ${result.firstBrokenVersion}: your trail has been altered since the hospitals endorsed it.`),
          el('ul', {}, result.problems.map((p) => el('li', {}, p.message))));
      }
    } catch (error) {
      out.textContent = '';
      ctx.fail(error);
    }
  };
}
