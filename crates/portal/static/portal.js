// The portal works without this file. With it: copy buttons, and a live hint for the app slug.
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select();
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});

const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

for (const slug of document.querySelectorAll("input[data-slug-for]")) {
  const name = document.getElementById(slug.dataset.slugFor);
  const rule = document.getElementById(slug.getAttribute("aria-describedby"));
  let edited = slug.value !== "";
  const check = () => {
    const ok = SLUG.test(slug.value);
    rule.textContent = ok
      ? "Looks good."
      : "2 to 63 lowercase letters, digits or dashes, not starting with a dash.";
    slug.setCustomValidity(ok ? "" : rule.textContent);
  };
  slug.addEventListener("input", () => { edited = true; check(); });
  name?.addEventListener("input", () => {
    if (edited) return;
    slug.value = name.value.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
    check();
  });
}
