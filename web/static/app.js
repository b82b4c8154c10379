// Small helps; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // A filter form submits itself when a choice changes.
  for (const form of document.querySelectorAll("form.autosubmit")) {
    for (const select of form.querySelectorAll("select")) {
      select.addEventListener("change", () => form.requestSubmit ? form.requestSubmit() : form.submit());
    }
  }
  // The printable invites page: print it.
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  // Buttons that act on other people ask first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});
