// Typeset the book's math with the KaTeX copy that ships inside the site: no request leaves the machine.
// - Markdown pages: pymdownx.arithmatex (generic mode) leaves each formula in an .arithmatex element.
// - Lab notebooks: mkdocs-jupyter leaves $...$ and $$...$$ as text in rendered Markdown cells, which
//   KaTeX's auto-render extension finds by their delimiters.
// A formula KaTeX cannot parse is reported on the console and left as source, so a test can see it.
(function () {
  function report(tex, err) {
    console.error("KaTeX could not typeset " + JSON.stringify(tex) + ": " + err.message);
  }
  function typeset(root) {
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      if (el.dataset.typeset) return;
      var tex = el.textContent.trim();
      var display = tex.startsWith("\\[");
      tex = tex.replace(/^\\[\[(]/, "").replace(/\\[\])]$/, "");
      try {
        katex.render(tex, el, { displayMode: display, throwOnError: true });
        el.dataset.typeset = "katex";
      } catch (err) {
        report(tex, err);
      }
    });
    root.querySelectorAll(".jp-RenderedMarkdown").forEach(function (el) {
      if (el.dataset.typeset) return;
      renderMathInElement(el, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "$", right: "$", display: false },
        ],
        throwOnError: true,
        errorCallback: function (msg, err) { report(msg, err); },
      });
      el.dataset.typeset = "katex";
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { typeset(document.body); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { typeset(document.body); });
  }
})();
