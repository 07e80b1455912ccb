// Keeps the page current without a reload: twice a second it asks the dashboard for the user
// count and the banner (/state.json) and writes them into the page as text, never as HTML.
"use strict";

(function () {
  const count = document.getElementById("user-count");
  const banner = document.getElementById("banner");
  const problem = document.getElementById("problem");

  function show(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  async function refresh() {
    try {
      const answer = await fetch("/state.json", { cache: "no-store" });
      const state = await answer.json();
      count.textContent = state.users === null ? "unknown" : String(state.users);
      banner.textContent = state.banner === null ? "unknown" : state.banner;
      show(state.problem || "");
    } catch (error) {
      show("The dashboard itself cannot be reached.");
    }
  }

  setInterval(refresh, 500);
})();
