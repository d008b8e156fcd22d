import { describe, expect, it } from 'vitest';
import { Registry } from './metrics.js';

describe('Registry', () => {
  it('renders counters, histograms and gauges in the Prometheus text format', () => {
    const r = new Registry();
    const requests = r.counter('tailor_requests_total', 'Requests by route and status.');
    requests.inc({ route: '/v1/generate', status: '200' });
    requests.inc({ route: '/v1/generate', status: '200' });
    requests.inc({ route: '/v1/feedback', status: '201' });
    const latency = r.histogram('tailor_latency_seconds', 'Latency.', [0.1, 1]);
    latency.observe(0.05, { route: 'g' });
    latency.observe(0.5, { route: 'g' });
    r.gauge('tailor_cache_bytes', 'Bytes held.', () => 42);
    const text = r.render();
    expect(text).toContain('# TYPE tailor_requests_total counter');
    expect(text).toContain('tailor_requests_total{route="/v1/generate",status="200"} 2');
    expect(text).toContain('tailor_latency_seconds_bucket{route="g",le="0.1"} 1');
    expect(text).toContain('tailor_latency_seconds_bucket{route="g",le="1"} 2');
    expect(text).toContain('tailor_latency_seconds_bucket{route="g",le="+Inf"} 2');
    expect(text).toContain('tailor_latency_seconds_count{route="g"} 2');
    expect(text).toContain('tailor_cache_bytes 42');
    expect(requests.get({ status: '201', route: '/v1/feedback' })).toBe(1);
  });

  it('escapes label values', () => {
    const r = new Registry();
    r.counter('c', 'h').inc({ reason: 'bad "quote"\nline' });
    expect(r.render()).toContain('c{reason="bad \\"quote\\"\\nline"} 1');
  });
});
