// The example app: a reader writes a prompt, reads the continuation as it streams (from the server, or
// generated on this device), and likes, dislikes or edits it. It uses only the SDK. The user token comes from
// the form, or from a link's fragment (`/example/#token=…`, never sent to a server), and stays in this tab.
// A link's token is anyone's: whoever made the link chooses whose reader you would be (and would read what you
// write), so the page says whose it is and asks before using it.
import { type GenerateResponse, type GenerationStream, type LocalModel, Tailor } from '../sdk/src/index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => {
  $('status').textContent = text;
};

/** The token a link carried, taken out of the address bar and the history before anything else runs. */
function tokenFromLink(): string | null {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  return token;
}

/** What a token says of itself, decoded and not verified (the server verifies): for showing, never for trust. */
interface Claims {
  sub?: unknown;
  exp?: unknown;
  iss?: unknown;
  kid?: unknown;
}
function claimsOf(token: string): Claims | null {
  const part = (s: string | undefined) => {
    const bin = atob((s ?? '').replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  };
  try {
    const [header, payload] = token.split('.');
    const claims = part(payload);
    return typeof claims === 'object' && claims ? { ...claims, kid: part(header)?.kid } : null;
  } catch {
    return null;
  }
}

/** The user a token names (its `sub`), for display and for `local(user)`. */
function userOf(token: string): string {
  const sub = claimsOf(token)?.sub;
  return typeof sub === 'string' ? sub : '(unknown)';
}

function start(token: string) {
  const tailor = new Tailor({ baseUrl: location.origin, token });
  const user = userOf(token);
  let local: Promise<LocalModel> | null = null;
  let current: GenerationStream | null = null;
  let last: { answer: GenerateResponse; prompt: string; where: string } | null = null;
  $('reader').hidden = false;
  status(`Reading as ${user}.`);

  const setFeedback = (on: boolean) => {
    for (const id of ['like', 'dislike', 'edit']) $<HTMLButtonElement>(id).disabled = !on;
  };

  $('generate').addEventListener('click', async () => {
    const story = $('story');
    const where = (document.querySelector('input[name=where]:checked') as HTMLInputElement).value;
    const prompt = $<HTMLTextAreaElement>('prompt').value;
    const greedy = $<HTMLInputElement>('greedy').checked;
    const req = { prompt, max_tokens: 48, ...(greedy ? { temperature: 0 } : {}) };
    story.textContent = '';
    story.dataset.state = 'running';
    story.contentEditable = 'false';
    $('sent').textContent = '';
    setFeedback(false);
    $<HTMLButtonElement>('generate').disabled = true;
    $<HTMLButtonElement>('stop').disabled = false;
    try {
      if (where === 'device') {
        if (!local) {
          status('Downloading the model and your adapter (once; then they come from the cache)…');
          local = tailor.local(user);
          local.catch(() => {
            local = null;
          });
        }
        const model = await local;
        const d = model.downloads;
        status(
          `On this device: model ${(d.model.bytes / 1e6).toFixed(1)} MB${d.model.cached ? ' (cached)' : ''}, ` +
            (d.adapter
              ? `adapter ${d.adapter.version} ${(d.adapter.bytes / 1e3).toFixed(0)} kB${d.adapter.cached ? ' (cached)' : ''}.`
              : 'no adapter yet (the base model).'),
        );
        current = model.generate(req);
      } else {
        current = tailor.generate(req);
      }
      for await (const piece of current) story.textContent += piece.text;
      const answer = await current.done;
      last = { answer, prompt, where };
      story.dataset.state = 'done';
      story.dataset.where = where;
      const t = answer.timings_ms;
      const tps = t.total ? (answer.usage.completion_tokens * 1000) / (t.total as number) : 0;
      status(
        `${where === 'device' ? 'On this device' : 'On the server'}: first token ${t.first_token} ms, ` +
          `${tps.toFixed(0)} tokens/s, adapter ${answer.adapter?.version ?? 'none'}.`,
      );
      setFeedback(true);
    } catch (e) {
      story.dataset.state = 'error';
      status(`Failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      current = null;
      $<HTMLButtonElement>('generate').disabled = false;
      $<HTMLButtonElement>('stop').disabled = true;
    }
  });

  $('stop').addEventListener('click', () => current?.cancel());

  const send = async (rating: 1 | -1, edited?: string) => {
    if (!last) return;
    const { answer, prompt } = last;
    // A server generation is named by its id; one made on the device is sent as its text.
    const about = answer.id === 'local' ? { prompt, text: answer.text } : { generation_id: answer.id };
    try {
      const r = await tailor.feedback({ ...about, rating, ...(edited ? { edited_text: edited } : {}) });
      $('sent').textContent = `Thanks — feedback ${r.id} recorded.`;
      $('sent').dataset.feedbackId = r.id;
      setFeedback(false);
    } catch (e) {
      $('sent').textContent = `Not sent: ${e instanceof Error ? e.message : String(e)}`;
    }
  };
  $('like').addEventListener('click', () => send(1));
  $('dislike').addEventListener('click', () => send(-1));
  $('edit').addEventListener('click', () => {
    $('story').contentEditable = 'true';
    $('story').focus();
    $('save').hidden = false;
  });
  $('save').addEventListener('click', () => {
    $('story').contentEditable = 'false';
    $('save').hidden = true;
    send(1, $('story').textContent ?? '');
  });
}

function signIn(token: string) {
  sessionStorage.setItem('tailor-token', token);
  start(token);
}

function askForToken() {
  $('signin').style.display = 'flex';
  $('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $<HTMLInputElement>('token-input').value.trim();
    if (!t) return;
    $('signin').style.display = 'none';
    signIn(t);
  });
}

/** Says whose a link's token is and when it expires, and uses it only once the reader says so. */
function confirmLinkToken(token: string, otherwise: () => void) {
  const claims = claimsOf(token);
  const exp = typeof claims?.exp === 'number' ? new Date(claims.exp * 1000) : null;
  const expired = exp !== null && exp.getTime() <= Date.now();
  const name = (v: unknown) => (typeof v === 'string' && v ? v.slice(0, 128) : null);
  const app = name(claims?.iss) ?? name(claims?.kid) ?? 'an unnamed app';
  $('confirm-user').textContent = name(claims?.sub) ?? '(no user)';
  $('confirm-app').textContent = app;
  $('confirm-exp').textContent = exp
    ? `${expired ? 'expired' : 'expires'} ${exp.toLocaleString()}`
    : 'no expiry given';
  $<HTMLButtonElement>('confirm-yes').disabled = claims === null || expired;
  $('confirm').hidden = false;
  $('confirm-yes').addEventListener('click', () => {
    $('confirm').hidden = true;
    signIn(token);
  });
  $('confirm-no').addEventListener('click', () => {
    $('confirm').hidden = true; // the link's token is dropped: it was only ever in this closure
    otherwise();
  });
}

const fromLink = tokenFromLink();
const saved = sessionStorage.getItem('tailor-token');
const withSaved = () => (saved ? start(saved) : askForToken());
if (fromLink) confirmLinkToken(fromLink, withSaved);
else withSaved();
