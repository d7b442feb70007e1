// The sandbox page: a Feishu-like chat with the bot, and the emulated tenant beside it.
// Cards are drawn from the very card JSON 2.0 the bot sent; nothing here knows the bot's cards.
"use strict";

const UI = {
  en_us: {
    sandbox: "sandbox", typingAs: "Typing as", messages: "Messages", send: "Send",
    hint: "Commands: /referral help. Type @ to mention someone. In the group the bot is @-mentioned for you.",
    emulator: "Feishu Open Platform (emulated)", postDigest: "Post digest now",
    accounts: "Accounts", directory: "Directory", calls: "API calls",
    cancel: "Cancel", confirm: "Confirm", direct: "Direct chat with the bot",
    group: "HR group", groupMembers: "Members: HR people and referral-bot (digest and notices land here)",
    directMembers: "One-to-one chat", bot: "Bot", admin: "admin", notAdmin: "not an admin",
    enabled: "Enabled", disabled: "Disabled", points: "Points", cash: "Cash",
    addBonus: "Add bonus", enable: "Enable", disable: "Disable", show: "Show in chat",
    withdraw: "Withdraw in chat",
    noAccounts: "No referral accounts yet.", noCalls: "The bot has made no Open API calls yet.",
    empty: "No messages yet. Try /referral help.", digestPosted: "Digest posted to the HR group",
    bonusAdded: "Bonus added: Feishu told the bot; the notice comes to the HR group within {n} s",
    bonusUntold: "Bonus added. The account is disabled, so Feishu tells the bot nothing",
    eventRefused: "Bonus added, but the bot did not take Feishu's event: {why}",
    offboard: "Offboard…", offboardTip: "Make {name} leave the company: Feishu tells the bot", left: "Left",
    leaveTitle: "{name} leaves the company?",
    leaveText: "The directory shows them as resigned and Feishu tells the bot (contact.user.deleted_v3). This cannot be undone in the sandbox.",
    leftToast: "{name} left the company; Feishu told the bot",
    leaveRefused: "{name} left, but the bot did not take Feishu's event: {why}",
    statusChanged: "Status changed in the emulator", failed: "Failed",
    you: "you", name: "Name", contact: "Email / Mobile", unsupported: "unsupported element",
    botMenu: "Bot menu", mentionSomeone: "Mention someone", nobody: "Nobody in the directory matches",
    choseFromMenu: "{name} chose “{item}” from the bot menu",
    download: "Download", fileGone: "The file is no longer available",
    referrals: "Referrals", candidate: "Candidate", job: "Job", refer: "Refer",
    referred: "Referred: the application is in Hire", noReferrals: "No referrals yet.",
    move: "Move", referredBy: "Referred by",
    moved: "Moved: Feishu told the bot; the referrer hears within {n} s",
  },
  zh_cn: {
    sandbox: "沙盒", typingAs: "当前身份", messages: "消息", send: "发送",
    hint: "命令：/referral help。输入 @ 可提及同事。在群里会自动 @ 机器人。",
    emulator: "飞书开放平台（模拟）", postDigest: "立即发送摘要",
    accounts: "账户", directory: "通讯录", calls: "API 调用",
    cancel: "取消", confirm: "确定", direct: "与机器人单聊",
    group: "HR 群", groupMembers: "成员：HR 与 referral-bot（摘要和通知发到这里）",
    directMembers: "单聊", bot: "机器人", admin: "管理员", notAdmin: "非管理员",
    enabled: "已启用", disabled: "已停用", points: "积分", cash: "现金",
    addBonus: "增加奖励", enable: "启用", disable: "停用", show: "在聊天中查看",
    withdraw: "在聊天中提取",
    noAccounts: "还没有内推账户。", noCalls: "机器人还没有调用开放平台 API。",
    empty: "还没有消息。试试 /referral help。", digestPosted: "摘要已发送到 HR 群",
    bonusAdded: "已增加奖励：飞书已通知机器人，{n} 秒内 HR 群会收到通知",
    bonusUntold: "已增加奖励。账户已停用，飞书不会通知机器人",
    eventRefused: "已增加奖励，但机器人未接受飞书事件：{why}",
    offboard: "办理离职…", offboardTip: "让{name}离职：飞书会通知机器人", left: "已离职",
    leaveTitle: "{name} 离职？",
    leaveText: "通讯录会显示其已离职，飞书会通知机器人（contact.user.deleted_v3）。沙盒中无法撤销。",
    leftToast: "{name} 已离职，飞书已通知机器人",
    leaveRefused: "{name} 已离职，但机器人未接受飞书事件：{why}",
    statusChanged: "已在模拟器中修改状态", failed: "失败",
    you: "你", name: "姓名", contact: "邮箱 / 手机", unsupported: "不支持的元素",
    botMenu: "机器人菜单", mentionSomeone: "提及同事", nobody: "通讯录中没有匹配的人",
    choseFromMenu: "{name} 选择了菜单「{item}」",
    download: "下载", fileGone: "文件已不可用",
    referrals: "内推", candidate: "候选人", job: "职位", refer: "推荐",
    referred: "已推荐：投递已进入招聘系统", noReferrals: "还没有内推。",
    move: "推进", referredBy: "推荐人",
    moved: "已推进：飞书已通知机器人，推荐人将在 {n} 秒内收到消息",
  },
};

// Colours Feishu accepts in <font color> and text tags, mapped to what this page draws.
const COLORS = {
  red: "#f54a45", green: "#2ea121", grey: "#8f959e", gray: "#8f959e", blue: "#3370ff",
  orange: "#ff8800", yellow: "#d6a800", violet: "#7f3bf5", purple: "#7f3bf5",
  indigo: "#4954e6", wathet: "#049fd7", turquoise: "#04b49c", carmine: "#d83931",
  lime: "#8fb500", default: "inherit", neutral: "#646a73",
};

const state = {
  config: null,
  lang: localStorage.getItem("sandbox.lang") || (navigator.language.startsWith("zh") ? "zh_cn" : "en_us"),
  person: localStorage.getItem("sandbox.person") || null,
  chat: null,
  rendered: new Map(), // message id -> {json, el}
  tenant: null,
  tab: "accounts",
  people: [], // the directory, for the @-mention picker
  mentions: [], // people picked into the composer: {open_id, label}, label as typed ("@Zhang San")
  picker: null, // {start, query, items, active} while the picker is open
  entered: new Set(), // people whose one-to-one chat this page has opened (the welcome event)
  stagePicks: {}, // application id -> the stage picked in the tenant panel, not yet moved to
  referDraft: {}, // the tenant panel's referral form, as typed so far
};

const $ = (sel, root = document) => root.querySelector(sel);
const t = (key) => UI[state.lang][key] || UI.en_us[key] || key;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) {
    const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// ---- text of cards --------------------------------------------------------------------------

// The reader's language from an `i18n_content`/`i18n` map, falling back to `content`.
function pick(node) {
  if (!node) return "";
  const i18n = node.i18n_content || node.i18n;
  if (i18n && i18n[state.lang] !== undefined) return i18n[state.lang];
  return node.content !== undefined ? node.content : "";
}

// Escape for HTML but keep the entities the bot wrote on purpose (its escapes of what people
// typed, e.g. &#60;at id=all&#62;), as Feishu does: shown as the characters, never as markup.
// They are kept as numeric entities, so no step below (which looks for &lt;at, &quot;, ** and
// the like in the escaped text) can take one for markup. With `backslash`, a backslash before
// punctuation is CommonMark's escape: the character itself (not inside code spans).
function escapeKeepEntities(text, backslash = false) {
  let source = text;
  if (backslash) source = source.replace(/\\([!-\/:-@[-`{-~])/g, (_, c) => `&#${c.charCodeAt(0)};`);
  return source.replace(/&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);|[&<>"]/gi, (match) => {
    if (match.length === 1) return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[match];
    const decoded = decodeEntity(match);
    return decoded === null ? `&amp;${match.slice(1)}` : `&#${decoded.codePointAt(0)};`;
  });
}

// The character an HTML entity stands for; null for one that is no entity.
function decodeEntity(entity) {
  const area = document.createElement("textarea");
  area.innerHTML = entity;
  return area.value === entity || !area.value ? null : area.value;
}

// Whom `<at id=…></at>` names, as Feishu shows it to this reader: the directory's name in the
// page's language; an id nobody in the directory has, as itself.
function atName(id) {
  if (id === "all") return "all";
  const known = state.config && state.config.names && state.config.names[id];
  return known ? nameOf(known) : id;
}

// A name put into the card's HTML: escaped, and with the characters markdown reads (* _ ~ [ ] ( )
// `) as entities, so a name is never taken for emphasis or a link by the steps that follow.
function escapeName(text) {
  return String(text).replace(/[&<>"'*_~`[\]()]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function inlineMarkdown(text) {
  let html = escapeKeepEntities(text, true);
  // <font color='red'>…</font>, the one HTML tag Feishu markdown takes; colours are whitelisted.
  html = html.replace(/&lt;font\s+color=(?:&quot;|')?([a-z-]+)(?:&quot;|')?\s*&gt;/gi, (_, c) => {
    const colour = COLORS[c.toLowerCase()] || "inherit";
    return `<span class="md-font" style="color:${colour}">`;
  });
  html = html.replace(/&lt;\/font&gt;/gi, "</span>");
  html = html.replace(/&lt;at\s+id=(?:&quot;|')?([\w-]+)(?:&quot;|')?\s*&gt;&lt;\/at&gt;/gi,
    (_, id) => `<span class="md-at" data-testid="mention" data-open-id="${id}">@${escapeName(atName(id))}</span>`);
  html = html.replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>");
  html = html.replace(/~~(.+?)~~/g, "<del>$1</del>");
  html = html.replace(/(^|[^*])\*([^*\s][^*]*?)\*/g, "$1<em>$2</em>");
  html = html.replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g,
    '<a href="$2" target="_blank" rel="noopener">$1</a>');
  return html;
}

// Feishu card markdown: bold, italics, strike, inline code, links, <font color>, lists, breaks.
function markdownToHtml(source) {
  const lines = source.split("\n").map((line) => {
    // Inline code first, so its content is never read as emphasis.
    const parts = line.split(/(`[^`]*`)/);
    let html = parts.map((part) => (part.length > 1 && part.startsWith("`") && part.endsWith("`")
      ? `<code>${escapeKeepEntities(part.slice(1, -1))}</code>`
      : inlineMarkdown(part))).join("");
    const bullet = html.match(/^\s*[-*]\s+(.*)$/);
    if (bullet) html = `<span class="md-li">${bullet[1]}</span>`;
    const heading = html.match(/^(#{1,6})\s+(.*)$/);
    if (heading) html = `<span class="md-h">${heading[2]}</span>`;
    return html;
  });
  return lines.join("<br>");
}

// ---- cards ----------------------------------------------------------------------------------

function renderCard(card, message) {
  const root = el("div", { class: "card", "data-testid": "card" });
  const header = card.header;
  if (header) {
    const template = header.template || "default";
    const head = el("div", { class: `card-header tpl-${template}` });
    const titleRow = el("div", { class: "card-title-row" },
      el("span", { class: "card-title", text: pick(header.title) }));
    for (const tag of header.text_tag_list || []) titleRow.append(renderTag(tag));
    head.append(titleRow);
    if (header.subtitle) head.append(el("div", { class: "card-subtitle", text: pick(header.subtitle) }));
    root.append(head);
  }
  const body = el("div", { class: "card-body" });
  const elements = (card.body && card.body.elements) || card.elements || [];
  for (const element of elements) body.append(renderElement(element, message));
  root.append(body);
  return root;
}

function renderTag(tag) {
  const colour = tag.color || "neutral";
  return el("span", { class: `text-tag tag-${colour}`, "data-testid": "text-tag", text: pick(tag.text) });
}

function renderElement(element, message) {
  switch (element.tag) {
    case "markdown":
    case "lark_md": {
      const node = el("div", { class: `md ${element.text_size ? "md-" + element.text_size : ""}` });
      node.innerHTML = markdownToHtml(pick(element));
      if (element.text_align) node.style.textAlign = element.text_align;
      return node;
    }
    case "div": {
      const text = element.text || {};
      const node = el("div", { class: "card-div" });
      if (text.tag === "lark_md") node.innerHTML = markdownToHtml(pick(text));
      else node.textContent = pick(text);
      for (const field of element.fields || []) {
        const f = el("div", { class: "card-field" });
        f.innerHTML = markdownToHtml(pick(field.text || {}));
        node.append(f);
      }
      return node;
    }
    case "plain_text":
      return el("div", { class: "card-div", text: pick(element) });
    case "hr":
      return el("hr", { class: "card-hr" });
    case "text_tag":
      return renderTag(element);
    case "column_set": {
      const row = el("div", { class: "column-set" });
      if (element.horizontal_spacing) row.style.gap = element.horizontal_spacing;
      for (const column of element.columns || []) {
        const col = el("div", { class: "column" });
        if (column.width === "weighted") col.style.flex = String(column.weight || 1);
        else if (column.width && column.width !== "auto") col.style.flex = `0 0 ${column.width}`;
        else col.style.flex = "0 0 auto";
        if (column.vertical_align) col.style.alignSelf = { top: "flex-start", center: "center", bottom: "flex-end" }[column.vertical_align] || "";
        for (const child of column.elements || []) col.append(renderElement(child, message));
        row.append(col);
      }
      return row;
    }
    case "collapsible_panel": {
      const panel = el("details", { class: "panel", open: element.expanded ? true : null });
      const title = (element.header && element.header.title) || {};
      panel.append(el("summary", { text: pick(title) }));
      for (const child of element.elements || []) panel.append(renderElement(child, message));
      return panel;
    }
    case "button":
      return renderButton(element, message);
    case "form": {
      const form = el("div", { class: "card-form", "data-testid": "card-form", "data-form": element.name });
      for (const child of element.elements || []) form.append(renderElement(child, message));
      return form;
    }
    case "input": {
      const input = el("input", {
        type: "text", class: "card-input", name: element.name, "data-testid": `input-${element.name}`,
        placeholder: element.placeholder ? pick(element.placeholder) : "",
      });
      input.value = element.default_value || "";
      const label = element.label ? el("span", { class: "card-label", text: pick(element.label) }) : null;
      return el("label", { class: "card-field-row" }, label, input);
    }
    case "select_static": {
      const select = el("select", { class: "card-select", name: element.name, "data-testid": `select-${element.name}` },
        (element.options || []).map((o) => el("option", {
          value: o.value, text: pick(o.text), selected: o.value === element.initial_option ? true : null,
        })));
      return el("label", { class: "card-field-row" }, select);
    }
    case "table":
      return renderTable(element);
    case "chart":
      return renderChart(element);
    default:
      return el("div", { class: "card-unsupported", text: `[${t("unsupported")}: ${element.tag}]` });
  }
}

function renderTable(element) {
  const table = el("table", { class: "card-table" });
  const columns = element.columns || [];
  table.append(el("tr", {}, columns.map((c) => el("th", { text: c.display_name || c.name }))));
  for (const row of element.rows || []) {
    table.append(el("tr", {}, columns.map((c) => el("td", { text: row[c.name] ?? "" }))));
  }
  return table;
}

// ---- charts: a small SVG drawing of the VChart specs the bot sends (line charts) ---------------
// The digest's charts carry no words: each is one unit's line, named by the markdown above it in
// the reader's language. A title, axis titles or a legend in a spec are drawn as given.

// VChart's default palette, so series keep the colours Feishu gives them.
const CHART_COLOURS = ["#1664ff", "#1ac6ff", "#ff8a00", "#3cc780", "#7442d4", "#ffc400", "#304d77", "#b48deb", "#009488", "#ff7dda"];
const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

// Round numbers for the value axis: from 0 (or the lowest value, if below) to above the highest.
function chartTicks(low, high) {
  low = Math.min(0, low);
  if (high <= low) high = low + 1;
  const rough = (high - low) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough);
  const ticks = [];
  for (let v = Math.floor(low / step) * step; v < high + step; v += step) {
    ticks.push(Math.round(v * 1e6) / 1e6);
    if (v >= high) break;
  }
  return ticks;
}

// A rough text width in the chart's units: CJK characters are about twice as wide.
function textWidth(text, size) {
  let units = 0;
  for (const ch of String(text)) units += /[\u2e80-\u9fff\uff00-\uffef]/.test(ch) ? 1 : 0.58;
  return units * size;
}

function renderChart(element) {
  const spec = element.chart_spec || {};
  const box = el("div", { class: "card-chart", "data-testid": "card-chart" });
  if (!["line", "area"].includes(spec.type)) {
    box.append(el("div", { class: "card-unsupported", text: `[${t("unsupported")}: chart ${spec.type}]` }));
    return box;
  }
  const data = Array.isArray(spec.data) ? spec.data.flatMap((d) => d.values || []) : (spec.data && spec.data.values) || [];
  const [x, y, s] = [spec.xField, spec.yField, spec.seriesField];
  const categories = [...new Set(data.map((row) => String(row[x])))];
  const names = s ? [...new Set(data.map((row) => String(row[s])))] : [String(y)];
  const series = names.map((name, i) => ({
    name, colour: CHART_COLOURS[i % CHART_COLOURS.length],
    rows: data.filter((row) => !s || String(row[s]) === name),
  }));
  const [ratioW, ratioH] = String(element.aspect_ratio || "16:9").split(":").map(Number);
  const W = 400, H = Math.round((W * (ratioH || 9)) / (ratioW || 16));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img" });

  const title = spec.title && spec.title.visible !== false ? spec.title.text : "";
  let top = 8;
  if (title) {
    chart.append(svg("text", { x: 8, y: 14, class: "chart-title", text: title }));
    chart.append(svg("title", { text: title }));
    top = 26;
  }
  // The legend, wrapped into rows along the bottom.
  const legendRows = [];
  if (!spec.legends || spec.legends.visible !== false) {
    let row = [], width = 0;
    for (const item of series) {
      const w = 14 + textWidth(item.name, 10) + 12;
      if (row.length && width + w > W - 16) { legendRows.push(row); row = []; width = 0; }
      row.push({ ...item, at: width }); width += w;
    }
    if (row.length) legendRows.push(row);
  }
  const axes = spec.axes || [];
  const axisTitle = (orient) => {
    const axis = axes.find((a) => a.orient === orient);
    return axis && axis.title && axis.title.visible !== false ? axis.title.text : "";
  };
  const xTitle = axisTitle("bottom"), yTitle = axisTitle("left");
  const legendTop = H - 14 * legendRows.length - 2;
  const bottom = legendTop - 16 - (xTitle ? 13 : 0);
  const values = data.map((row) => Number(row[y])).filter(Number.isFinite);
  const ticks = chartTicks(Math.min(...values, 0), Math.max(...values, 0));
  const format = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
  const left = 10 + (yTitle ? 12 : 0) + Math.max(...ticks.map((v) => textWidth(format.format(v), 9)));
  const right = W - 12;
  const [low, high] = [ticks[0], ticks[ticks.length - 1]];
  const py = (v) => bottom - ((v - low) / (high - low || 1)) * (bottom - top);
  const band = (right - left) / Math.max(categories.length, 1);
  const px = (category) => left + band * (categories.indexOf(category) + 0.5);

  const grid = svg("g", { class: "chart-axis" });
  for (const v of ticks) {
    grid.append(svg("line", { x1: left, x2: right, y1: py(v), y2: py(v), class: v === low ? "chart-baseline" : "chart-grid" }));
    grid.append(svg("text", { x: left - 4, y: py(v) + 3, "text-anchor": "end", text: format.format(v) }));
  }
  // As many date labels as fit side by side; the others are skipped evenly.
  const widest = Math.max(...categories.map((c) => textWidth(c, 9)), 1);
  const every = Math.max(1, Math.ceil((widest + 6) / band));
  categories.forEach((category, i) => {
    if (i % every && i !== categories.length - 1) return;
    grid.append(svg("text", { x: px(category), y: bottom + 12, "text-anchor": "middle", text: category }));
  });
  if (xTitle) grid.append(svg("text", { x: (left + right) / 2, y: bottom + 25, "text-anchor": "middle", class: "chart-axis-title", text: xTitle }));
  if (yTitle) {
    const mid = (top + bottom) / 2;
    grid.append(svg("text", { x: 9, y: mid, transform: `rotate(-90 9 ${mid})`, "text-anchor": "middle", class: "chart-axis-title", text: yTitle }));
  }
  chart.append(grid);

  for (const item of series) {
    const points = item.rows
      .filter((row) => Number.isFinite(Number(row[y])))
      .map((row) => ({ x: px(String(row[x])), y: py(Number(row[y])), row }))
      .sort((a, b) => a.x - b.x);
    const g = svg("g", { class: "chart-series", "data-series": item.name });
    if (spec.type === "area" && points.length) {
      const path = points.map((p) => `${p.x},${p.y}`).join(" ");
      g.append(svg("polygon", { points: `${points[0].x},${py(low)} ${path} ${points[points.length - 1].x},${py(low)}`, fill: item.colour, opacity: 0.15 }));
    }
    g.append(svg("polyline", { points: points.map((p) => `${p.x},${p.y}`).join(" "), fill: "none", stroke: item.colour, "stroke-width": 2, "stroke-linejoin": "round" }));
    if (!spec.point || spec.point.visible !== false) {
      for (const p of points) {
        g.append(svg("circle", { cx: p.x, cy: p.y, r: 2.5, fill: "#fff", stroke: item.colour, "stroke-width": 1.5 },
          svg("title", { text: `${s ? `${item.name} · ` : ""}${p.row[x]}: ${Number(p.row[y]).toLocaleString("en")}` })));
      }
    }
    chart.append(g);
  }

  legendRows.forEach((row, r) => {
    const width = row.reduce((w, item) => Math.max(w, item.at + 14 + textWidth(item.name, 10)), 0);
    const start = (W - width) / 2, yy = legendTop + 14 * r + 9;
    for (const item of row) {
      chart.append(svg("g", { class: "chart-legend" },
        svg("rect", { x: start + item.at, y: yy - 7, width: 10, height: 4, rx: 2, fill: item.colour }),
        svg("text", { x: start + item.at + 14, y: yy - 2, text: item.name })));
    }
  });
  box.append(chart);
  return box;
}

function renderButton(element, message) {
  const kind = element.type || "default";
  const callback = (element.behaviors || []).find((b) => b.type === "callback");
  const button = el("button", {
    type: "button",
    class: `btn btn-${kind.replace(/_.*/, "")}`,
    "data-testid": "card-button",
    disabled: element.disabled || !callback ? true : null,
    text: pick(element.text),
  });
  if (callback) {
    button.addEventListener("click", async () => {
      if (element.confirm && !(await confirmDialog(element.confirm))) return;
      // A form's submit button sends the form's values with its own (action.form_value).
      const form = element.form_action_type === "submit" ? button.closest(".card-form") : null;
      const values = form ? Object.fromEntries(
        [...form.querySelectorAll("[name]")].map((field) => [field.name, field.value])) : null;
      await pressButton(message.id, callback.value, button, values);
    });
  }
  return button;
}

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const dialog = $("#dialog");
    $("#dialog-title").textContent = pick(confirm.title);
    $("#dialog-text").textContent = pick(confirm.text);
    dialog.hidden = false;
    const finish = (answer) => {
      dialog.hidden = true;
      $("#dialog-ok").onclick = null;
      $("#dialog-cancel").onclick = null;
      resolve(answer);
    };
    $("#dialog-ok").onclick = () => finish(true);
    $("#dialog-cancel").onclick = () => finish(false);
    $("#dialog-ok").focus();
  });
}

async function pressButton(messageId, value, button, formValue = null) {
  button.classList.add("loading");
  button.disabled = true;
  try {
    const body = { message_id: messageId, open_id: state.person, value };
    if (formValue) body.form_value = formValue;
    const answer = await api("/api/press", body);
    if (answer.toast) toast(pick(answer.toast), answer.toast.type);
    else if (answer.error) toast(`${t("failed")}: ${JSON.stringify(answer.error)}`, "error");
    if (answer.card) replaceCard(messageId, answer.card);
  } catch (error) {
    toast(error.message, "error");
  } finally {
    button.classList.remove("loading");
    button.disabled = false;
  }
  refreshSoon();
}

// ---- the chat -------------------------------------------------------------------------------

function personById(openId) {
  return state.config.people.find((p) => p.open_id === openId);
}

function currentPerson() {
  return personById(state.person) || state.config.people[0];
}

function chatsForPerson() {
  const me = currentPerson();
  const bot = state.config.bot.name;
  return [
    { chat_id: me.p2p_chat, name: bot, sub: t("direct"), kind: "p2p" },
    { chat_id: state.config.group.chat_id, name: t("group"), sub: t("groupMembers"), kind: "group" },
  ];
}

function renderChatList() {
  const list = $("#chat-list");
  list.replaceChildren();
  for (const chat of chatsForPerson()) {
    const item = el("li", {
      class: `chat-item ${chat.chat_id === state.chat ? "active" : ""}`,
      "data-chat": chat.kind,
      onclick: () => openChat(chat.chat_id),
    },
    el("span", { class: `avatar ${chat.kind === "group" ? "avatar-group" : "avatar-bot"}`, text: chat.kind === "group" ? "HR" : "R" }),
    el("span", { class: "chat-item-text" },
      el("span", { class: "chat-item-name", text: chat.name }),
      el("span", { class: "chat-item-sub", text: chat.sub })));
    list.append(item);
  }
  const chat = chatsForPerson().find((c) => c.chat_id === state.chat);
  if (chat) {
    $("#chat-name").textContent = chat.name;
    $("#chat-members").textContent = chat.kind === "group" ? t("groupMembers") : t("directMembers");
    $("#mention-chip").hidden = chat.kind !== "group";
    // Feishu shows the bot menu in the one-to-one chat with the bot only.
    $("#bot-menu").hidden = chat.kind !== "p2p";
  }
}

function openChat(chatId) {
  state.chat = chatId;
  state.rendered.clear();
  $("#feed").replaceChildren();
  renderChatList();
  refreshFeed();
  enterChat(chatId);
  $("#composer-input").focus();
}

// Feishu tells the bot each time someone opens their one-to-one chat with it (the bot welcomes
// them once); the page says so the first time per person, not on every render.
function enterChat(chatId) {
  const me = currentPerson();
  if (chatId !== me.p2p_chat || state.entered.has(me.open_id)) return;
  state.entered.add(me.open_id);
  api("/api/enter", { open_id: me.open_id })
    .then(refreshSoon)
    .catch((error) => {
      state.entered.delete(me.open_id);
      toast(error.message, "error");
    });
}

function nameOf(thing) {
  return (state.lang === "zh_cn" ? thing.name_zh : thing.name_en) || thing.name || thing.open_id;
}

function messageView(item) {
  if (item.kind === "menu") {
    const choice = state.lang === "zh_cn" ? item.item_zh : item.item_en;
    return el("div", {
      class: "msg-note", "data-id": item.id, "data-testid": "menu-note",
      text: t("choseFromMenu").replace("{name}", nameOf(item)).replace("{item}", choice),
    });
  }
  if (item.kind === "user") {
    const mine = item.open_id === state.person;
    const name = state.lang === "zh_cn" ? item.name_zh : item.name_en;
    return el("div", { class: `msg ${mine ? "msg-mine" : "msg-other"}`, "data-id": item.id },
      el("span", { class: "avatar avatar-person", text: name.slice(0, 1) }),
      el("div", { class: "msg-main" },
        el("div", { class: "msg-name", text: name }),
        el("div", { class: "bubble", "data-testid": "user-message" }, ...mentionText(item))));
  }
  const content = item.content || {};
  const body = item.msg_type === "interactive"
    ? renderCard(content, item)
    : item.msg_type === "file"
      ? renderFile(item.file, content)
      : el("div", { class: "bubble", text: content.text || JSON.stringify(content) });
  return el("div", { class: "msg msg-bot", "data-id": item.id, "data-testid": "bot-message" },
    el("span", { class: "avatar avatar-bot", text: "R" }),
    el("div", { class: "msg-main" },
      el("div", { class: "msg-name" }, state.config.bot.name, el("span", { class: "bot-badge", text: t("bot") })),
      body));
}

// A file the bot sent: its name and size, and a link that downloads it, as Feishu's file bubble.
function renderFile(file, content) {
  if (!file) {
    return el("div", { class: "bubble file-bubble", "data-testid": "file-message" },
      el("span", { class: "file-icon", text: "📄" }),
      el("div", { class: "file-main" },
        el("div", { class: "file-name", text: content.file_key || "file" }),
        el("div", { class: "file-size", text: t("fileGone") })));
  }
  return el("div", { class: "bubble file-bubble", "data-testid": "file-message" },
    el("span", { class: "file-icon", text: "📄" }),
    el("div", { class: "file-main" },
      el("div", { class: "file-name", text: file.name }),
      el("div", { class: "file-size", text: fileSize(file.size) })),
    el("a", {
      class: "file-download", href: file.url, download: file.name,
      "data-testid": "file-download", text: t("download"),
    }));
}

function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// A person's message with each @-mention named in the reader's language, as Feishu shows it.
function mentionText(item) {
  return (item.parts || [{ text: item.text }]).map((part) => (part.at
    ? el("span", { class: "md-at", "data-testid": "mention", text: `@${nameOf(part)}` })
    : part.text));
}

function renderFeed(items) {
  const feed = $("#feed");
  const nearBottom = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 80;
  let added = false;
  if (!items.length && !feed.children.length) {
    feed.append(el("div", { class: "empty", text: t("empty") }));
  }
  for (const item of items) {
    const json = JSON.stringify([item.content, item.text]);
    const known = state.rendered.get(item.id);
    if (known && known.json === json) continue;
    const view = messageView(item);
    if (known) {
      known.el.replaceWith(view);
      view.classList.add("changed");
    } else {
      const empty = $(".empty", feed);
      if (empty) empty.remove();
      feed.append(view);
      added = true;
    }
    state.rendered.set(item.id, { json, el: view, item });
  }
  if (added && nearBottom) feed.scrollTop = feed.scrollHeight;
  else if (added) feed.scrollTop = feed.scrollHeight;
}

// The callback's answer changes the card at once, as Feishu does, before the next poll.
function replaceCard(messageId, card) {
  const known = state.rendered.get(messageId);
  if (!known) return;
  const item = { ...known.item, content: card };
  const view = messageView(item);
  known.el.replaceWith(view);
  view.classList.add("changed");
  state.rendered.set(messageId, { json: JSON.stringify([card, item.text]), el: view, item });
}

function rerenderAll() {
  const items = [...state.rendered.values()].map((r) => r.item);
  state.rendered.clear();
  $("#feed").replaceChildren();
  renderFeed(items);
}

let feedBusy = false;
async function refreshFeed() {
  if (feedBusy || !state.chat) return;
  feedBusy = true;
  const chat = state.chat;
  try {
    const data = await api(`/api/feed/${encodeURIComponent(chat)}`);
    if (chat === state.chat) renderFeed(data.items);
  } catch (error) {
    console.warn("feed", error);
  } finally {
    feedBusy = false;
  }
}

async function send(text, mentions) {
  try {
    const answer = await api("/api/say", { chat_id: state.chat, open_id: state.person, text, mentions });
    if (answer.status !== 200) toast(`${t("failed")}: ${answer.status} ${JSON.stringify(answer.answer)}`, "error");
  } catch (error) {
    toast(error.message, "error");
  }
  refreshSoon();
}

// ---- @-mentions and the bot menu ------------------------------------------------------------

// The "@…" being typed just before the caret, if any: where it starts and what follows the @.
function mentionQuery() {
  const input = $("#composer-input");
  if (input.selectionStart !== input.selectionEnd) return null;
  const before = input.value.slice(0, input.selectionStart);
  const match = before.match(/(?:^|\s)@([^\s@]{0,30})$/);
  return match ? { start: before.length - match[1].length - 1, query: match[1] } : null;
}

function updatePicker() {
  const found = mentionQuery();
  if (!found) {
    closePicker();
    return;
  }
  const query = found.query.toLowerCase();
  const items = state.people.filter((p) => !query
    || [p.name_en, p.name_zh, p.name, p.email].some((v) => v && v.toLowerCase().includes(query)));
  const active = state.picker && state.picker.query === found.query ? state.picker.active : 0;
  state.picker = { ...found, items, active: Math.min(active, Math.max(items.length - 1, 0)) };
  renderPicker();
}

function closePicker() {
  state.picker = null;
  renderPicker();
}

function renderPicker() {
  const list = $("#mention-picker");
  const input = $("#composer-input");
  const picker = state.picker;
  list.replaceChildren();
  list.hidden = !picker;
  input.setAttribute("aria-expanded", picker ? "true" : "false");
  input.removeAttribute("aria-activedescendant");
  if (!picker) return;
  if (!picker.items.length) list.append(el("li", { class: "picker-empty", text: t("nobody") }));
  picker.items.forEach((person, index) => {
    const active = index === picker.active;
    const option = el("li", {
      id: `mention-option-${index}`, role: "option", "aria-selected": active ? "true" : "false",
      class: `picker-item ${active ? "active" : ""}`, "data-testid": "mention-option",
      // Keep the caret in the input: the pick needs to know where the "@…" is.
      onmousedown: (event) => event.preventDefault(),
      onclick: () => pickMention(person),
    },
    el("span", { class: "avatar avatar-person avatar-small", text: nameOf(person).slice(0, 1) }),
    el("span", { class: "picker-name", text: nameOf(person) }),
    el("span", { class: "picker-email", text: person.email || "" }));
    list.append(option);
    if (active) input.setAttribute("aria-activedescendant", option.id);
  });
}

// Replace the "@…" being typed with "@Name " and remember whom that label stands for.
function pickMention(person) {
  const input = $("#composer-input");
  const picker = state.picker;
  if (!picker) return;
  const label = `@${nameOf(person)}`;
  const caret = input.selectionStart;
  input.value = `${input.value.slice(0, picker.start)}${label} ${input.value.slice(caret)}`;
  const after = picker.start + label.length + 1;
  input.setSelectionRange(after, after);
  state.mentions.push({ open_id: person.open_id, label });
  closePicker();
  input.focus();
}

function startMention() {
  const input = $("#composer-input");
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  const before = input.value.slice(0, start);
  const at = before && !/\s$/.test(before) ? " @" : "@";
  input.value = before + at + input.value.slice(end);
  input.focus();
  input.setSelectionRange(start + at.length, start + at.length);
  updatePicker();
}

function pickerKeys(event) {
  const picker = state.picker;
  if (!picker) return;
  const count = picker.items.length;
  if ((event.key === "ArrowDown" || event.key === "ArrowUp") && count) {
    event.preventDefault();
    picker.active = (picker.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
    renderPicker();
  } else if ((event.key === "Enter" || event.key === "Tab") && count) {
    event.preventDefault();
    pickMention(picker.items[picker.active]);
  } else if (event.key === "Escape") {
    event.preventDefault();
    closePicker();
  }
}

// The text as Feishu sends it: each picked "@Name" still in the text becomes `@_user_1`,
// `@_user_2`, … in the order they appear, with whom each stands for.
function encodeMentions(text) {
  const pending = [...state.mentions];
  const mentions = [];
  let sent = "";
  let from = 0;
  for (;;) {
    let next = null;
    for (const picked of pending) {
      const at = text.indexOf(picked.label, from);
      if (at < 0) continue;
      if (!next || at < next.at || (at === next.at && picked.label.length > next.picked.label.length)) {
        next = { at, picked };
      }
    }
    if (!next) break;
    const key = `@_user_${mentions.length + 1}`;
    sent += text.slice(from, next.at) + key;
    mentions.push({ key, open_id: next.picked.open_id });
    pending.splice(pending.indexOf(next.picked), 1);
    from = next.at + next.picked.label.length;
  }
  return { text: sent + text.slice(from), mentions };
}

function renderBotMenu() {
  $("#bot-menu-items").replaceChildren(...state.config.menu.map((item) => el("button", {
    type: "button", class: "bot-menu-item", "data-menu": item.event_key, "data-testid": "bot-menu-item",
    text: nameOf(item), onclick: () => chooseFromMenu(item),
  })));
}

// A bot menu item pushes its event key to the bot for whoever chose it; the answer comes into
// their one-to-one chat.
async function chooseFromMenu(item) {
  try {
    const answer = await api("/api/menu", { open_id: state.person, event_key: item.event_key });
    if (answer.status !== 200) toast(`${t("failed")}: ${answer.status} ${JSON.stringify(answer.answer)}`, "error");
  } catch (error) {
    toast(error.message, "error");
  }
  refreshSoon();
}

// ---- the emulated tenant --------------------------------------------------------------------

async function refreshTenant() {
  try {
    state.tenant = await api("/api/tenant");
    renderTenant();
  } catch (error) {
    console.warn("tenant", error);
  }
}

function renderTenant() {
  if (!state.tenant) return;
  renderAccounts();
  renderDirectory();
  renderReferrals();
  renderCalls();
}

// Hire's side of referrals: someone refers a candidate, and HR moves them through the stages;
// each move is the stage-change event Feishu pushes to the bot.
function renderReferrals() {
  const box = $("#tab-referrals");
  if (box.contains(document.activeElement) && ["INPUT", "SELECT"].includes(document.activeElement.tagName)) return;
  box.replaceChildren();
  const stageName = (s) => (state.lang === "zh_cn" ? s.zh : s.en);
  // What is typed or picked in the form survives the panel's polls until it is sent.
  const draft = state.referDraft;
  const keep = (name) => (event) => { draft[name] = event.target.value; };
  const referrer = el("select", { class: "in-referrer", "data-testid": "referrer", onchange: keep("referrer") },
    state.tenant.directory.filter((p) => !p.left).map((p) => el("option", {
      value: p.open_id, text: state.lang === "zh_cn" ? p.name_zh : p.name_en,
      selected: p.open_id === draft.referrer ? true : null,
    })));
  const candidate = el("input", { type: "text", placeholder: t("candidate"), "data-testid": "candidate", oninput: keep("candidate") });
  const job = el("input", { type: "text", placeholder: t("job"), "data-testid": "job", oninput: keep("job") });
  candidate.value = draft.candidate || "";
  job.value = draft.job || "";
  box.append(el("form", {
    class: "refer-form",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("/api/referrals", { referrer: referrer.value, candidate: candidate.value, job: job.value });
        state.referDraft = {};
        document.activeElement.blur();
        toast(t("referred"), "success");
      } catch (error) {
        toast(error.message, "error");
      }
      refreshTenant();
    },
  }, referrer, candidate, job, el("button", { type: "submit", class: "btn btn-primary btn-small", text: t("refer") })));
  if (!state.tenant.applications.length) box.append(el("p", { class: "muted", text: t("noReferrals") }));
  for (const app of state.tenant.applications) {
    // The stage picked survives the panel's polls until it is moved to.
    const picked = state.stagePicks[app.application_id] || app.stage_id;
    const stage = el("select", {
      class: "in-stage", "data-testid": "stage",
      onchange: (event) => { state.stagePicks[app.application_id] = event.target.value; },
    }, state.tenant.stages.map((s) => el("option", { value: s.id, text: stageName(s), selected: s.id === picked ? true : null })));
    const move = el("button", {
      type: "button", class: "btn btn-default btn-small", "data-testid": "move", text: t("move"),
      disabled: app.active ? null : true,
      onclick: async () => {
        try {
          const moved = await api(`/api/applications/${app.application_id}/stage`, { stage_id: stage.value });
          delete state.stagePicks[app.application_id];
          const event = moved.event;
          if (event && event.status === 200) toast(fill(t("moved"), { n: state.config.notice_window }), "success");
          else toast(fill(t("eventRefused"), { why: event ? eventTrouble(event) : "no event" }), "warning");
          refreshSoon();
        } catch (error) {
          toast(error.message, "error");
        }
        refreshTenant();
      },
    });
    box.append(el("div", { class: "acc", "data-application": app.application_id, "data-testid": "application" },
      el("div", { class: "acc-head" },
        el("span", { class: "acc-name", text: `${app.candidate} · ${app.job}` }),
        el("span", { class: `text-tag tag-${app.active ? "blue" : "grey"}`, "data-testid": "stage-now",
          text: state.lang === "zh_cn" ? app.stage_zh : app.stage_en })),
      el("div", { class: "muted small", text: `${t("referredBy")} ${state.lang === "zh_cn" ? app.referrer_zh : app.referrer_en}` }),
      el("div", { class: "acc-actions" }, stage, move)));
  }
}

function renderAccounts() {
  const box = $("#tab-accounts");
  // Keep what someone is typing into a bonus form across polls.
  if (box.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
  box.replaceChildren();
  if (!state.tenant.accounts.length) box.append(el("p", { class: "muted", text: t("noAccounts") }));
  for (const acc of state.tenant.accounts) {
    const name = state.lang === "zh_cn" ? acc.name_zh : acc.name_en;
    const cash = acc.cash_shown[state.lang] || acc.cash_shown.en_us;
    const points = el("input", { type: "number", step: "1", placeholder: t("points"), class: "in-points" });
    const amount = el("input", { type: "number", step: "0.01", placeholder: t("cash"), class: "in-amount" });
    const currency = el("select", { class: "in-currency" },
      ["CNY", "USD", "HKD", "EUR", "JPY"].map((c) => el("option", { value: c, text: c })));
    const form = el("form", {
      class: "bonus-form",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const added = await api(`/api/accounts/${acc.account_id}/bonus`, {
            points: points.value, amount: amount.value, currency: currency.value,
          });
          document.activeElement.blur();
          // Feishu pushes the new balance to the bot for an enabled account only.
          const event = added.event;
          if (!event) toast(t("bonusUntold"), "info");
          else if (event.status === 200) toast(fill(t("bonusAdded"), { n: state.config.notice_window }), "success");
          else toast(fill(t("eventRefused"), { why: eventTrouble(event) }), "warning");
          refreshSoon();
        } catch (error) {
          toast(error.message, "error");
        }
        refreshTenant();
      },
    }, points, amount, currency, el("button", { type: "submit", class: "btn btn-primary btn-small", text: t("addBonus") }));
    const toggle = el("button", {
      type: "button",
      class: "btn btn-default btn-small",
      text: acc.enabled ? t("disable") : t("enable"),
      onclick: async () => {
        try {
          await api(`/api/accounts/${acc.account_id}/status`, { enabled: !acc.enabled });
          toast(t("statusChanged"), "success");
        } catch (error) {
          toast(error.message, "error");
        }
        refreshTenant();
      },
    });
    const show = el("button", {
      type: "button", class: "btn btn-text btn-small", text: t("show"),
      onclick: () => typeCommand(`/referral show ${acc.account_id}`),
    });
    // A withdrawal is asked for in the chat; another admin approves it on the request card.
    const withdraw = el("button", {
      type: "button", class: "btn btn-text btn-small", "data-testid": "withdraw-in-chat", text: t("withdraw"),
      onclick: () => typeCommand(`/referral withdraw ${acc.account_id}`),
    });
    box.append(el("div", { class: "acc", "data-account": acc.account_id, "data-testid": "account" },
      el("div", { class: "acc-head" },
        el("span", { class: "acc-name", text: name }),
        el("span", { class: `text-tag tag-${acc.enabled ? "green" : "red"}`, text: acc.enabled ? t("enabled") : t("disabled") })),
      el("div", { class: "acc-id mono", text: acc.account_id }),
      el("div", { class: "acc-balance" },
        el("span", {}, `${t("points")}: `, el("b", { "data-testid": "points", text: acc.points_shown })),
        el("span", {}, `${t("cash")}: `, el("b", { "data-testid": "cash", text: cash }))),
      form,
      el("div", { class: "acc-actions" }, toggle, show, withdraw)));
  }
}

// One row a person: name, open_id and what can be done in the first column; email and mobile
// in the second, each on one line (a long one is cut with "…", its whole in the tooltip).
function renderDirectory() {
  const box = $("#tab-directory");
  const table = el("table", { class: "grid directory" },
    el("colgroup", {}, el("col", { class: "col-person" }), el("col", { class: "col-contact" })),
    el("tr", {}, el("th", { text: t("name") }), el("th", { text: t("contact") })));
  for (const e of state.tenant.directory) {
    const name = state.lang === "zh_cn" ? e.name_zh : e.name_en;
    const action = e.left
      ? el("span", { class: "text-tag tag-grey", "data-testid": "left", text: t("left") })
      : el("button", {
        type: "button", class: "btn btn-danger btn-small", "data-testid": "leave",
        text: t("offboard"), title: fill(t("offboardTip"), { name }),
        onclick: () => leaveCompany(e, name),
      });
    table.append(el("tr", { class: e.left ? "person-left" : null, "data-person": e.open_id },
      el("td", {},
        el("div", { class: "one-line" }, name,
          e.admin ? el("span", { class: "text-tag tag-blue", text: t("admin") }) : null),
        oneLine(e.open_id, "mono person-id"),
        el("div", { class: "person-action" }, action)),
      el("td", {},
        oneLine(e.email || "—", "person-email"),
        oneLine(e.mobile || "—", "person-mobile"))));
  }
  box.replaceChildren(table);
}

function oneLine(text, className) {
  return el("div", { class: `one-line ${className}`, title: text, text });
}

// Someone leaves: the emulator marks them resigned and pushes contact.user.deleted_v3 to the
// bot, which asks the HR group what to do with their referral account.
async function leaveCompany(person, name) {
  const confirmed = await confirmDialog({
    title: { content: fill(t("leaveTitle"), { name }) },
    text: { content: t("leaveText") },
  });
  if (!confirmed) return;
  try {
    const left = await api(`/api/directory/${encodeURIComponent(person.open_id)}/leave`, {});
    if (left.event && left.event.status === 200) toast(fill(t("leftToast"), { name }), "success");
    else toast(fill(t("leaveRefused"), { name, why: eventTrouble(left.event || {}) }), "warning");
  } catch (error) {
    toast(error.message, "error");
  }
  // Whom the @-mention picker offers: people who left are no longer in it.
  api("/api/people").then((people) => { state.people = people; }).catch(() => {});
  refreshSoon();
}

function eventTrouble(event) {
  if (event.error) return typeof event.error === "string" ? event.error : JSON.stringify(event.error);
  return String(event.status);
}

// "{name} left" with {name: "Zhang San"}: each {key} replaced by its value.
function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

function renderCalls() {
  const box = $("#tab-calls");
  const open = new Set([...box.querySelectorAll("details[open]")].map((d) => d.dataset.key));
  box.replaceChildren();
  if (!state.tenant.calls.length) box.append(el("p", { class: "muted", text: t("noCalls") }));
  for (const call of state.tenant.calls) {
    const key = `${call.at}-${call.path}`;
    const ok = call.status === 200 && (call.code === 0 || call.code === null || call.code === undefined);
    const time = new Date(call.at * 1000).toLocaleTimeString();
    const details = el("details", { class: "call", "data-key": key, open: open.has(key) ? true : null },
      el("summary", {},
        el("span", { class: "muted small", text: time }), " ",
        el("span", { class: `text-tag tag-${ok ? "green" : "red"}`, text: `${call.status}${call.code ? " · " + call.code : ""}` }), " ",
        el("b", { text: call.operation }), " ",
        el("span", { class: "mono small", text: `${call.method} ${call.path}` })),
      call.msg && !ok ? el("div", { class: "small", text: call.msg }) : null,
      call.body ? el("pre", { class: "mono small", text: call.body }) : null);
    box.append(details);
  }
}

// Put a command into the composer, ready to send (or to finish typing).
function typeCommand(command) {
  const input = $("#composer-input");
  input.value = command;
  state.mentions = [];
  input.focus();
  input.setSelectionRange(command.length, command.length);
  updatePicker();
}

async function postDigest() {
  try {
    await api("/api/digest", {});
    toast(t("digestPosted"), "success");
    openChat(state.config.group.chat_id);
  } catch (error) {
    toast(error.message, "error");
  }
  refreshSoon();
}

// ---- toasts, language, polling --------------------------------------------------------------

function toast(text, type = "info") {
  const box = el("div", { class: `toast toast-${type}`, "data-testid": "toast", role: "status" },
    el("span", { class: "toast-icon", text: { success: "✓", error: "✕", warning: "!", info: "i" }[type] || "i" }),
    el("span", { text }));
  $("#toasts").append(box);
  setTimeout(() => box.classList.add("leaving"), 3200);
  setTimeout(() => box.remove(), 3600);
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh_cn" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.classList.toggle("active", button.dataset.lang === state.lang);
  }
  $("#mention-button").setAttribute("aria-label", t("mentionSomeone"));
  $("#mention-button").title = t("mentionSomeone");
  renderPeople();
  renderBotMenu();
  renderChatList();
  rerenderAll();
  renderTenant();
}

function renderPeople() {
  const select = $("#person");
  select.replaceChildren(...state.config.people.map((p) => el("option", {
    value: p.open_id, selected: p.open_id === state.person ? true : null,
    text: state.lang === "zh_cn" ? p.name_zh : p.name_en,
  })));
}

function refreshSoon() {
  setTimeout(refreshFeed, 150);
  setTimeout(refreshTenant, 150);
}

async function start() {
  [state.config, state.people] = await Promise.all([api("/api/config"), api("/api/people")]);
  if (!personById(state.person)) state.person = state.config.people[0].open_id;
  state.chat = currentPerson().p2p_chat;
  $("#tenant-urls").textContent = `emulator ${state.config.emulator_url} · bot ${state.config.bot_url}`;

  $("#person").addEventListener("change", (event) => {
    const wasGroup = state.chat === state.config.group.chat_id;
    state.person = event.target.value;
    localStorage.setItem("sandbox.person", state.person);
    // Each person has their own one-to-one chat with the bot, as in Feishu.
    openChat(wasGroup ? state.config.group.chat_id : currentPerson().p2p_chat);
  });
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => {
      state.lang = button.dataset.lang;
      localStorage.setItem("sandbox.lang", state.lang);
      applyLanguage();
    });
  }
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      state.tab = tab.dataset.tab;
      for (const other of document.querySelectorAll("[data-tab]")) other.classList.toggle("active", other === tab);
      for (const body of document.querySelectorAll(".tab-body")) body.hidden = body.id !== `tab-${state.tab}`;
    });
  }
  const input = $("#composer-input");
  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const sent = encodeMentions(text);
    input.value = "";
    state.mentions = [];
    closePicker();
    send(sent.text, sent.mentions);
  });
  input.addEventListener("input", updatePicker);
  input.addEventListener("click", updatePicker);
  input.addEventListener("keydown", pickerKeys);
  input.addEventListener("blur", closePicker);
  $("#mention-button").addEventListener("mousedown", (event) => event.preventDefault());
  $("#mention-button").addEventListener("click", startMention);
  $("#post-digest").addEventListener("click", postDigest);
  const quick = $("#quick");
  for (const command of ["/referral help", "/referral list", "/referral register hire@open.com", "/referral register @", "/referral digest", "/referral withdrawals"]) {
    quick.append(el("button", { type: "button", class: "chip", text: command, onclick: () => typeCommand(command) }));
  }

  applyLanguage();
  openChat(state.chat);
  refreshTenant();
  setInterval(refreshFeed, 1000);
  setInterval(refreshTenant, 2500);
}

start().catch((error) => toast(`Cannot load the sandbox: ${error.message}`, "error"));
