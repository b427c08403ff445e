// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Filter checkboxes and selects marked data-autosubmit apply at once.
  var form = document.getElementById("filter-form");
  if (form) {
    form.addEventListener("change", function (event) {
      if (event.target && event.target.type === "checkbox") {
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  }
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.submit(); }
    });
  });
  // Facet panels (search, pre-screen) are disclosures: closed on phones, where the results come
  // first, and open on wide screens (the stylesheet shows them there even without this script; it
  // keeps the `open` state in step). A "Filters" link jumping to a panel opens it.
  var wide = window.matchMedia("(min-width: 861px)");
  document.querySelectorAll("details[data-open-wide]").forEach(function (panel) {
    var sync = function () { if (wide.matches) { panel.open = true; } };
    sync();
    wide.addEventListener("change", sync);
  });
  document.querySelectorAll("a[data-opens]").forEach(function (link) {
    link.addEventListener("click", function () {
      var panel = document.querySelector("#" + link.getAttribute("data-opens") + " details");
      if (panel) { panel.open = true; }
    });
  });
  // Copy buttons for feed and manage links.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(target.value || target.textContent).then(function () {
        button.textContent = "Copied";
      });
    });
  });
})();
