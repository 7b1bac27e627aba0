// byokgate dashboard: the usage chart (uPlot, vendored) from the page's data attribute (no inline script).
(() => {
  const box = document.getElementById("usage-chart");
  if (!box || typeof uPlot === "undefined") return;
  const data = JSON.parse(box.getAttribute("data-series"));
  const bars = uPlot.paths.bars({ size: [0.6, 40] });
  const width = () => Math.max(320, box.clientWidth);
  const chart = new uPlot({
    width: width(),
    height: 260,
    series: [
      {},
      { label: "Requests", stroke: "#0b57d0", fill: "rgba(11, 87, 208, 0.25)", paths: bars, scale: "requests" },
      { label: "Cost (USD)", stroke: "#a4161a", width: 2, scale: "usd", value: (u, v) => v == null ? "-" : v.toFixed(6) },
    ],
    axes: [
      {},
      { scale: "requests", label: "Requests" },
      { scale: "usd", side: 1, label: "USD", grid: { show: false }, values: (u, vals) => vals.map(v => v.toFixed(4)) },
    ],
    scales: { x: { time: true } },
  }, data, box);
  window.addEventListener("resize", () => chart.setSize({ width: width(), height: 260 }));
})();
