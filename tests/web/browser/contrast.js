// Contrast of the text colours as rendered, against the background as painted.
() => {
  const rgba = c => { const v = c.match(/[\d.]+/g).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const luminance = rgb => {
    const [r, g, b] = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  // The background as painted: translucent layers blended over what is below them.
  const background = element => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let out = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) out = [r * a + out[0] * (1 - a), g * a + out[1] * (1 - a), b * a + out[2] * (1 - a)];
    return out;
  };
  const ratio = element => {
    const a = luminance(rgba(getComputedStyle(element).color).slice(0, 3)), b = luminance(background(element));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const selectors = ['main p', 'main a', '.meta', '.site-nav a', '.button-primary', '.button', 'thead th',
                     '.trial-title', '.status', '.badge', '.site-footer p', '.muted', 'label', '.chip', '.tag'];
  const out = {};
  for (const s of selectors) {
    const found = [...document.querySelectorAll(s)].filter(e => e.offsetParent !== null && e.textContent.trim());
    if (found.length) out[s] = Math.min(...found.slice(0, 50).map(ratio));
  }
  return out;
}
