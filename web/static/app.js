// Small helps; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // A filter form submits itself when a choice changes.
  for (const form of document.querySelectorAll("form.autosubmit")) {
    for (const select of form.querySelectorAll("select")) {
      select.addEventListener("change", () => form.requestSubmit ? form.requestSubmit() : form.submit());
    }
  }
  // A typed unit filter (a federation's thousands of units): the names are fetched as
  // suggestions when the field is first used, not sent with every page.
  for (const input of document.querySelectorAll("input[data-names]")) {
    const fill = () => {
      input.removeEventListener("focus", fill);
      fetch(input.dataset.names, { credentials: "same-origin" })
        .then((r) => r.ok ? r.json() : [])
        .then((names) => {
          const list = document.getElementById(input.getAttribute("list"));
          for (const name of names) {
            const option = document.createElement("option");
            option.value = name;
            list.appendChild(option);
          }
        })
        .catch(() => {});
    };
    input.addEventListener("focus", fill);
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
