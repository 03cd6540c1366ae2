// A time-series chart (uPlot on a canvas): cheap to redraw on every poll, so live metric
// charts stay smooth with many series.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef } from "preact/hooks";

export interface Series {
  label: string;
  /** One value per x; null where there is none. */
  values: (number | null)[];
}

const COLOURS = ["#2f7ed8", "#e8743b", "#19a979", "#945ecf", "#ed4a7b", "#13a4b4", "#6c8893", "#bf399e"];

export function Chart({ x, series, height = 200, xIsTime = true, bars = false, testid }: { x: number[]; series: Series[]; height?: number; xIsTime?: boolean; bars?: boolean; testid?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = `${series.map((s) => s.label).join("|")}:${xIsTime}:${bars}`;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: { x: { time: xIsTime } },
      axes: [
        { stroke: "var(--muted)", grid: { stroke: "var(--grid)" } },
        { stroke: "var(--muted)", grid: { stroke: "var(--grid)" }, size: 60 },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLOURS[i % COLOURS.length],
          width: 1.5,
          ...(bars ? { paths: uPlot.paths.bars?.({ size: [0.6, 40] }), fill: COLOURS[i % COLOURS.length] } : {}),
        })),
      ],
    };
    plot.current = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height]);
  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  });
  return <div class="chart" ref={box} data-testid={testid} />;
}
