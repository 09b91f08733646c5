// One job's task graph as an SVG: tasks as nodes, one edge per parent →
// child data flow, laid out by dagre (in graph-layout-worker.js), panned and
// zoomed with panzoom (drag, wheel, or the buttons; "fit" shows it whole).
// Node colours follow the task states the page polls: update() changes only
// classes, never the layout, so a 1 000-task graph stays cheap to refresh.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function layout(nodes, edges) {
  return new Promise((resolve, reject) => {
    const worker = new Worker("/assets/graph-layout-worker.js");
    worker.onmessage = (event) => {
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`graph layout failed: ${event.message}`));
    };
    worker.postMessage({ nodes, edges });
  });
}

/**
 * Draws `graph` (GET /api/jobs/ID/graph) into `container`.
 * Returns { drawn: Promise<{layoutMs, tasks}>, update(states), select(index) }.
 */
export function createGraphView(container, graph, { onSelect }) {
  const compact = graph.tasks.length > 200;
  const width = compact ? 56 : 150;
  const height = compact ? 24 : 34;
  const frame = h("div", { class: "graph-frame", "data-tasks": graph.tasks.length });
  const stage = h("div", { class: "graph-stage" });
  const status = h("span", { class: "graph-status" }, `laying out ${graph.tasks.length} tasks…`);
  let panzoom;
  const fit = () => {
    if (!panzoom || !stage.firstChild) return;
    const box = frame.getBoundingClientRect();
    const w = Number(stage.dataset.width);
    const hh = Number(stage.dataset.height);
    const scale = Math.min(2, Math.max(0.02, Math.min(box.width / w, box.height / hh)));
    panzoom.zoom(scale, { animate: false, force: true });
    setTimeout(() => panzoom.pan((box.width / scale - w) / 2, (box.height / scale - hh) / 2, { animate: false, force: true }));
  };
  const controls = h(
    "div",
    { class: "graph-controls" },
    h("button", { class: "secondary", title: "zoom in", onclick: () => panzoom?.zoomIn() }, "+"),
    h("button", { class: "secondary", title: "zoom out", onclick: () => panzoom?.zoomOut() }, "−"),
    h("button", { class: "secondary", title: "show the whole graph", onclick: fit }, "fit"),
    status,
  );
  frame.append(stage);
  container.append(controls, frame);

  const nodeElements = new Map();
  const drawn = (async () => {
    const nodes = graph.tasks.map((task) => ({ id: String(task.index), width, height }));
    const edges = [];
    for (const task of graph.tasks) for (const parent of task.parents) edges.push([String(parent), String(task.index)]);
    const placed = await layout(nodes, edges);

    const edgeGroup = svg("g", { class: "edges" });
    for (const [, , points] of placed.routes) {
      edgeGroup.append(svg("path", { d: `M${points.map(([x, y]) => `${x.toFixed(1)} ${y.toFixed(1)}`).join(" L")}`, "marker-end": "url(#arrow)" }));
    }
    const nodeGroup = svg("g", { class: "nodes" });
    for (const task of graph.tasks) {
      const [x, y] = placed.positions[String(task.index)];
      const label = compact ? `${task.index}` : `${task.index} ${task.function}`.slice(0, 22);
      const node = svg(
        "g",
        { class: "node state-unknown", "data-task": task.index, "data-state": "unknown", transform: `translate(${(x - width / 2).toFixed(1)} ${(y - height / 2).toFixed(1)})` },
        svg("title", {}, `task ${task.index}: ${task.function}`),
        svg("rect", { width, height, rx: 5 }),
        svg("text", { x: width / 2, y: height / 2 + 4, "text-anchor": "middle" }, label),
      );
      node.addEventListener("click", () => onSelect(task.index));
      nodeElements.set(task.index, node);
      nodeGroup.append(node);
    }
    const defs = svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" }, svg("path", { d: "M0 0 L10 5 L0 10 z" })));
    const picture = svg("svg", { class: "graph", width: Math.ceil(placed.width), height: Math.ceil(placed.height), "data-rendered": graph.tasks.length }, defs, edgeGroup, nodeGroup);
    stage.dataset.width = String(placed.width);
    stage.dataset.height = String(placed.height);
    stage.append(picture);
    // panzoom comes from /vendor/panzoom.min.js (a deferred classic script).
    panzoom = window.Panzoom(stage, { origin: "0 0", maxScale: 4, minScale: 0.02, canvas: true, step: 0.2 });
    frame.addEventListener("wheel", panzoom.zoomWithWheel);
    fit();
    status.textContent = `${graph.tasks.length} tasks, ${graph.edges} edges · drag to pan, wheel to zoom`;
    return { layoutMs: placed.layoutMs, tasks: graph.tasks.length };
  })();

  let selected;
  return {
    drawn,
    /** Colours the nodes: `states` maps task index → state name. */
    update(states) {
      for (const [index, node] of nodeElements) {
        const state = states.get(String(index)) ?? "unknown";
        if (node.dataset.state === state) continue;
        node.dataset.state = state;
        node.setAttribute("class", `node state-${state.replace(/[^A-Za-z]/g, "")}${index === selected ? " selected" : ""}`);
      }
    },
    select(index) {
      nodeElements.get(selected)?.classList.remove("selected");
      selected = index;
      nodeElements.get(index)?.classList.add("selected");
    },
  };
}
