import { describe, expect, it } from 'vitest';
import { Registry, renderFamilies } from './metrics.js';

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
    expect(text).toContain('# TYPE tailor_cache_bytes gauge\ntailor_cache_bytes 42');
    expect(requests.get({ status: '201', route: '/v1/feedback' })).toBe(1);
  });

  it('escapes label values and help text', () => {
    const r = new Registry();
    r.counter('c', 'help with a \\ and\na line').inc({ reason: 'bad "quote"\nline\\' });
    const text = r.render();
    expect(text).toContain('c{reason="bad \\"quote\\"\\nline\\\\"} 1');
    expect(text).toContain('# HELP c help with a \\\\ and\\na line');
  });

  it('renders collected families once each, with one HELP and TYPE per family', () => {
    const r = new Registry();
    r.collect(() => [
      {
        name: 'x_total',
        help: 'x.',
        type: 'counter',
        samples: [
          { labels: { a: '1' }, value: 1 },
          { labels: { a: '2' }, value: 2 },
        ],
      },
      {
        name: 'h_seconds',
        help: 'h.',
        type: 'histogram',
        series: [{ buckets: [{ le: 0.5, count: 1 }], sum: 0.2, count: 1 }],
      },
    ]);
    const text = r.render();
    expect(text.match(/# TYPE x_total counter/g)).toHaveLength(1);
    expect(text).toContain(
      'h_seconds_bucket{le="0.5"} 1\nh_seconds_bucket{le="+Inf"} 1\nh_seconds_sum 0.2\nh_seconds_count 1',
    );
    expect(renderFamilies([])).toBe('\n');
  });
});
