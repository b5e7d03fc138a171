  // The fake that served this script serves the payment window too.
  var sandboxOrigin = (function () {
    var script = document.currentScript;
    return script && script.src ? new URL(script.src).origin : window.location.origin;
  })();

  /** A URL of the shop's, made absolute as the real SDKs require (they resolve none). */
  function absolute(url) {
    return url === undefined || url === null ? url : new URL(String(url), window.location.href).href;
  }

  /**
   * Opens the payment window: `mode` is "iframe" (an overlay over the shop's page), "popup"
   * or "redirect" (the whole page goes to the window, which ends by going to the shop's
   * redirect URL). `done(result, redirect)` gets the window's answer; `closed()` is called
   * when the customer closes a popup without answering.
   */
  function openWindow(options, done, closed) {
    var id = "w" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    var query = new URLSearchParams({
      key: options.key,
      kind: options.kind,
      mode: options.mode,
      request: JSON.stringify(options.request),
      window: id,
      origin: window.location.origin
    });
    var url = sandboxOrigin + "/checkout?" + query.toString();
    if (options.mode === "redirect") {
      window.location.href = url;
      return;
    }
    var overlay = null;
    var popup = null;
    var watch = null;
    function finish() {
      window.removeEventListener("message", listener);
      if (watch) clearInterval(watch);
      if (overlay && overlay.parentNode) overlay.parentNode.removeChild(overlay);
      if (popup && !popup.closed) popup.close();
    }
    function listener(event) {
      var data = event.data;
      if (event.origin !== sandboxOrigin || !data || data.source !== "payments-sandbox-checkout" || data.window !== id) {
        return;
      }
      finish();
      done(data.result, data.redirect);
    }
    window.addEventListener("message", listener);
    if (options.mode === "popup") {
      popup = window.open(url, "payments-sandbox-" + id, "width=480,height=720");
      if (!popup) {
        finish();
        closed();
        return;
      }
      // A popup closed by the customer is a cancelled window.
      watch = setInterval(function () {
        if (popup.closed) {
          finish();
          closed();
        }
      }, 300);
      return;
    }
    overlay = document.createElement("div");
    overlay.setAttribute("data-payments-sandbox", "overlay");
    overlay.style.cssText =
      "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center";
    var frame = document.createElement("iframe");
    frame.title = "Payment window";
    frame.name = "payments-sandbox-" + id;
    frame.src = url;
    frame.style.cssText = "width:440px;max-width:100%;height:640px;max-height:100%;border:0;border-radius:8px;background:#fff";
    overlay.appendChild(frame);
    document.body.appendChild(overlay);
  }
