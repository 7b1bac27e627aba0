// byokgate dashboard: the usage charts (uPlot, vendored) from the page's data attribute (no inline script).
// The data: [days, requests, errors, cost in USD, tokens, cache hits].
(() => {
  const box = document.getElementById("usage-chart");
  const tokensBox = document.getElementById("usage-tokens-chart");
  if (!box || typeof uPlot === "undefined") return;
  const [days, requests, errors, cost, tokens, hits] = JSON.parse(box.getAttribute("data-series"));
  const bars = () => uPlot.paths.bars({ size: [0.6, 40] });
  const width = (element) => Math.max(320, element.clientWidth);
  const usd = (u, v) => v == null ? "-" : v.toFixed(6);
  const charts = [
    [box, [days, requests, errors, cost], {
      series: [
        {},
        { label: "Requests", stroke: "#0b57d0", fill: "rgba(11, 87, 208, 0.25)", paths: bars(), scale: "requests" },
        { label: "Errors", stroke: "#a4161a", fill: "rgba(164, 22, 26, 0.35)", paths: bars(), scale: "requests" },
        { label: "Cost (USD)", stroke: "#1b1f24", width: 2, scale: "usd", value: usd },
      ],
      axes: [
        {},
        { scale: "requests", label: "Requests" },
        { scale: "usd", side: 1, label: "USD", grid: { show: false }, values: (u, vals) => vals.map(v => v.toFixed(4)) },
      ],
    }],
    [tokensBox, [days, tokens, hits], {
      series: [
        {},
        { label: "Tokens", stroke: "#0b57d0", width: 2, scale: "tokens" },
        { label: "Cache hits", stroke: "#2e7d32", fill: "rgba(46, 125, 50, 0.3)", paths: bars(), scale: "hits" },
      ],
      axes: [
        {},
        { scale: "tokens", label: "Tokens" },
        { scale: "hits", side: 1, label: "Cache hits", grid: { show: false } },
      ],
    }],
  ].filter(([element]) => element).map(([element, data, options]) => {
    const chart = new uPlot({ width: width(element), height: 240, scales: { x: { time: true } }, ...options }, data, element);
    return [element, chart];
  });
  window.addEventListener("resize", () => {
    for (const [element, chart] of charts) chart.setSize({ width: width(element), height: 240 });
  });
})();
