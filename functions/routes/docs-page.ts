// The interactive API page served at /docs: reads /openapi.json, lists the operations with their schemas,
// and sends requests from the browser ("Try it"). Self-contained: no CDN, no framework.
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tailor API</title>
<style>
  :root { font: 15px/1.45 system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
  body { max-width: 980px; margin: 0 auto; padding: 24px; }
  h1 { margin: 0 0 4px; } .lead { color: #55607a; margin: 0 0 20px; }
  .auth { display: flex; gap: 8px; align-items: center; margin-bottom: 20px; }
  .auth input { flex: 1; padding: 6px 8px; font: 13px ui-monospace, monospace; }
  details { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; margin: 8px 0; }
  summary { padding: 10px 12px; cursor: pointer; display: flex; gap: 10px; align-items: baseline; }
  .m { font: 600 12px ui-monospace, monospace; padding: 2px 6px; border-radius: 4px; color: #fff; min-width: 48px; text-align: center; }
  .get { background: #2f7d5b; } .post { background: #2a5db0; } .delete { background: #b03a2e; }
  .path { font-family: ui-monospace, monospace; } .sum { color: #55607a; }
  .body { padding: 0 12px 12px; }
  textarea { width: 100%; min-height: 120px; font: 13px ui-monospace, monospace; box-sizing: border-box; }
  pre { background: #0f1420; color: #d6deeb; padding: 10px; border-radius: 6px; overflow: auto; font-size: 12px; max-height: 360px; }
  button { padding: 6px 14px; border: 0; border-radius: 6px; background: #2a5db0; color: #fff; cursor: pointer; }
  .row { display: flex; gap: 8px; align-items: center; margin: 6px 0; } .row input { flex: 1; padding: 4px 6px; }
</style></head>
<body>
<h1>Tailor API v1</h1>
<p class="lead" id="desc">Loading /openapi.json…</p>
<div class="auth"><label for="token">Bearer</label><input id="token" placeholder="API key, user token or admin token"></div>
<div id="ops"></div>
<script type="module">
const doc = await (await fetch('/openapi.json')).json();
document.getElementById('desc').textContent = doc.info.description;
const tokenInput = document.getElementById('token');
tokenInput.value = localStorage.getItem('tailor-token') ?? '';
tokenInput.addEventListener('change', () => localStorage.setItem('tailor-token', tokenInput.value));
const resolve = (s) => (s && s.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s);
function example(schema, depth = 0) {
  schema = resolve(schema);
  if (!schema || depth > 4) return null;
  if (schema.default !== undefined) return schema.default;
  if (schema.anyOf) return example(schema.anyOf[0], depth + 1);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => example(s, depth + 1)));
  switch (schema.type) {
    case 'object': {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties ?? {}))
        if ((schema.required ?? []).includes(k) || depth === 0) out[k] = example(v, depth + 1);
      return out;
    }
    case 'array': return [];
    case 'string': return schema.enum ? schema.enum[0] : 'text';
    case 'integer': case 'number': return schema.minimum ?? 1;
    case 'boolean': return false;
  }
  return null;
}
const el = (tag, attrs = {}, ...kids) => { const e = document.createElement(tag); Object.assign(e, attrs); e.append(...kids); return e; };
for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
  const reqSchema = op.requestBody?.content['application/json'].schema;
  const params = (op.parameters ?? []).map((p) => ({ p, input: el('input', { placeholder: p.name }) }));
  const body = reqSchema ? el('textarea', { value: JSON.stringify(example(reqSchema), null, 2) }) : null;
  const out = el('pre', { textContent: '' });
  const send = el('button', { textContent: 'Send' });
  send.onclick = async () => {
    let url = path; const qs = new URLSearchParams();
    for (const { p, input } of params) {
      if (!input.value) continue;
      if (p.in === 'path') url = url.replace('{' + p.name + '}', encodeURIComponent(input.value)); else qs.set(p.name, input.value);
    }
    const headers = tokenInput.value ? { authorization: 'Bearer ' + tokenInput.value } : {};
    if (body) headers['content-type'] = 'application/json';
    out.textContent = '…';
    const t0 = performance.now();
    const res = await fetch(url + (qs.size ? '?' + qs : ''), { method: method.toUpperCase(), headers, body: body?.value });
    const text = await res.text();
    let shown = text; try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
    out.textContent = res.status + ' ' + res.statusText + ' · ' + Math.round(performance.now() - t0) + ' ms\\n\\n' + shown;
  };
  const schemaView = reqSchema ? el('pre', { textContent: JSON.stringify(resolve(reqSchema), null, 2) }) : '';
  document.getElementById('ops').append(el('details', {},
    el('summary', {}, el('span', { className: 'm ' + method, textContent: method.toUpperCase() }),
      el('span', { className: 'path', textContent: path }), el('span', { className: 'sum', textContent: op.summary })),
    el('div', { className: 'body' }, ...params.map(({ p, input }) => el('div', { className: 'row' }, el('label', { textContent: p.name + ' (' + p.in + ')' }), input)),
      body ?? '', el('div', { className: 'row' }, send), out, schemaView ? el('details', {}, el('summary', { textContent: 'request schema' }), schemaView) : '')));
}
</script>
</body></html>
`;
