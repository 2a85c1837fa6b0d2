// The segment builder (/segments): lines of feature, comparison and value
// from the feature catalogue (/api/features), joined with and/or; the
// condition text they make; the customers it selects, counted by the
// server (/api/campaigns/preview) a moment after each edit.
(function () {
  "use strict";
  const zh = (document.documentElement.lang || "zh").startsWith("zh");
  const say = (z, e) => (zh ? z : e);
  const lines = document.getElementById("seg-lines");
  if (!lines) return;
  const text = document.getElementById("seg-text");
  const hidden = document.getElementById("seg-condition");
  const count = document.getElementById("seg-n");
  const asOf = document.getElementById("seg-as-of");
  const csrf = document.querySelector("#seg-save input[name=csrf]").value;
  const tiers = JSON.parse(lines.dataset.tiers || "[]");

  // Comparisons by feature type; `holds` tests a list of held products.
  const ops = {
    number: [">=", ">", "<=", "<", "=", "!="],
    money: [">=", ">", "<=", "<", "=", "!="],
    ratio: [">=", ">", "<=", "<", "=", "!="],
    text: ["=", "!="],
    date: [">=", "<=", "=", ">", "<"],
    list: ["holds", "not holds"],
  };
  const opWords = {
    ">=": say("≥ 不低于", "≥ at least"), ">": say("> 高于", "> above"), "<=": say("≤ 不高于", "≤ at most"),
    "<": say("< 低于", "< below"), "=": say("= 等于", "= equals"), "!=": say("≠ 不等于", "≠ differs from"),
    holds: say("持有", "holds"), "not holds": say("未持有", "does not hold"),
  };
  const kindOf = (f) => {
    if (!f) return "number";
    const t = f.type;
    if (t.includes("money")) return "money";
    if (t.includes("ratio") || t.includes("percent")) return "ratio";
    if (t.includes("list")) return "list";
    if (t.includes("date")) return "date";
    if (t.includes("text") || t.includes("code")) return "text";
    return "number";
  };
  let catalogue = [];
  const byName = (n) => catalogue.find((f) => f.name === n);

  function quote(v) {
    return "'" + v.replace(/'/g, "''") + "'";
  }
  function lineText(row) {
    const f = byName(row.querySelector(".f").value);
    const op = row.querySelector(".op").value;
    const v = row.querySelector(".v").value.trim();
    if (!f || v === "") return null;
    const kind = kindOf(f);
    if (kind === "list") return (op === "not holds" ? "not " : "") + "holds(" + quote(v) + ")";
    const value = kind === "text" || kind === "date" ? quote(v) : v;
    return `${f.name} ${op} ${value}`;
  }
  function condition() {
    const parts = [];
    for (const row of lines.querySelectorAll(".seg-line")) {
      const t = lineText(row);
      if (!t) continue;
      if (parts.length) parts.push(row.querySelector(".join").value);
      parts.push(t);
    }
    return parts.join(" ");
  }

  let timer = null;
  let asked = 0;
  function changed() {
    const c = condition();
    text.textContent = c || "—";
    hidden.value = c;
    clearTimeout(timer);
    if (!c) {
      count.textContent = "—";
      asOf.textContent = "";
      return;
    }
    count.textContent = say("计算中…", "counting…");
    timer = setTimeout(() => preview(c), 300);
  }
  async function preview(c) {
    const mine = ++asked;
    const started = performance.now();
    try {
      const r = await fetch("/api/campaigns/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ segment: c }),
      });
      const d = await r.json();
      if (mine !== asked) return; // an older answer, overtaken by an edit
      if (!r.ok) {
        count.textContent = say("条件有误：", "Not a valid condition: ") + (d.error || r.status);
        count.classList.add("err");
        asOf.textContent = "";
        return;
      }
      count.classList.remove("err");
      count.textContent = Number(d.eligible).toLocaleString(zh ? "zh-CN" : "en");
      const ms = Math.round(performance.now() - started);
      asOf.textContent = `${say("数据日期", "as of")} ${d.as_of} · ${ms} ms`;
    } catch (e) {
      count.textContent = say("无法计算：", "Could not count: ") + e.message;
    }
  }

  function option(value, label, selected) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    if (selected) o.selected = true;
    return o;
  }
  function fillOps(row) {
    const f = byName(row.querySelector(".f").value);
    const sel = row.querySelector(".op");
    const kind = kindOf(f);
    sel.replaceChildren(...ops[kind].map((o) => option(o, opWords[o])));
    const v = row.querySelector(".v");
    v.placeholder = kind === "money" ? say("元", "yuan") : kind === "list" ? say("产品代码或类别，如 wealth", "product code or class, e.g. wealth") : f ? f.unit : "";
    v.setAttribute("list", f && f.name === "tier" ? "seg-tiers" : "");
    row.querySelector(".unit").textContent = f ? (kind === "money" ? say("元", "yuan") : f.unit || "") : "";
    row.querySelector(".meaning").textContent = f ? (zh ? f.meaning_zh : f.meaning) : "";
  }
  function addLine(feature, op, value) {
    const row = document.createElement("div");
    row.className = "seg-line";
    const join = document.createElement("select");
    join.className = "join";
    join.append(option("and", say("并且", "and")), option("or", say("或者", "or")));
    const f = document.createElement("select");
    f.className = "f";
    f.setAttribute("aria-label", say("特征", "Feature"));
    for (const x of catalogue) f.append(option(x.name, `${zh ? x.meaning_zh : x.meaning} (${x.name})`));
    if (feature) f.value = feature;
    const o = document.createElement("select");
    o.className = "op";
    const v = document.createElement("input");
    v.className = "v";
    v.size = 14;
    v.setAttribute("aria-label", say("取值", "Value"));
    const unit = document.createElement("span");
    unit.className = "unit muted";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = say("删除此条件", "Remove this condition");
    remove.addEventListener("click", () => {
      row.remove();
      firstJoinHidden();
      changed();
    });
    const meaning = document.createElement("div");
    meaning.className = "meaning muted";
    row.append(join, " ", f, " ", o, " ", v, " ", unit, " ", remove, meaning);
    lines.append(row);
    fillOps(row);
    if (op) o.value = op;
    if (value) v.value = value;
    f.addEventListener("change", () => { fillOps(row); changed(); });
    for (const el of [join, o]) el.addEventListener("change", changed);
    v.addEventListener("input", changed);
    firstJoinHidden();
    changed();
  }
  function firstJoinHidden() {
    lines.querySelectorAll(".seg-line").forEach((r, k) => {
      r.querySelector(".join").style.visibility = k === 0 ? "hidden" : "visible";
    });
  }

  const list = document.createElement("datalist");
  list.id = "seg-tiers";
  for (const [code, name] of tiers) list.append(option(name, code));
  document.body.append(list);

  fetch("/api/features", { credentials: "same-origin" })
    .then((r) => r.json())
    .then((d) => {
      catalogue = d.features;
      addLine("aum", ">=", "50000");
      addLine("product_classes", "not holds", "wealth");
      document.getElementById("seg-add").addEventListener("click", () => addLine("aum", ">=", ""));
      lines.dataset.ready = "1";
    })
    .catch((e) => {
      lines.textContent = say("特征目录读取失败：", "Could not read the feature catalogue: ") + e.message;
    });
})();
