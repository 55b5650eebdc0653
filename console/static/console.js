// Vitals console: optional progressive enhancement. Every page works
// without it; with it, choosing a date in "As of" shows that date at once.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var at = document.getElementById("at");
  if (at && at.form) {
    at.addEventListener("change", function () {
      if (at.value) { at.form.submit(); }
    });
  }
});
