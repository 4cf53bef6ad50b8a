// Typeset the math that pymdownx.arithmatex (generic mode) leaves in .arithmatex elements, with the
// KaTeX copy that ships inside the site: no request leaves the machine. A formula KaTeX cannot parse
// is reported on the console and left as source, so a test can see it.
(function () {
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
        console.error("KaTeX could not typeset " + JSON.stringify(tex) + ": " + err.message);
      }
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { typeset(document.body); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { typeset(document.body); });
  }
})();
