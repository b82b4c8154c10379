// Telegram Mini App: Telegram puts the signed initData in the URL's fragment
// (#tgWebAppData=...); the server checks its hash and starts a session.
(function () {
  const box = document.getElementById("tg");
  const params = new URLSearchParams(window.location.hash.slice(1));
  const data = params.get("tgWebAppData");
  const fail = () => { box.textContent = box.dataset.failed; };
  if (!data) { fail(); return; }
  const body = new URLSearchParams({ init_data: data });
  fetch("/app/tg", { method: "POST", body, credentials: "same-origin" })
    .then((r) => r.ok ? r.json() : Promise.reject(r.status))
    .then((answer) => { window.location.replace(answer.next); })
    .catch(fail);
})();
