// A user's versions as charts: held-out loss against the base model and the version before, and the change
// on general text against the trainer's tolerance.
import { LineChart } from '@mantine/charts';
import { ChartCard } from '../../components/states';
import type { AdapterItem } from '../../lib/types';
import { driftDomain, driftRows, driftTolerance, versionRows } from './versions';

export function VersionCharts({ adapters }: { adapters: AdapterItem[] }) {
  const rows = versionRows(adapters);
  const drift = driftRows(adapters);
  const tolerance = driftTolerance(adapters);
  return (
    <>
      <ChartCard
        title="Held-out loss across versions"
        hint="On the user's held-out feedback: lower fits the reader better. Each version is judged against the one active before it."
      >
        <LineChart
          h={240}
          data={rows}
          dataKey="version"
          withLegend
          connectNulls={false}
          yAxisProps={{ domain: ['auto', 'auto'] }}
          series={[
            { name: 'Base', color: 'gray.6' },
            { name: 'Previous version', color: 'orange.6' },
            { name: 'This version', color: 'violet.6' },
          ]}
        />
      </ChartCard>
      {drift.length > 0 && (
        <ChartCard
          title="General text across versions"
          hint="Each version's loss on windows of general text it never trained on, vs the base model (%). The trainer keeps a step only within the tolerance: personalization must not cost general English."
        >
          <LineChart
            h={180}
            data={drift}
            dataKey="version"
            unit="%"
            yAxisProps={{ domain: driftDomain(drift, tolerance), width: 56 }}
            series={[{ name: 'General text', color: 'teal.6' }]}
            referenceLines={
              tolerance === null ? [] : [{ y: tolerance, label: `tolerance +${tolerance} %`, color: 'red.6' }]
            }
          />
        </ChartCard>
      )}
    </>
  );
}
