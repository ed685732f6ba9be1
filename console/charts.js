// Small time-series line charts on <canvas>: the last `windowSeconds` of one
// or more named series, y axis from 0 to a round maximum, a legend with each
// series' latest value. Drawn on demand (draw()), sized to the canvas' CSS box.

const PALETTE = ['#2f7ed8', '#e4572e', '#17a589', '#a05bd6', '#d4a017', '#7f8c8d', '#c0392b', '#1abc9c'];

// A round grid step (1, 2 or 5 × 10^n) so that `lines` steps cover `value`.
function gridStep(value, lines) {
  const raw = value / lines;
  if (!(raw > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 5]) {
    if (step * magnitude >= raw) return step * magnitude;
  }
  return 10 * magnitude;
}

export class TimeChart {
  // format(value) -> text for axis labels and the legend; minimumMax keeps a
  // flat line at 0 from filling the whole height.
  constructor(canvas, {format = String, minimumMax = 1, windowSeconds = 120, emptyText = 'waiting for data'} = {}) {
    this.canvas = canvas;
    this.format = format;
    this.minimumMax = minimumMax;
    this.windowMs = windowSeconds * 1000;
    this.emptyText = emptyText;
    this.series = new Map();  // name -> {color, points: [{t, v}]}
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  // Adds a sample; `value` null leaves a gap in the line.
  add(name, time, value) {
    let series = this.series.get(name);
    if (!series) {
      series = {color: PALETTE[this.series.size % PALETTE.length], points: []};
      this.series.set(name, series);
    }
    series.points.push({t: time, v: value});
    const oldest = time - this.windowMs - 2000;
    while (series.points.length > 0 && series.points[0].t < oldest) series.points.shift();
    this.canvas.dataset.samples = String(this.sampleCount());
  }

  // Forgets series not in `names` (e.g. a projection that went away).
  keepOnly(names) {
    for (const name of [...this.series.keys()]) {
      if (!names.has(name)) this.series.delete(name);
    }
  }

  sampleCount() {
    let count = 0;
    for (const series of this.series.values()) count += series.points.length;
    return count;
  }

  draw(now = Date.now()) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;  // hidden tab
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const context = canvas.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);

    const style = getComputedStyle(canvas);
    const foreground = style.color;
    const grid = style.getPropertyValue('--chart-grid').trim() || 'rgba(128,128,128,0.25)';
    context.font = `11px ${style.fontFamily}`;

    const left = 52;
    const right = 8;
    const top = 22;
    const bottom = 18;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const start = now - this.windowMs;

    let maximum = 0;
    for (const series of this.series.values()) {
      for (const point of series.points) {
        if (point.t >= start && point.v !== null && point.v > maximum) maximum = point.v;
      }
    }
    const step = gridStep(Math.max(maximum, this.minimumMax), 4);
    maximum = step * Math.max(1, Math.ceil(Math.max(maximum, this.minimumMax) / step - 1e-9));
    const x = (t) => left + ((t - start) / this.windowMs) * plotWidth;
    const y = (v) => top + plotHeight - (v / maximum) * plotHeight;

    // Grid and axis labels.
    context.strokeStyle = grid;
    context.fillStyle = foreground;
    context.lineWidth = 1;
    context.textBaseline = 'middle';
    context.textAlign = 'right';
    for (let value = 0; value <= maximum * (1 + 1e-9); value += step) {
      const lineY = Math.round(y(value)) + 0.5;
      context.beginPath();
      context.moveTo(left, lineY);
      context.lineTo(width - right, lineY);
      context.stroke();
      context.fillText(this.format(value), left - 6, lineY);
    }
    context.textBaseline = 'top';
    context.textAlign = 'center';
    const windowSeconds = this.windowMs / 1000;
    for (let seconds = windowSeconds; seconds >= 0; seconds -= 30) {
      context.textAlign = seconds === 0 ? 'right' : 'center';
      context.fillText(seconds === 0 ? 'now' : `-${seconds}s`, x(now - seconds * 1000), top + plotHeight + 4);
    }

    // Lines, clipped to the plot area.
    context.save();
    context.beginPath();
    context.rect(left, top, plotWidth, plotHeight);
    context.clip();
    context.lineWidth = 1.5;
    context.lineJoin = 'round';
    for (const series of this.series.values()) {
      context.strokeStyle = series.color;
      context.beginPath();
      let drawing = false;
      for (const point of series.points) {
        if (point.v === null) {
          drawing = false;
          continue;
        }
        if (drawing) context.lineTo(x(point.t), y(point.v));
        else context.moveTo(x(point.t), y(point.v));
        drawing = true;
      }
      context.stroke();
    }
    context.restore();

    // Legend: swatch, name, latest value.
    context.textBaseline = 'middle';
    context.textAlign = 'left';
    let legendX = left;
    if (this.series.size === 0) {
      context.fillText(this.emptyText, legendX, top / 2);
      return;
    }
    for (const [name, series] of this.series) {
      const latest = series.points.findLast((point) => point.v !== null);
      const text = `${name} ${latest ? this.format(latest.v) : '–'}`;
      context.fillStyle = series.color;
      context.fillRect(legendX, top / 2 - 4, 10, 8);
      context.fillStyle = foreground;
      context.fillText(text, legendX + 14, top / 2);
      legendX += 14 + context.measureText(text).width + 16;
    }
  }
}
