// Render the equations (pymdownx.arithmatex, generic mode) with the KaTeX served from this
// site (docs/assets/katex, vendored from the npm package): nothing is loaded from a CDN.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "$", right: "$", display: false },
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
  });
});
