import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/**
 * A uPlot line/step chart. x values are seconds since the epoch when `time` is set (uPlot's
 * convention), otherwise plain numbers (heights).
 */
export function Chart({
  title,
  x,
  series,
  time = false,
  height = 180,
}: {
  title: string;
  x: number[];
  series: { label: string; values: (number | null)[]; color: string }[];
  time?: boolean;
  height?: number;
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host || x.length === 0) return;
    const plot = new uPlot(
      {
        title,
        width: Math.max(280, host.clientWidth || 600),
        height,
        scales: { x: { time } },
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            points: { show: x.length < 60 },
          })),
        ],
        legend: { show: true },
      },
      [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
      host,
    );
    return () => plot.destroy();
  }, [title, x, series, time, height]);
  if (x.length === 0) return <p class="empty">{title}: nothing to plot yet.</p>;
  return <div class="chart" ref={el} data-chart={title} />;
}
