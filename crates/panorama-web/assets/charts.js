// Panorama's charts, drawn with Apache ECharts (vendored, /assets/echarts.min.js,
// loaded only on pages that have a chart).
//
// A page places `<div class="chart" data-chart="KIND" data-src="/api/…">`;
// this script reads the JSON the page's API serves (the same the page was
// drawn from) and draws KIND from it: axes with units, tooltips, legends,
// in the page's language. Labels the API does not carry (tier names, axis
// titles) come in `data-labels` as JSON [code, word] pairs. A chart whose data cannot be read
// says so in place of the chart.
(function () {
  "use strict";
  const zh = (document.documentElement.lang || "zh").startsWith("zh");
  const say = (z, e) => (zh ? z : e);
  const blue = ["#0b3d6e", "#3a7bd5", "#7fb3e6", "#e6a700", "#2e8b57", "#c0392b", "#8e44ad", "#16a085"];
  const yuan = (fen) => fen / 100;
  const trim = (x) => String(Number(x.toFixed(2)));
  const money = (v) => {
    const a = Math.abs(v);
    if (zh) return a >= 1e8 ? trim(v / 1e8) + "亿" : a >= 1e4 ? trim(v / 1e4) + "万" : trim(v);
    return a >= 1e9 ? trim(v / 1e9) + "B" : a >= 1e6 ? trim(v / 1e6) + "M" : a >= 1e3 ? trim(v / 1e3) + "k" : trim(v);
  };
  // Axis labels in 万 (ten thousand) or 亿 (a hundred million) yuan, the
  // way Chinese banks' reports write them.
  const moneyAxis = (v) => (v === 0 ? "0" : money(v));
  const moneyFull = (v) => v.toLocaleString(zh ? "zh-CN" : "en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const pct = (v, d = 1) => (100 * v).toFixed(d) + "%";
  const base = {
    color: blue,
    animationDuration: 300,
    // A description of each chart for screen readers, in the page's language.
    aria: { enabled: true },
    grid: { left: 56, right: 24, top: 36, bottom: 40, containLabel: true },
    tooltip: { trigger: "axis" },
    textStyle: { fontFamily: "'Microsoft YaHei','WenQuanYi Micro Hei',sans-serif" },
  };

  const kinds = {
    // 360: month-end balances by product class, stacked.
    "aum-trend": (d, labels) => {
      const months = [...new Set(d.trend.map((r) => r[0]))].sort();
      const classes = [...new Set(d.trend.map((r) => r[1]))];
      return {
        ...base,
        legend: { top: 0 },
        tooltip: { trigger: "axis", valueFormatter: (v) => moneyFull(v) + say(" 元", " yuan") },
        xAxis: { type: "category", data: months, name: say("月份", "Month"), nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "value", name: say("余额（元）", "Balance (yuan)"), axisLabel: { formatter: money } },
        series: classes.map((c) => ({
          name: labels[c] || c,
          type: "line",
          stack: "aum",
          areaStyle: { opacity: 0.35 },
          symbol: "none",
          data: months.map((m) => {
            const r = d.trend.find((x) => x[0] === m && x[1] === c);
            return r ? yuan(r[2]) : 0;
          }),
        })),
      };
    },
    // Dashboard: customers and AUM per value tier.
    tiers: (d, labels) => {
      const t = d.dashboard.tiers;
      return {
        ...base,
        legend: { top: 0 },
        xAxis: { type: "category", data: t.map((x) => labels[x.tier] || x.tier) },
        yAxis: [
          { type: "value", name: say("客户数", "Customers") },
          { type: "value", name: say("资产（元）", "AUM (yuan)"), axisLabel: { formatter: money }, splitLine: { show: false } },
        ],
        series: [
          { name: say("客户数", "Customers"), type: "bar", data: t.map((x) => x.customers) },
          {
            name: say("资产", "AUM"), type: "bar", yAxisIndex: 1, data: t.map((x) => yuan(x.aum_minor)),
            tooltip: { valueFormatter: (v) => moneyFull(v) + say(" 元", " yuan") },
          },
        ],
      };
    },
    // Dashboard: customers moving from one tier (rows) to another (columns).
    migration: (d, labels) => {
      const m = d.dashboard.migration;
      // The tiers in the order the labels list them (the configuration's).
      const order = Object.keys(labels);
      const byOrder = (a, b) => order.indexOf(a) - order.indexOf(b);
      const from = [...new Set(m.map((x) => x[0]))].sort(byOrder);
      const to = [...new Set(m.map((x) => x[1]))].sort(byOrder);
      const top = Math.max(1, ...m.map((x) => x[2]));
      return {
        ...base,
        tooltip: {
          trigger: "item",
          formatter: (p) => `${labels[from[p.value[1]]] || from[p.value[1]]} → ${labels[to[p.value[0]]] || to[p.value[0]]}: ${p.value[2]}`,
        },
        grid: { ...base.grid, right: 72 },
        xAxis: { type: "category", data: to.map((x) => labels[x] || x), name: say("迁入", "To"), nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "category", data: from.map((x) => labels[x] || x), name: say("迁出", "From") },
        visualMap: { min: 0, max: top, calculable: true, orient: "vertical", right: 0, top: "middle", itemHeight: 100,
          inRange: { color: ["#e8eef6", "#0b3d6e"] } },
        series: [{
          type: "heatmap", label: { show: true },
          data: m.map((x) => [to.indexOf(x[1]), from.indexOf(x[0]), x[2]]),
        }],
      };
    },
    // Dashboard: share of profit earned by the top share of customers.
    pareto: (d) => ({
      ...base,
      tooltip: { trigger: "axis", formatter: (p) => `${say("前", "Top ")}${pct(p[0].value[0], 0)}${say("客户", " of customers")}: ${pct(p[0].value[1])}${say("利润", " of profit")}` },
      xAxis: { type: "value", min: 0, max: 1, name: say("客户占比", "Share of customers"), nameLocation: "middle", nameGap: 28, axisLabel: { formatter: (v) => pct(v, 0) } },
      yAxis: { type: "value", name: say("利润占比", "Share of profit"), axisLabel: { formatter: (v) => pct(v, 0) } },
      series: [
        { name: say("利润贡献", "Profit"), type: "line", data: [[0, 0], ...d.dashboard.pareto.map((p) => [p.customers, p.profit])] },
        { name: say("均匀", "Even"), type: "line", data: [[0, 0], [1, 1]], symbol: "none", lineStyle: { type: "dashed", color: "#bbb" }, tooltip: { show: false } },
      ],
    }),
    // Dashboard: each target's attainment so far.
    "target-progress": (d) => {
      const t = d.dashboard.targets;
      return {
        ...base,
        tooltip: { trigger: "axis", valueFormatter: (v) => v.toFixed(1) + "%" },
        xAxis: { type: "value", name: say("完成率 %", "Attained %"), nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "category", data: t.map((x) => (zh ? x.name : x.name_en)), inverse: true },
        series: [{
          type: "bar", name: say("完成率", "Attained"),
          data: t.map((x) => (x.target > 0 ? (100 * x.actual) / x.target : 0)),
          markLine: { symbol: "none", data: [{ xAxis: 100 }], lineStyle: { color: "#c0392b" }, label: { formatter: "100%" } },
          label: { show: true, position: "right", formatter: (p) => p.value.toFixed(0) + "%" },
        }],
      };
    },
    // Dashboard: members of each saved segment at its last refresh.
    segments: (d) => {
      const s = d.dashboard.segments;
      return {
        ...base,
        tooltip: { trigger: "axis" },
        xAxis: { type: "value", name: say("客户数", "Customers"), nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "category", data: s.map((x) => x[0]), inverse: true },
        series: [{ type: "bar", name: say("客户数", "Customers"), data: s.map((x) => x[1]),
          label: { show: true, position: "right" } }],
      };
    },
    // Targets page: each child's actual against its target.
    "target-children": (d) => {
      const c = d.children.filter((x) => x.target !== null);
      const money = d.indicator.unit === "minor";
      const v = (x) => (money ? yuan(x) : x);
      return {
        ...base,
        legend: { top: 0 },
        tooltip: { trigger: "axis", valueFormatter: (x) => (money ? moneyFull(x) + say(" 元", " yuan") : x) },
        xAxis: { type: "category", data: c.map((x) => x.name), axisLabel: { interval: 0, rotate: c.length > 6 ? 30 : 0 } },
        yAxis: { type: "value", name: money ? say("元", "yuan") : say("数量", "Count"), axisLabel: { formatter: money ? moneyAxis : undefined } },
        series: [
          { name: say("目标", "Target"), type: "bar", data: c.map((x) => v(x.target || 0)), itemStyle: { color: "#c9d6e8" } },
          { name: say("实际", "Actual"), type: "bar", data: c.map((x) => v(x.actual || 0)) },
          { name: say("期末预测", "Forecast"), type: "bar", data: c.map((x) => (x.forecast ? v(x.forecast.forecast) : null)), itemStyle: { color: "#f2b36b" } },
        ],
      };
    },
    // Models: cumulative gains by decile against random targeting.
    gains: (d, _labels, el) => {
      const m = d.models.find((x) => String(x.id) === el.dataset.model);
      const dec = m.report.test.deciles;
      return {
        ...base,
        tooltip: { trigger: "axis", valueFormatter: (v) => pct(v) },
        xAxis: { type: "value", min: 0, max: 1, name: say("按得分排序的客户占比", "Share of customers, best scored first"), nameLocation: "middle", nameGap: 28, axisLabel: { formatter: (v) => pct(v, 0) } },
        yAxis: { type: "value", min: 0, max: 1, name: say("捕获的正例占比", "Share of positives found"), axisLabel: { formatter: (v) => pct(v, 0) } },
        series: [
          { name: say("模型", "Model"), type: "line", data: [[0, 0], ...dec.map((x, k) => [(k + 1) / dec.length, x.cumulative_gain])] },
          { name: say("随机", "Random"), type: "line", symbol: "none", data: [[0, 0], [1, 1]], lineStyle: { type: "dashed", color: "#bbb" } },
        ],
      };
    },
    // Models: each decile's mean score against its observed rate.
    calibration: (d, _labels, el) => {
      const m = d.models.find((x) => String(x.id) === el.dataset.model);
      const dec = m.report.test.deciles;
      const top = Math.max(1e-6, ...dec.map((x) => Math.max(x.mean_score, x.rate)));
      return {
        ...base,
        tooltip: { trigger: "item", formatter: (p) => `${say("预测", "Predicted")} ${pct(p.value[0])} · ${say("实际", "Observed")} ${pct(p.value[1])}` },
        xAxis: { type: "value", min: 0, max: top, name: say("平均得分", "Mean score"), nameLocation: "middle", nameGap: 28, axisLabel: { formatter: (v) => pct(v, 0) } },
        yAxis: { type: "value", min: 0, max: top, name: say("实际比率", "Observed rate"), axisLabel: { formatter: (v) => pct(v, 0) } },
        series: [
          { name: say("十分位", "Deciles"), type: "line", data: dec.map((x) => [x.mean_score, x.rate]) },
          { name: say("完全校准", "Calibrated"), type: "line", symbol: "none", data: [[0, 0], [top, top]], lineStyle: { type: "dashed", color: "#bbb" } },
        ],
      };
    },
    // Campaign: response rate per arm with its 95% interval.
    rates: (d) => {
      const arms = d.results.arms;
      const name = (a) => (a === "control" ? say("对照组", "Control") : say("方案 ", "Arm ") + a);
      return {
        ...base,
        tooltip: {
          trigger: "axis",
          formatter: (p) => {
            const a = arms[p[0].dataIndex];
            return `${name(a.arm)}: ${pct(a.rate.rate, 2)} (${a.rate.responders}/${a.rate.members})<br>95%: ${pct(a.rate.low, 2)} – ${pct(a.rate.high, 2)}`;
          },
        },
        xAxis: { type: "category", data: arms.map((a) => name(a.arm)) },
        yAxis: { type: "value", name: say("响应率", "Response rate"), axisLabel: { formatter: (v) => pct(v, 0) } },
        series: [
          { type: "bar", name: say("响应率", "Response rate"), barMaxWidth: 64,
            data: arms.map((a) => ({ value: a.rate.rate, itemStyle: { color: a.arm === "control" ? "#9aa5b1" : "#0b3d6e" } })) },
          {
            type: "custom", name: "95%", tooltip: { show: false },
            renderItem: (params, api) => {
              const lo = api.coord([api.value(0), api.value(1)]);
              const hi = api.coord([api.value(0), api.value(2)]);
              const w = 8;
              const style = { stroke: "#222", lineWidth: 1.5 };
              return { type: "group", children: [
                { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style },
                { type: "line", shape: { x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1] }, style },
                { type: "line", shape: { x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1] }, style },
              ] };
            },
            data: arms.map((a, k) => [k, a.rate.low, a.rate.high]),
            z: 10,
          },
        ],
      };
    },
    // Campaign: cumulative response rate by date, per arm.
    curve: (d) => {
      const c = d.results.curve;
      const arms = [...new Set(c.flatMap((x) => Object.keys(x[1])))];
      const name = (a) => (a === "control" ? say("对照组", "Control") : say("方案 ", "Arm ") + a);
      return {
        ...base,
        legend: { top: 0 },
        tooltip: { trigger: "axis", valueFormatter: (v) => pct(v, 2) },
        xAxis: { type: "category", data: c.map((x) => x[0]), name: say("日期", "Date"), nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "value", name: say("累计响应率", "Cumulative rate"), axisLabel: { formatter: (v) => pct(v, 0) } },
        series: arms.map((a) => ({
          name: name(a), type: "line", symbol: "none",
          lineStyle: a === "control" ? { type: "dashed" } : undefined,
          data: c.map((x) => x[1][a] ?? null),
        })),
      };
    },
  };

  // One fetch per API address, shared by the charts that read it.
  const fetched = new Map();
  const read = (src) => {
    if (!fetched.has(src)) {
      fetched.set(src, fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.status + " " + r.statusText)))));
    }
    return fetched.get(src);
  };

  function draw() {
    for (const el of document.querySelectorAll("div.chart[data-chart]")) {
      const kind = kinds[el.dataset.chart];
      if (!kind) continue;
      // [code, word] pairs in order; an object keeps their order.
      const labels = Object.fromEntries(el.dataset.labels ? JSON.parse(el.dataset.labels) : []);
      // The page's own copy of the JSON when it has one (the 360: fetching
      // the API again would read, and audit, the customer a second time).
      const source = el.dataset.json ? Promise.resolve(JSON.parse(el.dataset.json)) : read(el.dataset.src);
      source
        .then((d) => {
          const chart = echarts.init(el, null, { locale: zh ? "ZH" : "EN", renderer: "svg" });
          chart.setOption(kind(d, labels, el));
          el.dataset.drawn = "1";
          new ResizeObserver(() => chart.resize()).observe(el);
        })
        .catch((e) => {
          el.textContent = say("图表数据读取失败：", "Could not read the chart's data: ") + e.message;
          el.classList.add("err");
        });
    }
  }
  // ECharts (1.1 MB) is loaded only by pages that have a chart.
  function start() {
    if (!document.querySelector("div.chart[data-chart]")) return;
    const lib = document.createElement("script");
    lib.src = "/assets/echarts.min.js";
    lib.onload = draw;
    lib.onerror = () => {
      for (const el of document.querySelectorAll("div.chart[data-chart]")) {
        el.textContent = say("图表库加载失败", "Could not load the chart library");
        el.classList.add("err");
      }
    };
    document.head.append(lib);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
