// My record: the patient's own access (purpose treatment, every category), itself on the audit trail.
import { $, el, bdi, when } from './dom.js';
import { api } from './api.js';
import { hospitalName } from './names.js';
import { load as reloadAudit } from './audit.js';

const ALL = ['demographics', 'allergies', 'medications', 'conditions', 'lab-results', 'imaging', 'clinical-notes',
  'vaccinations', 'mental-health', 'sexual-health', 'genetics', 'vital-signs', 'procedures', 'surveys'];

export async function initRecord(ctx) {
  $('record-load').onclick = async () => {
    try {
      const outcome = await api(`/patients/${ctx.patientId}/access`, { method: 'POST', body: { purpose: 'treatment', categories: ALL } });
      ctx.say('', 'info'); // an earlier error no longer applies
      if (!outcome.granted) {
        ctx.say(`Access was refused: ${outcome.reason}`);
        return;
      }
      $('record-list').replaceChildren(...(outcome.entries.length ? outcome.entries.map((e) => el('li', { class: 'card' },
        el('strong', {}, bdi(e.display || e.code)), ` (${e.category})`, e.amended ? ' · amended' : '',
        el('div', { class: 'text' }, bdi(e.text || '')),
        el('div', { class: 'meta' }, `Recorded ${when(e.recordedAt)} by `, bdi(e.authorId), ' (', bdi(hospitalName(e.authorHospital)), ') · ',
          bdi(e.codeSystem), ' ', bdi(e.code)))) : [el('li', {}, 'No entries.')]));
      await reloadAudit(true);
    } catch (error) {
      ctx.fail(error);
    }
  };
}
